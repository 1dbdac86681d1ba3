// Reads a Workers AI streamed reply for a turn: stops at `[DONE]`, stops upstream on abort. The
// stream format is shared/workers-ai/llm-stream.ts (docs/workers-ai.md, "Streaming replies"). Pure.
import { isDonePayload, parseLlmPayload, SseDecoder, type LlmStreamEvent } from "../../shared/workers-ai/llm-stream.ts";

/**
 * Reads a Workers AI LLM stream into events. Stops at `[DONE]`; the last event is always `end`
 * (`sawDone: false` when the stream stopped without `[DONE]`, i.e. it was truncated).
 * Usage can arrive in more than one summary chunk; it is reported once, just before `end`, with the
 * latest values. Aborting `signal` cancels the upstream stream and throws the abort reason; a
 * consumer that stops early (break / return()) also cancels upstream so generation stops.
 * Read errors from the stream are rethrown.
 */
export async function* readLlmStream(stream: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<LlmStreamEvent> {
  if (signal?.aborted) {
    // The turn is already over: still stop upstream generation.
    if (!stream.locked) stream.cancel(signal.reason).catch(() => {});
    throw signal.reason;
  }
  const reader = stream.getReader();
  let settled = false; // reader finished or cancelled: nothing left to stop
  const stop = (reason: unknown): void => {
    if (settled) return;
    settled = true;
    // Not awaited: a slow upstream cancel must never hold up the turn.
    reader.cancel(reason).catch(() => {});
  };
  const onAbort = (): void => stop(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });

  const decoder = new SseDecoder();
  let promptTokens = 0;
  let completionTokens = 0;
  let sawUsage = false;
  let sawDone = false;
  try {
    reading: for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      const payloads = done ? decoder.end() : decoder.push(value);
      if (done) settled = true;
      for (const payload of payloads) {
        if (isDonePayload(payload)) {
          sawDone = true;
          break reading;
        }
        for (const ev of parseLlmPayload(payload)) {
          if (ev.type === "usage") {
            sawUsage = true;
            promptTokens = ev.promptTokens;
            completionTokens = ev.completionTokens;
            continue;
          }
          yield ev;
          signal?.throwIfAborted();
        }
      }
      if (done) break;
    }
    // Whatever follows `[DONE]` is of no interest; release upstream before the final events.
    stop("[DONE] received");
    if (sawUsage) yield { type: "usage", promptTokens, completionTokens };
    yield { type: "end", sawDone };
  } finally {
    signal?.removeEventListener("abort", onAbort);
    stop(signal?.aborted ? signal.reason : "consumer stopped reading");
    reader.releaseLock();
  }
}
