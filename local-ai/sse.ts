// Server-sent events in Workers AI's text-generation format, and the OpenAI-compatible stream
// parser the stand-in re-emits from. Pure (no I/O); see test/node/local-ai-sse.test.ts.
//
// Workers AI stream (reference/workers-ai.md §7.4):
//   data: {"response":"Hel"}\n\n ... data: {"response":"","usage":{...}}\n\n data: [DONE]\n\n
// The stand-in adds "engine" to the first JSON event so the UI can say who answered.

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One step of a generated reply: a text token, or the final token counts. */
export type StreamPiece = { token: string } | { usage: Usage };

export interface ChatMessage {
  role: string;
  content: string;
}

const encoder = new TextEncoder();

export function sseEvent(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

export const SSE_DONE = "data: [DONE]\n\n";

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

/** Incremental SSE parser: push decoded text, get the complete `data:` payloads seen so far. */
export class SseParser {
  private buffer = "";
  private data: string[] = [];

  push(chunk: string): string[] {
    this.buffer += chunk;
    const out: string[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      let line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (this.data.length) out.push(this.data.join("\n"));
        this.data = [];
      } else if (line.startsWith("data:")) {
        this.data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
      } // comments (":") and other fields (event:, id:, retry:) are ignored
    }
    return out;
  }

  /** Payload of a final event that was not followed by a blank line. */
  end(): string[] {
    const rest = this.push("\n\n");
    this.buffer = "";
    return rest;
  }
}

export class UpstreamStreamError extends Error {}

/**
 * Parse an OpenAI-compatible chat-completions stream (`data: {"choices":[{"delta":{"content":..}}]}`,
 * optional usage chunk, `data: [DONE]`) into pieces.
 */
export async function* openAiSsePieces(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<StreamPiece> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const handle = function* (payload: string): Generator<StreamPiece, boolean> {
    if (payload.trim() === "[DONE]") return true;
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      throw new UpstreamStreamError(`malformed event from the local LLM server: ${payload.slice(0, 200)}`);
    }
    const chunk = json as {
      choices?: { delta?: { content?: string | null }; text?: string }[];
      usage?: Partial<Usage> | null;
      error?: { message?: string } | string;
    };
    if (chunk.error) {
      throw new UpstreamStreamError(typeof chunk.error === "string" ? chunk.error : (chunk.error.message ?? "error"));
    }
    const content = chunk.choices?.[0]?.delta?.content ?? chunk.choices?.[0]?.text;
    if (content) yield { token: content };
    const u = chunk.usage;
    if (u && typeof u.prompt_tokens === "number" && typeof u.completion_tokens === "number") {
      yield { usage: makeUsage(u.prompt_tokens, u.completion_tokens) };
    }
    return false;
  };
  for await (const chunk of body) {
    for (const payload of parser.push(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }))) {
      if (yield* handle(payload)) return;
    }
  }
  for (const payload of parser.end()) {
    if (yield* handle(payload)) return;
  }
}

export function encodeText(s: string): Uint8Array {
  return encoder.encode(s);
}
