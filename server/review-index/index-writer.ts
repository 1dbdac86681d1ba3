// How a session keeps its entry in the review index current. After every turn (and whenever its
// messages change) the session collects an update — its summary row and the messages the index has
// not acknowledged yet, new or changed since — and writes it; only a write that succeeded is
// acknowledged, so one that failed or never ran is healed by the next. Writes run one at a time, a
// request during a write runs once after it, and a failure is logged, never thrown: the index can
// fall behind, the conversation cannot. Pure: no Cloudflare imports (the session wires the storage
// and D1 in, server/review-index/index-store.ts writes).
import { CONVERSATION_LIMITS } from "../../shared/review.ts";
import { indexText } from "./snippet.ts";

/** The owner column of a phone session: this prefix, then the caller as masked. */
export const PHONE_OWNER_PREFIX = "phone:";

/** Messages sent per write; a session further behind catches up over several writes in a row. */
export const MESSAGES_PER_WRITE = 50;

export interface SessionRow {
  id: string;
  /** "email:<Access email>", "id:<owner id>", or "phone:<masked caller>" for a session only phone calls used; null when it has none of these. */
  owner: string | null;
  title: string;
  startedAt: number;
  updatedAt: number;
  durationMs: number;
  turns: number;
  interruptions: number;
  messages: number;
  neurons: number;
  usd: number;
  backend: string | null;
  mode: string | null;
}

export interface MessageRow {
  messageId: number;
  role: "user" | "assistant";
  kind: string;
  status: string;
  text: string;
  createdAt: number;
}

/** What the session records once a message is in the index: as it was stored when collected. */
export interface IndexAck {
  messageId: number;
  status: string;
  textLength: number;
}

export interface IndexUpdate {
  /** The session's update counter: D1 keeps the newest (server/review-index/index-store.ts). */
  seq: number;
  session: SessionRow;
  messages: MessageRow[];
  acks: IndexAck[];
  /** More unacknowledged messages are waiting than one write takes. */
  more: boolean;
}

/** What the session's own storage knows, as the summary row needs it (the counts and labels as in the row). */
export interface SessionFacts extends Pick<
  SessionRow,
  "id" | "turns" | "interruptions" | "messages" | "neurons" | "usd" | "backend" | "mode"
> {
  ownerEmail: string | null;
  ownerId: string | null;
  /** The latest phone call's caller, masked (server/phone/caller.ts); null when no call came in. */
  phoneCaller: string | null;
  firstUserText: string | null;
  /** Earliest turn start or message; null before anything happened. */
  startedAt: number | null;
  /** Latest turn end, message or interruption decision. */
  lastActivityAt: number | null;
}

/** Phone sessions have no owner: only the operator lists them, labelled with the masked caller (never the number). */
export function ownerOf(facts: Pick<SessionFacts, "ownerEmail" | "ownerId" | "phoneCaller">): string | null {
  if (facts.ownerEmail) return `email:${facts.ownerEmail}`;
  if (facts.ownerId) return `id:${facts.ownerId}`;
  if (facts.phoneCaller) return `${PHONE_OWNER_PREFIX}${facts.phoneCaller}`;
  return null;
}

/** A title: the first user line, whitespace collapsed, cut at a word near the limit. */
export function titleOf(text: string | null): string {
  const flat = indexText(text ?? "")
    .replace(/\s+/g, " ")
    .trim();
  const max = CONVERSATION_LIMITS.title;
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

/** The summary row, or null while the session has nothing to list (no message yet: only utterances without speech, say). */
export function sessionRow(facts: SessionFacts, now: number): SessionRow | null {
  if (facts.startedAt === null || facts.messages === 0) return null;
  return {
    id: facts.id,
    owner: ownerOf(facts),
    title: titleOf(facts.firstUserText),
    startedAt: facts.startedAt,
    updatedAt: now,
    durationMs: Math.max(0, (facts.lastActivityAt ?? facts.startedAt) - facts.startedAt),
    turns: facts.turns,
    interruptions: facts.interruptions,
    messages: facts.messages,
    neurons: facts.neurons,
    usd: facts.usd,
    backend: facts.backend,
    // A session no client configured yet runs hands-free (VoiceSession's default).
    mode: facts.mode ?? "hands-free",
  };
}

/** A message as the index keeps it (the snippet marks cannot be stored). */
export function messageRow(m: MessageRow): MessageRow {
  return { ...m, text: indexText(m.text) };
}

export interface IndexWriterDeps {
  /** The update to write now, or null when there is nothing to index. */
  collect(): IndexUpdate | null;
  write(update: IndexUpdate): Promise<void>;
  /** The write succeeded: these messages, as sent, are in the index. */
  acknowledge(update: IndexUpdate): void;
  log(error: unknown): void;
}

export class IndexWriter {
  readonly #deps: IndexWriterDeps;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(deps: IndexWriterDeps) {
    this.#deps = deps;
  }

  /** Bring the index up to date; resolves when this request's write is done (never rejects). */
  sync(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#run().finally(() => (this.#running = null));
    return this.#running;
  }

  /** Resolves once no write is running (a session being deleted waits for it, so nothing re-creates its entry). */
  settled(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  async #run(): Promise<void> {
    // After the caller's own work (the turn that just settled): never on its path.
    await Promise.resolve();
    for (;;) {
      this.#again = false;
      let more = false;
      try {
        const update = this.#deps.collect();
        if (update) {
          await this.#deps.write(update);
          this.#deps.acknowledge(update);
          more = update.more;
        }
      } catch (err) {
        // Unacknowledged, so the next request sends it again.
        this.#deps.log(err);
        return;
      }
      if (!more && !this.#again) return;
    }
  }
}

/** The session's storage, as the update is collected from it (server/storage/review-index-ledger.ts). */
export interface IndexSource {
  facts(id: string): SessionFacts;
  unacknowledged(limit: number): { messages: MessageRow[]; acks: IndexAck[]; more: boolean };
  nextSeq(): number;
}

/** The update to write now: the summary and the next unacknowledged messages; null before there is anything to list. */
export function collectUpdate(source: IndexSource, id: string, now: number): IndexUpdate | null {
  const session = sessionRow(source.facts(id), now);
  if (!session) return null;
  const { messages, acks, more } = source.unacknowledged(MESSAGES_PER_WRITE);
  return { seq: source.nextSeq(), session, messages: messages.map(messageRow), acks, more };
}
