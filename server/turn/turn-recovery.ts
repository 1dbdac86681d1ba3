// Nothing lost on a restart or deploy. A Durable Object restarts without warning (a deploy, a crash)
// and whatever was in flight lived in memory, so:
// - the user's utterance is kept (RecoveryStore) from the moment its turn starts until its transcript
//   is stored; a restart during speech-to-text runs it again when the session starts (at most once more);
// - a reply a restart cut off keeps what the user heard of it (the stored segments and the latest
//   stored playback report), and is retried once, when a client is connected and the user has not
//   spoken since. The retry opens with RETRY_OPENING (spoken by Parley, not left to the model) and
//   the system prompt tells the model what the user already heard, so it goes on from there.
// Both also follow a drain (`npm start` stopping): what was in flight is stored the same way.
import type { ConversationStore } from "../storage/conversation-store.ts";
import type { CutReply, KeptUtterance, RecoveryStore } from "../storage/recovery-store.ts";
import { buildLlmMessages, type HistoryMessage, type LlmMessage } from "../reply/prompt.ts";
import { currentPosition, heardText, type PlaybackReport } from "./heard-text.ts";

/** Spoken first by a retried reply; the model's answer follows it. */
export const RETRY_OPENING = "Sorry, I was cut off —";
/** An utterance goes to speech-to-text at most this often (a restart during the second run loses it, rather than loop). */
export const MAX_UTTERANCE_ATTEMPTS = 2;

/** What a retry needs: which turn it retries, what the user said then, and what they heard of the cut reply. */
export interface RetryPlan {
  of: string;
  source: "voice" | "text";
  userText: string;
  heard: string;
}

export interface Recovery {
  /** Utterances to run again, oldest first. */
  reruns: KeptUtterance[];
  /** Kept utterances given up on (already run again once). */
  lost: number;
  /** Replies cut off: stored with what was heard. */
  cutReplies: number;
  /** Turns that never got past speech-to-text, marked failed (their utterance runs again). */
  abandoned: number;
}

/** Why a cut reply is or is not retried. */
export type RetryVerdict = "retry" | "is-a-retry" | "user-interrupted" | "user-spoke" | "too-old";

/** Decided when the reply is stored as cut off: a retry is never retried, and the user talking over it (a held or stopped playback) means they did not want it to go on. */
export function retryWhenCut(retryOf: string | null, report: PlaybackReport | undefined): RetryVerdict {
  if (retryOf !== null) return "is-a-retry";
  if (report?.state === "paused" || report?.state === "stopped") return "user-interrupted";
  return "retry";
}

/** Decided when it would start (a client is connected): not once the user moved on, nor long after. */
export function retryWhenConnected(userSpokeSince: boolean, lastActivityAt: number, now: number, withinMs: number): RetryVerdict {
  if (userSpokeSince) return "user-spoke";
  if (now - lastActivityAt > withinMs) return "too-old";
  return "retry";
}

/** What the user heard of a reply by `now`: the stored segments up to the latest playback report, advanced while it was playing. */
export function heardByNow(
  store: ConversationStore,
  replyId: string,
  report: PlaybackReport | undefined,
  now: number,
): { heard: string; planned: string } {
  const { segments, firstSentAt } = store.segments(replyId);
  return {
    heard: heardText(segments, currentPosition(segments, firstSentAt, report, now)),
    planned: segments.map((s) => s.text).join(" "),
  };
}

/**
 * The session starts again: every turn still `running` was cut off. One that was transcribing
 * fails and its kept utterance runs again; one whose user's words were stored keeps what was heard
 * of its reply (interrupted, end reason `shutdown`) and may be retried (`retry = pending`).
 */
export function recoverAfterRestart(
  conv: ConversationStore,
  rec: RecoveryStore,
  reports: ReadonlyMap<string, PlaybackReport>,
  now: number,
): Recovery {
  const out: Recovery = { reruns: [], lost: 0, cutReplies: 0, abandoned: 0 };
  const kept = new Map(rec.utterances().map((u) => [u.turnId, u]));
  for (const t of rec.runningTurns()) {
    if (t.userStored) {
      // Past speech-to-text: its utterance (if still kept) is not needed any more.
      rec.dropUtterance(t.turnId);
      kept.delete(t.turnId);
      if (!t.replyStored) {
        const { heard, planned } = heardByNow(conv, t.replyId, reports.get(t.replyId), now);
        conv.addMessage({
          role: "assistant",
          text: heard,
          plannedText: planned,
          status: "interrupted",
          source: "voice",
          turnId: t.turnId,
          replyId: t.replyId,
          createdAt: now,
        });
      }
      rec.markReplyCut(t.turnId, now);
      // A reply stored whole (only its turn record was left) has nothing to retry.
      rec.setRetry(t.turnId, !t.replyStored && retryWhenCut(t.retryOf, reports.get(t.replyId)) === "retry" ? "pending" : "skipped");
      out.cutReplies++;
    } else {
      rec.markTurnAbandoned(t.turnId, now);
      out.abandoned++;
    }
  }
  for (const u of kept.values()) {
    rec.dropUtterance(u.turnId);
    if (u.attempt >= MAX_UTTERANCE_ATTEMPTS) out.lost++;
    else out.reruns.push(u);
  }
  return out;
}

/** A reply a drain cut off (its turn stored it as interrupted by `shutdown`): retried like one a restart cut off. */
export function offerRetry(rec: RecoveryStore, turnId: string, report: PlaybackReport | undefined): void {
  const retryOf = rec.retryOf(turnId);
  if (retryOf === undefined) return;
  rec.setRetry(turnId, retryWhenCut(retryOf, report) === "retry" ? "pending" : "skipped");
}

/**
 * A client is connected: the newest reply waiting for its retry starts now, unless the user spoke
 * since (`busy`: a turn or the user's speech is under way) or it is too old. The decision is stored,
 * so a reply is retried at most once; older waiting ones are given up.
 */
export function takeRetry(rec: RecoveryStore, busy: boolean, now: number, withinMs: number): RetryPlan | null {
  const [newest, ...older] = rec.pendingRetries();
  for (const o of older) rec.setRetry(o.turnId, "skipped");
  if (!newest) return null;
  const verdict = retryWhenConnected(busy || rec.userSpokeSince(newest.turnId), newest.lastActivityAt, now, withinMs);
  if (verdict !== "retry") {
    rec.setRetry(newest.turnId, "skipped");
    return null;
  }
  rec.setRetry(newest.turnId, "started");
  return planFor(newest);
}

function planFor(c: CutReply): RetryPlan {
  return { of: c.turnId, source: c.source, userText: c.userText, heard: c.heard };
}

/** Keep a voice turn's utterance until its transcript is stored. */
export function keepUtterance(
  rec: RecoveryStore,
  turn: {
    turnId: string;
    audio: Int16Array;
    endpointingMs: number;
    endOfTurn?: KeptUtterance["endOfTurn"] | undefined;
    attempt?: number | undefined;
  },
  now: number,
): void {
  rec.saveUtterance({
    turnId: turn.turnId,
    audio: turn.audio,
    endpointingMs: turn.endpointingMs,
    endOfTurn: turn.endOfTurn ?? null,
    attempt: turn.attempt ?? 1,
    createdAt: now,
  });
}

/** The system prompt's note to the model for a retry: what happened, what was heard, and that its words follow RETRY_OPENING. */
export function retryNote(heard: string): string {
  const cut =
    heard.trim() === ""
      ? "A connection problem cut off your previous answer to the user's last message before the user heard any of it."
      : `A connection problem cut off your previous answer to the user's last message. The user heard only this much of it: "${heard.trim()}"`;
  return `${cut} Your reply is spoken right after the words "${RETRY_OPENING}". Continue the answer from where it was cut off, without repeating what the user already heard, and do not apologize again.`;
}

/**
 * The retry's messages: the conversation up to the user's message the cut reply answered (the cut
 * reply itself is left out: the note says what of it was heard), with the note after the system prompt.
 */
export function retryMessages(o: {
  systemPrompt: string;
  history: HistoryMessage[];
  userText: string;
  heard: string;
  budgetChars: number;
}): LlmMessage[] {
  const history = [...o.history];
  while (history.length > 0 && history[history.length - 1]!.role === "assistant") history.pop();
  const endsWithUser = history.length > 0;
  return buildLlmMessages({
    systemPrompt: `${o.systemPrompt.trim()}\n\n${retryNote(o.heard)}`,
    history,
    // The user's message is the history's last one; without it (a history cut short), the plan's words stand in.
    userText: endsWithUser ? "" : o.userText,
    budgetChars: o.budgetChars,
  });
}
