// The one place that calls `env.AI.run`. Adapters own each model's input and output shapes; this
// only adds the per-session request tags and the turn's AbortSignal (docs/workers-ai.md, "The binding").
import { concatArrays } from "../../shared/typed-arrays.ts";

/** The subset of the binding Parley uses, loosely typed: adapters check shapes against AiModels themselves. */
export interface AiRunner {
  run(model: string, inputs: unknown, options?: Record<string, unknown>): Promise<unknown>;
}

export interface AiCallContext {
  ai: Ai;
  /** Workers AI request tags (letters, digits and `: - . / @`, at most 50 chars each). */
  tags: string[];
  signal: AbortSignal;
}

// An AbortSignal cannot cross a JS RPC boundary, so the local stand-in and the test fake (service
// bindings) reject it. Learn that once per isolate; the turn still cancels on our side (withDeadline,
// stream cancel), only the upstream request is then left to finish on its own.
let signalSupported = true;

export async function runModel(ctx: AiCallContext, model: string, inputs: unknown): Promise<unknown> {
  const ai = ctx.ai as unknown as AiRunner;
  const options: Record<string, unknown> = { tags: ctx.tags };
  if (signalSupported) {
    try {
      return await ai.run(model, inputs, { ...options, signal: ctx.signal });
    } catch (err) {
      if (!(err instanceof Error && /AbortSignal serialization/i.test(err.message))) throw err;
      signalSupported = false;
    }
  }
  return ai.run(model, inputs, options);
}

/** Read a whole byte stream (TTS audio) into one array, cancelling it if the turn is cancelled. */
export async function readAllBytes(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  maxBytes = 16 * 1024 * 1024,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (signal.aborted) throw new DOMException("The turn was cancelled", "AbortError");
      total += value.byteLength;
      if (total > maxBytes) throw new Error(`audio response larger than ${maxBytes} bytes`);
      parts.push(value);
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  return concatArrays(Uint8Array, parts);
}

/** The offline stand-in marks its answers with `engine`; real Workers AI does not. */
export function engineOf(output: unknown): string | undefined {
  if (typeof output === "object" && output !== null && typeof (output as { engine?: unknown }).engine === "string") {
    return (output as { engine: string }).engine;
  }
  return undefined;
}
