// Everything the client knows about each reply, in one record per reply id, in one bounded map:
// whether it was cut here (late text and audio for it are ignored), its segments' texts (to mark
// them spoken as they play), when the user's turn it answers ended (for time to first audio), the
// tags shown with it, and its playback counters for the test hooks. The oldest records are dropped
// past `capacity`, so a long conversation does not grow memory without bound.
// Pure: no DOM.
import { BoundedMap } from "../../shared/bounded-map.ts";
import type { MessageStatus, TurnEndReason } from "../../shared/protocol.ts";

/** The tags shown with a reply. */
export interface TurnMeta {
  /** End of the user's speech (or send/release) -> first reply audio heard, measured in the browser. */
  clientFirstAudioMs?: number | null;
  /** Server: end of user turn -> first audio byte sent. */
  serverFirstAudioMs?: number | null;
  usd?: number;
  neurons?: number;
  backend?: string | null;
  status?: MessageStatus;
  endReason?: TurnEndReason | null;
  /** Playback is held while an interruption is being decided. */
  paused?: boolean;
  /** A failed turn: what failed (an ErrorCode). */
  errorCode?: string;
}

/** Per-reply playback figures (exposed to the end-to-end tests through window.__parley). */
export interface TurnStats {
  replyId: string;
  /** Final once `reply-heard` came (what the server stored); before that, from `reply-done`. */
  status?: MessageStatus;
  clientFirstAudioMs: number | null;
  serverFirstAudioMs: number | null;
  backend?: string;
  usd?: number;
  playedMs: number;
  /** Sum of the durations announced in the reply's segment headers. */
  expectedMs: number;
  segmentsReceived: number;
  segmentsPlayed: number;
  underruns: number;
}

export interface ReplyRecord {
  readonly replyId: string;
  /** Cut here (Stop, push-to-talk, typed text, a confirmed interruption): late text and audio are ignored. */
  cut: boolean;
  /** `reply-heard` came: what was heard, and the status, are final. */
  heard: boolean;
  /** Audio-clock time (ms) at which the user's turn this reply answers ended, until its first audio. */
  turnEndMs: number | null;
  readonly segmentTexts: Map<number, string>;
  meta: TurnMeta;
  readonly stats: TurnStats;
}

export class ReplyTracker {
  private readonly records: BoundedMap<string, ReplyRecord>;
  /** A turn that ended before the server named its reply (a `thinking` state without replyId). */
  private unattributedTurnEndMs: number | null = null;

  constructor(readonly capacity = 100) {
    this.records = new BoundedMap(capacity);
  }

  get size(): number {
    return this.records.size;
  }

  get(replyId: string): ReplyRecord | undefined {
    return this.records.get(replyId);
  }

  /** The record of this reply, created (and the oldest dropped past capacity) if new. */
  ensure(replyId: string): ReplyRecord {
    let r = this.records.get(replyId);
    if (r) return r;
    r = {
      replyId,
      cut: false,
      heard: false,
      turnEndMs: null,
      segmentTexts: new Map(),
      meta: {},
      stats: {
        replyId,
        clientFirstAudioMs: null,
        serverFirstAudioMs: null,
        playedMs: 0,
        expectedMs: 0,
        segmentsReceived: 0,
        segmentsPlayed: 0,
        underruns: 0,
      },
    };
    this.records.set(replyId, r);
    return r;
  }

  isCut(replyId: string): boolean {
    return this.records.get(replyId)?.cut ?? false;
  }

  /** Mark a reply cut here; returns its record. */
  cut(replyId: string): ReplyRecord {
    const r = this.ensure(replyId);
    r.cut = true;
    return r;
  }

  /** The user's turn ended at `atMs`; it is answered by `replyId` when the server named it. */
  turnEnded(replyId: string | undefined, atMs: number): void {
    if (replyId) this.ensure(replyId).turnEndMs = atMs;
    else this.unattributedTurnEndMs = atMs;
  }

  /** When the turn answered by this reply ended (consumed: asked once, at its first audio). */
  takeTurnEnd(replyId: string): number | null {
    const r = this.records.get(replyId);
    const end = r?.turnEndMs ?? this.unattributedTurnEndMs;
    if (r) r.turnEndMs = null;
    this.unattributedTurnEndMs = null;
    return end;
  }

  /** Oldest first. */
  all(): ReplyRecord[] {
    return [...this.records.values()];
  }

  clear(): void {
    this.records.clear();
    this.unattributedTurnEndMs = null;
  }
}
