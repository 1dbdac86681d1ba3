// Workers AI failures -> protocol error codes. The binding throws errors whose message starts with
// "<internal code>: <description>" (InferenceUpstreamError is type-only, so no instanceof). The codes
// and what each means: docs/workers-ai.md, "Errors".
import type { ErrorCode } from "../../shared/protocol.ts";
import { WORKERS_AI_ERRORS as E } from "../../shared/workers-ai/errors.ts";

export type PipelineStage = "stt" | "llm" | "tts";

export class AiCallError extends Error {
  override name = "AiCallError";
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly stage: PipelineStage;
  readonly upstreamCode: number | undefined;
  constructor(code: ErrorCode, message: string, retryable: boolean, stage: PipelineStage, upstreamCode?: number) {
    super(message);
    this.code = code;
    this.retryable = retryable;
    this.stage = stage;
    this.upstreamCode = upstreamCode;
  }
}

const STAGE_FAILED: Record<PipelineStage, ErrorCode> = { stt: "stt_failed", llm: "llm_failed", tts: "tts_failed" };
const STAGE_NAME: Record<PipelineStage, string> = { stt: "Speech recognition", llm: "The language model", tts: "Speech synthesis" };
const STAGE_MODEL_VAR: Record<PipelineStage, string> = { stt: "STT_MODEL", llm: "LLM_MODEL", tts: "TTS_MODEL" };

/**
 * The numeric code at the start of a Workers AI error message, or an HTTP status mentioned in it,
 * or a bare status line from a proxy in front of it ("502 Bad Gateway", "503 Service Unavailable").
 */
export function upstreamCodeOf(message: string): number | undefined {
  const m =
    /(?:^|\b)(\d{3,5})\s*:/.exec(message) ??
    /\b(?:status|HTTP)\s*(\d{3})\b/i.exec(message) ??
    /(?:^|[\s>])(5\d\d)\s+(?:Bad Gateway|Service Unavailable|Gateway Time-?out|Internal Server Error|Origin|Web Server)/i.exec(message);
  return m ? Number(m[1]) : undefined;
}

export function classifyAiError(err: unknown, stage: PipelineStage): AiCallError {
  if (err instanceof AiCallError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : "";
  const code = upstreamCodeOf(raw);
  const detail = raw.slice(0, 300);
  const who = STAGE_NAME[stage];
  if (name === "TimeoutError" || code === E.timeout.code || code === 408) {
    return new AiCallError("ai_timeout", `${who} timed out.`, true, stage, code);
  }
  switch (code) {
    case E.capacity.code:
    case 429:
      return new AiCallError(
        "ai_capacity",
        `${who} is out of capacity right now (Workers AI 3040). Try again in a moment.`,
        true,
        stage,
        code,
      );
    case E.dailyAllocation.code:
      return new AiCallError("ai_quota", "The daily Workers AI allocation is used up (3036). It resets at 00:00 UTC.", false, stage, code);
    case E.paidPlan.code:
      // Some models are for the Workers Paid plan only; on the free plan every call fails the same way.
      return new AiCallError(
        "ai_paid_plan",
        `${who} uses a model that needs the Workers Paid plan (Workers AI 5035). Choose another model with ${STAGE_MODEL_VAR[stage]} or upgrade the account.`,
        false,
        stage,
        code,
      );
    case E.tooLarge.code:
    case 413:
      return new AiCallError("ai_too_large", `${who} rejected the request as too large (3006).`, false, stage, code);
  }
  // 3043: Workers AI's internal server error, transient like a 5xx.
  if (code === E.internal.code || (code !== undefined && code >= 500 && code < 600)) {
    return new AiCallError("ai_unavailable", `${who} failed upstream (${code}).`, true, stage, code);
  }
  if (code === undefined && /network|connection|reset|unavailable|internal error/i.test(raw)) {
    return new AiCallError("ai_unavailable", `${who} is unavailable: ${detail}`, true, stage);
  }
  return new AiCallError(STAGE_FAILED[stage], `${who} failed: ${detail}`, false, stage, code);
}

export function abortError(): DOMException {
  return new DOMException("The turn was cancelled", "AbortError");
}

export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return (signal?.aborted ?? false) || (err instanceof Error && err.name === "AbortError");
}
