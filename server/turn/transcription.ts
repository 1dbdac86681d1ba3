// The speech-to-text step of a turn (and of a barge-in candidate): one Whisper call with bounded
// retries, each attempt under its own deadline and aborted before the next one starts.
import type { AiCallError } from "../models/ai-errors.ts";
import type { AiCallContext } from "../models/ai-binding.ts";
import { withRetry } from "../models/retry.ts";
import { transcribe, type Transcript } from "../speech-to-text/whisper.ts";

export interface TranscriptionOptions {
  model: string;
  language: string;
  timeoutMs: number;
  maxRetries: number;
  retryBaseMs: number;
  onRetry?: (error: AiCallError) => void;
}

export interface TranscriptionResult extends Transcript {
  retries: number;
}

/** Transcribe 16 kHz mono PCM16. Rejects with an AiCallError (classified) or an AbortError when `ctx.signal` aborts. */
export async function transcribeUtterance(ctx: AiCallContext, audio: Int16Array, o: TranscriptionOptions): Promise<TranscriptionResult> {
  const { value, retries } = await withRetry((signal) => transcribe({ ...ctx, signal }, o.model, audio, o.language), {
    stage: "stt",
    signal: ctx.signal,
    timeoutMs: o.timeoutMs,
    maxRetries: o.maxRetries,
    retryBaseMs: o.retryBaseMs,
    ...(o.onRetry ? { onRetry: o.onRetry } : {}),
  });
  return { ...value, retries };
}
