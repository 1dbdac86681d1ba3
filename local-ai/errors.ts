// Errors in Workers AI's shape: the binding throws an Error whose message is "<code>: <description>"
// (docs/workers-ai.md, "Errors"), so the server's error mapping works unchanged offline.

export const STT_INSTALL_COMMAND = "sudo apt-get install -y pocketsphinx pocketsphinx-en-us python3-pocketsphinx";

/** Codes used by the stand-in: Workers AI's own (docs/workers-ai.md, "Errors"). */
export const AiCode = {
  /** Input fails the model's schema ("8001: Invalid input", seen from Workers AI, not in the docs table). */
  InvalidInput: 8001,
  /** Invalid data / input the stand-in cannot use; also "engine not installed" (not retryable). */
  InvalidData: 5004,
  NoSuchModel: 5007,
  TooLarge: 3006,
  Timeout: 3007,
  /**
   * A local engine failed at run time (decoder crashed, local LLM server down). Workers AI reports
   * internal failures as "3043: Internal server error" (seen in the wild, not in the docs table);
   * HTTP 500, so the server treats it as a retryable 5xx.
   */
  Internal: 3043,
} as const;

export class AiError extends Error {
  readonly code: number;
  readonly status: number;
  constructor(code: number, description: string, status = statusFor(code)) {
    super(`${code}: ${description}`);
    this.name = "InferenceUpstreamError";
    this.code = code;
    this.status = status;
  }
}

function statusFor(code: number): number {
  switch (code) {
    case AiCode.InvalidInput:
    case AiCode.InvalidData:
    case AiCode.NoSuchModel:
      return 400;
    case AiCode.TooLarge:
      return 413;
    case AiCode.Timeout:
      return 408;
    default:
      return 500;
  }
}

/** Thrown when a local engine is not installed; the message names the exact fix. */
export class EngineUnavailableError extends AiError {
  constructor(what: string, detail: string, installCommand: string) {
    super(AiCode.InvalidData, `${what} is not available offline: ${detail}. Install it with: ${installCommand}`);
  }
}
