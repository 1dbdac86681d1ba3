// The streamed Llama reply: starts a `stream: true` text generation and hands back the SSE byte stream.
import { type AiCallContext, runModel } from "../models/ai-binding.ts";
import { SSE_DONE, sseEvent } from "../../shared/workers-ai/llm-stream.ts";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export function llmInputs(messages: ChatMessage[], o: { maxTokens: number; temperature: number }) {
  const inputs: AiModels["@cf/meta/llama-3.1-8b-instruct-fp8"]["inputs"] & { stream: true } = {
    messages,
    stream: true,
    max_tokens: o.maxTokens,
    temperature: o.temperature,
  };
  return inputs;
}

export async function startReplyStream(
  ctx: AiCallContext,
  model: string,
  messages: ChatMessage[],
  o: { maxTokens: number; temperature: number },
): Promise<ReadableStream<Uint8Array>> {
  const output = await runModel(ctx, model, llmInputs(messages, o));
  if (output instanceof ReadableStream) {
    // The turn was cut while the request was on its way: nobody will read this stream, so stop the model.
    if (ctx.signal.aborted) {
      output.cancel().catch(() => {});
      throw ctx.signal.reason ?? new DOMException("The turn was cancelled", "AbortError");
    }
    return output as ReadableStream<Uint8Array>;
  }
  // A backend that ignored `stream` and answered JSON: replay it as one SSE event so one parser serves both.
  const response = typeof output === "object" && output !== null ? (output as { response?: unknown }).response : undefined;
  if (typeof response !== "string") throw new Error(`unexpected ${model} output: not a stream`);
  const usage = (output as { usage?: unknown }).usage;
  const body = sseEvent({ response }) + sseEvent({ response: "", usage }) + SSE_DONE;
  return new Response(body).body!;
}
