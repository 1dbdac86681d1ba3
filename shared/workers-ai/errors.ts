// Workers AI's error codes. The binding throws an Error whose message is "<code>: <description>"; the
// server maps these codes (server/models/ai-errors.ts) and the offline stand-in answers with them
// (local-ai/errors.ts), so one table serves both. Facts and sources: docs/workers-ai.md, "Errors".

/** A Workers AI error: its code (the start of the message) and the HTTP status it is served with. */
export interface WorkersAiError {
  readonly code: number;
  readonly status: number;
}

export const WORKERS_AI_ERRORS = {
  /** "3006: Request is too large". */
  tooLarge: { code: 3006, status: 413 },
  /** "3007: Request timeout". */
  timeout: { code: 3007, status: 408 },
  /** The account's daily free allocation is used up; it resets at 00:00 UTC. */
  dailyAllocation: { code: 3036, status: 429 },
  /** Out of capacity (also what `rejectIfBusy` answers). */
  capacity: { code: 3040, status: 429 },
  /** "3043: Internal server error": seen in the wild, not in the docs table; transient like a 5xx. */
  internal: { code: 3043, status: 500 },
  /** Invalid data (e.g. bad base64). */
  invalidData: { code: 5004, status: 400 },
  /** No such model. */
  noSuchModel: { code: 5007, status: 400 },
  /** The model needs the Workers Paid plan (Cloudflare's changelog of 2026-07-28, not the errors table). */
  paidPlan: { code: 5035, status: 403 },
  /** "8001: Invalid input": the input fails the model's schema (seen from Workers AI, not in the docs table). */
  invalidInput: { code: 8001, status: 400 },
} as const satisfies Record<string, WorkersAiError>;
