// The drain route's contract, shared by the Worker (server/restart/drain.ts) and `npm start`
// (scripts/start.ts, plain Node: this module imports nothing).

// Under /api/: the only paths (with /parties/) the Worker answers before static assets (wrangler.toml run_worker_first).
export const DRAIN_PATH = "/api/internal/drain";
export const DRAIN_SECRET_HEADER = "x-parley-drain-secret";

export interface SessionDrainReport {
  session: string;
  /** Replies cut off and stored with what was heard (end reason `shutdown`). */
  cutReplies: number;
  /** Turns still in speech-to-text: their kept utterance runs again when the session starts. */
  transcribing: number;
  /** Sockets closed with 1001. */
  closed: number;
}

export interface DrainResponse {
  sessions: SessionDrainReport[];
  failed: { session: string; error: string }[];
}
