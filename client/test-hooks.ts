// The shape of window.__parley, the test hooks client/app.ts exposes for the end-to-end test
// (test/browser/voice-chat.e2e.test.ts imports this type). Types only.
import type { ConnectionStatus } from "./connection/session-connection.ts";

export interface TurnStats {
  replyId: string;
  status?: string;
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

export interface ParleyTestHooks {
  sessionId: string;
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
    /** Last interrupt: from the decision (speech detected / stop pressed) to playback silent, ms. */
    lastStopMs: number | null;
    /** Last barge-in: from the start of the user's speech (first voiced frame) to playback silent, ms. */
    lastBargeInMs: number | null;
    bargeIns: number;
    contextSampleRate: number | null;
    turns: TurnStats[];
  };
  log: string[];
  /** Test controls. */
  debug: {
    /** Drop the WebSocket as a network failure would; partysocket reconnects with backoff. */
    dropConnection(): void;
  };
}
