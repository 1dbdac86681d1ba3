// window.__parley, the test hooks client/app.ts exposes for the end-to-end tests
// (test/browser/*.e2e.test.ts import the ParleyTestHooks type).
import type { ConnectionStatus } from "./connection/connection-status.ts";
import type { BargeInStats } from "./session/barge-in.ts";
import type { TurnStats } from "./session/reply-tracker.ts";

export type { TurnStats };

export interface ParleyTestHooks {
  sessionId: string;
  /** The open session's owner key (the end-to-end tests read its transcript with it). */
  sessionKey: string;
  readonly state: string | null;
  readonly connection: ConnectionStatus;
  stats: {
    playedMs: number;
    underruns: number;
    segmentsPlayed: number;
    repliesFinished: number;
    repliesStopped: number;
    framesCaptured: number;
    framesSent: number;
    framesDropped: number;
    /** Last Stop / push-to-talk / typed interrupt: from the decision to playback silent, ms. */
    lastStopMs: number | null;
    /** Playback paused for an interruption candidate (local speech over the reply, or the server's hold). */
    pauses: number;
    /** Playback resumed after a pause (the server dismissed the candidate, or the local fallback). */
    resumes: number;
    /** Interruptions the server confirmed (the reply stopped for good). */
    confirmedInterruptions: number;
    /** Last pause: from the first voiced frame of the user's speech to playback silent, ms. */
    lastPauseMs: number | null;
    /** Last confirmed interruption: from the first voiced frame of the user's speech to the `confirmed` event, ms. */
    lastConfirmMs: number | null;
    contextSampleRate: number | null;
    /** One entry per reply (the newest 100), oldest first. */
    readonly turns: TurnStats[];
  };
  log: string[];
  /** Test controls. */
  debug: {
    /** Drop the WebSocket as a network failure would; partysocket reconnects with backoff. */
    dropConnection(): void;
  };
}

export interface TestHookSources {
  state(): string | null;
  connection(): ConnectionStatus;
  interruptions: Readonly<BargeInStats>;
  turns(): TurnStats[];
  dropConnection(): void;
}

/** The hooks object: counters the app updates, and live views of the state it keeps elsewhere. */
export function createTestHooks(src: TestHookSources): ParleyTestHooks {
  const i = src.interruptions;
  return {
    sessionId: "",
    sessionKey: "",
    get state() {
      return src.state();
    },
    get connection() {
      return src.connection();
    },
    stats: {
      playedMs: 0,
      underruns: 0,
      segmentsPlayed: 0,
      repliesFinished: 0,
      repliesStopped: 0,
      framesCaptured: 0,
      framesSent: 0,
      framesDropped: 0,
      lastStopMs: null,
      get pauses() {
        return i.pauses;
      },
      get resumes() {
        return i.resumes;
      },
      get confirmedInterruptions() {
        return i.confirmed;
      },
      get lastPauseMs() {
        return i.lastPauseMs;
      },
      get lastConfirmMs() {
        return i.lastConfirmMs;
      },
      contextSampleRate: null,
      get turns() {
        return src.turns();
      },
    },
    log: [],
    debug: { dropConnection: () => src.dropConnection() },
  };
}
