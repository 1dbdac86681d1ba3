// What a session records of its turns (RECORD_AUDIO): it holds each turn's utterance and the TTS
// segments it sent until the turn is over and what was heard is known, then writes the two files
// (turn-audio.ts) through `store`, one write after another, off the audio path. A reply cut after
// its turn ended (a late stop report) is written again, cut. Failures are logged, never thrown into
// a turn. Imports nothing from Cloudflare: the session supplies the storage.
import { BoundedMap } from "../../shared/bounded-map.ts";
import type { PlaybackPosition } from "../turn/heard-text.ts";
import { replyRecording, utteranceRecording, type RecordedAudio, type RecordingKind, type SentSegment } from "./turn-audio.ts";

/** Turns being recorded at once: the active one, one still storing, a speculative one, with room to spare. */
export const TURNS_HELD = 4;
/** Settled replies whose segments are kept, so a late stop can cut their recording. */
export const SETTLED_REPLIES_KEPT = 2;

export interface TurnRecorderDeps {
  /** RECORD_AUDIO, asked as each turn starts. */
  enabled(): boolean;
  /** Store a recording (object, then its row), replacing one of the same turn and kind. */
  store(turnId: string, kind: RecordingKind, audio: RecordedAudio, createdAt: number): Promise<void>;
  /** Remove a recording (a reply cut to nothing after it was recorded). */
  remove(turnId: string, kind: RecordingKind): Promise<void>;
  now(): number;
  log(message: string, error: unknown): void;
}

interface HeldTurn {
  turnId: string;
  replyId: string;
  utterance: Int16Array | null;
  segments: SentSegment[];
}

export class TurnRecorder {
  readonly #deps: TurnRecorderDeps;
  // A turn that never settles (it crashed before storing anything) must not hold audio for ever.
  readonly #turns = new BoundedMap<string, HeldTurn>(TURNS_HELD);
  readonly #settled = new BoundedMap<string, HeldTurn>(SETTLED_REPLIES_KEPT);
  #chain: Promise<void> = Promise.resolve();

  constructor(deps: TurnRecorderDeps) {
    this.#deps = deps;
  }

  /** A turn started; `utterance` is the user's speech when the turn has it (16 kHz mono PCM16). */
  started(turnId: string, replyId: string, utterance: Int16Array | undefined): void {
    if (!this.#deps.enabled()) return;
    this.#turns.set(turnId, { turnId, replyId, utterance: utterance ?? null, segments: [] });
  }

  /** The user's utterance of a turn started before it was known (a held reply to Flux's words): its recording. */
  utterance(turnId: string, utterance: Int16Array): void {
    const t = this.#turns.get(turnId);
    if (t && t.utterance === null) t.utterance = utterance;
  }

  /** A segment of `replyId` went out to the clients (in order). */
  spoke(replyId: string, segment: SentSegment): void {
    for (const t of this.#turns.values()) {
      if (t.replyId === replyId) {
        t.segments.push({ bytes: segment.bytes, container: segment.container });
        return;
      }
    }
  }

  /** A speculative turn thrown away unseen: nothing of it is recorded. */
  discard(turnId: string): void {
    this.#turns.delete(turnId);
  }

  /** The turn is over: record the utterance and the reply up to `heardTo` (null: played out). */
  settle(turnId: string, heardTo: PlaybackPosition | null): Promise<void> {
    const turn = this.#turns.get(turnId);
    if (!turn) return this.#chain;
    this.#turns.delete(turnId);
    if (turn.segments.length > 0) this.#settled.set(turn.replyId, turn);
    return this.#write(turn.turnId, () => {
      const utterance = turn.utterance ? utteranceRecording(turn.utterance) : null;
      turn.utterance = null;
      return { user: utterance, reply: replyRecording(turn.segments, heardTo) };
    });
  }

  /** Playback of a settled reply was stopped after all: its recording is cut to `heardTo`. */
  cutAfter(replyId: string, heardTo: PlaybackPosition): Promise<void> {
    const turn = this.#settled.get(replyId);
    if (!turn) return this.#chain;
    return this.#write(turn.turnId, () => ({ reply: replyRecording(turn.segments, heardTo), removeEmptyReply: true }));
  }

  /** Resolves once every write asked for so far is done (or failed and was logged). */
  settled(): Promise<void> {
    return this.#chain;
  }

  #write(
    turnId: string,
    build: () => { user?: RecordedAudio | null; reply: RecordedAudio | null; removeEmptyReply?: boolean },
  ): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      let files: ReturnType<typeof build>;
      try {
        files = build();
      } catch (err) {
        return this.#deps.log(`recording turn ${turnId}: its audio could not be joined`, err);
      }
      const createdAt = this.#deps.now();
      const write = async (kind: RecordingKind, audio: RecordedAudio | null | undefined) => {
        try {
          if (audio) await this.#deps.store(turnId, kind, audio, createdAt);
          else if (kind === "reply" && files.removeEmptyReply) await this.#deps.remove(turnId, kind);
        } catch (err) {
          this.#deps.log(`recording turn ${turnId} (${kind}) failed`, err);
        }
      };
      await write("user", files.user);
      await write("reply", files.reply);
    });
    return this.#chain;
  }
}
