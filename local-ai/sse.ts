// Server-sent events in Workers AI's text-generation format (written here; read by the server with
// the same contract, shared/workers-ai/llm-stream.ts), and the OpenAI-compatible stream the stand-in
// re-emits from. Pure (no I/O); see test/node/local-ai/sse.test.ts.
//
// Workers AI stream (docs/workers-ai.md, "Streaming replies"):
//   data: {"response":"Hel"}\n\n ... data: {"response":"","usage":{...}}\n\n data: [DONE]\n\n
// The stand-in adds "engine" to the first JSON event so the UI can say who answered.
import type { z } from "zod";
import type { LlmUsage } from "../shared/workers-ai/llm.ts";
import { isDonePayload, parseLlmPayload, SSE_DONE, SseDecoder, sseEvent, type LlmStreamEvent } from "../shared/workers-ai/llm-stream.ts";

export type Usage = z.infer<typeof LlmUsage>;

/** One step of a generated reply: a text token, or the final token counts. */
export type StreamPiece = { token: string } | { usage: Usage };

export interface ChatMessage {
  role: string;
  content: string;
}

/** Split text into token-like pieces: words with their leading space, punctuation on its own. */
export function splitTokens(text: string): string[] {
  return text.match(/\s*[\p{L}\p{N}'’]+|\s*[^\s\p{L}\p{N}'’]|\s+$/gu) ?? [];
}

/** A rough token count (Llama tokenizers give about one token per word or punctuation mark). */
export function estimateTokens(text: string): number {
  return splitTokens(text).length;
}

export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  // ~4 tokens of chat-template framing per message, plus the assistant header.
  return messages.reduce((n, m) => n + 4 + estimateTokens(m.content), 3);
}

export function makeUsage(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/**
 * Workers AI SSE text from a stream of pieces: one event per token (the first one carries
 * `engine`), then the usage event and `[DONE]`. Without a usage piece, `fallbackUsage` is called
 * with the number of tokens seen and the text.
 */
export async function* workersAiSse(
  pieces: AsyncIterable<StreamPiece>,
  engine: string,
  fallbackUsage: (completionTokens: number, text: string) => Usage,
): AsyncGenerator<string> {
  let first = true;
  let tokens = 0;
  let text = "";
  let usage: Usage | undefined;
  for await (const piece of pieces) {
    if ("usage" in piece) {
      usage = piece.usage;
      continue;
    }
    if (!piece.token) continue;
    tokens++;
    text += piece.token;
    yield sseEvent(first ? { response: piece.token, engine } : { response: piece.token });
    first = false;
  }
  const final = usage ?? fallbackUsage(tokens, text);
  yield sseEvent(first ? { response: "", usage: final, engine } : { response: "", usage: final });
  yield SSE_DONE;
}

export class UpstreamStreamError extends Error {}

/**
 * Parse an OpenAI-compatible chat-completions stream (`data: {"choices":[{"delta":{"content":..}}]}`,
 * optional usage chunk, `data: [DONE]`) into pieces, with the shared SSE decoder and payload parser.
 */
export async function* openAiSsePieces(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<StreamPiece> {
  const decoder = new SseDecoder();
  const handle = function* (payload: string): Generator<StreamPiece, boolean> {
    if (isDonePayload(payload)) return true;
    for (const ev of openAiPayloadEvents(payload)) {
      if (ev.type === "delta") yield { token: ev.text };
      else if (ev.type === "usage") yield { usage: makeUsage(ev.promptTokens, ev.completionTokens) };
    }
    return false;
  };
  for await (const chunk of body) {
    for (const payload of decoder.push(chunk)) {
      if (yield* handle(payload)) return;
    }
  }
  for (const payload of decoder.end()) {
    if (yield* handle(payload)) return;
  }
}

/** parseLlmPayload, plus what only OpenAI-style servers send: an in-band `{"error": ...}` (thrown with its message). */
function openAiPayloadEvents(payload: string): LlmStreamEvent[] {
  const events = parseLlmPayload(payload);
  if (!events.some((e) => e.type === "malformed")) return events;
  let json: { error?: { message?: string } | string } | undefined;
  try {
    json = JSON.parse(payload) as typeof json;
  } catch {
    // reported below
  }
  if (json?.error) throw new UpstreamStreamError(typeof json.error === "string" ? json.error : (json.error.message ?? "error"));
  throw new UpstreamStreamError(`malformed event from the local LLM server: ${payload.slice(0, 200)}`);
}
