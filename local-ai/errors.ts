// Errors in Workers AI's shape: the binding throws an Error whose message is "<code>: <description>"
// (docs/workers-ai.md, "Errors"), so the server's error mapping works unchanged offline.
import { WORKERS_AI_ERRORS, type WorkersAiError } from "../shared/workers-ai/errors.ts";

export const STT_INSTALL_COMMAND = "sudo apt-get install -y pocketsphinx pocketsphinx-en-us python3-pocketsphinx";

/** A Workers AI error as the binding throws it: message "<code>: <description>", name InferenceUpstreamError. */
export class AiError extends Error {
  readonly code: number;
  readonly status: number;
  constructor(error: WorkersAiError, description: string) {
    super(`${error.code}: ${description}`);
    this.name = "InferenceUpstreamError";
    this.code = error.code;
    this.status = error.status;
  }
}

/** Thrown when a local engine is not installed; the message names the exact fix. */
export class EngineUnavailableError extends AiError {
  constructor(what: string, detail: string, installCommand: string) {
    super(WORKERS_AI_ERRORS.invalidData, `${what} is not available offline: ${detail}. Install it with: ${installCommand}`);
  }
}
