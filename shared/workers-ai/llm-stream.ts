// Workers AI streamed text generation (`text/event-stream`), both halves of the contract
// (docs/workers-ai.md, "Streaming replies"): the server reads it (server/reply/llm-stream-reader.ts),
// the offline stand-in writes it (local-ai/sse.ts). SSE line decoding is eventsource-parser's; the
// payloads (`[DONE]`, usage, native and OpenAI chunk forms) are ours. Pure: runs in workerd and Node.
import { createParser, type EventSourceParser } from "eventsource-parser";
import { LlmStreamChunk } from "./llm.ts";

export type LlmStreamEvent =
  | { type: "delta"; text: string }
  | { type: "usage"; promptTokens: number; completionTokens: number }
  | { type: "malformed"; raw: string }
  /** Which engine wrote the reply; only the offline stand-in says so. */
  | { type: "engine"; engine: string }
  | { type: "end"; sawDone: boolean }; // always the last event

/** One server-sent event carrying `data` (a JSON value, or a string sent as is, e.g. `[DONE]`). */
export function sseEvent(data: unknown): string {
  return `data: ${typeof data === "string" ? data : JSON.stringify(data)}\n\n`;
}

/** The terminator event of a complete stream. */
export const SSE_DONE = "data: [DONE]\n\n";

export interface SseDecoderOptions {
  /** Upper bound on one event's size; a stream that exceeds it is broken, not something to buffer forever. */
  maxEventChars: number;
}

const DEFAULT_MAX_EVENT_CHARS = 1_000_000;

/**
 * The `data` payloads of an SSE byte stream, fed in pieces split anywhere (inside a UTF-8 sequence,
 * inside `\r\n`, mid-line, mid-event). eventsource-parser does the line decoding, including its
 * buffer cap (`maxBufferSize`), which we turn into a RangeError.
 */
export class SseDecoder {
  readonly #utf8 = new TextDecoder("utf-8");
  readonly #parser: EventSourceParser;
  readonly #maxEventChars: number;
  #payloads: string[] = [];
  #overflowed = false;

  constructor(options?: Partial<SseDecoderOptions>) {
    this.#maxEventChars = options?.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
    this.#parser = createParser({
      maxBufferSize: this.#maxEventChars,
      onEvent: (event) => this.#payloads.push(event.data),
      onError: (error) => {
        // Unknown fields and bad `retry` values are ignored; only the cap matters here.
        if (error.type === "max-buffer-size-exceeded") this.#overflowed = true;
      },
    });
  }

  /** Feed the next piece of the stream; returns the `data` payloads of events completed by it. */
  push(chunk: Uint8Array | string): string[] {
    return this.#feed(typeof chunk === "string" ? chunk : this.#utf8.decode(chunk, { stream: true }));
  }

  /**
   * The stream has ended: returns any payloads still pending. The spec drops an unterminated event;
   * we deliver it (by ending its line and the event) so a truncated JSON shows up as `malformed` and
   * a final `data: [DONE]` without its blank line still counts.
   */
  end(): string[] {
    const out = this.#feed(`${this.#utf8.decode()}\n\n`);
    this.#parser.reset();
    return out;
  }

  #feed(text: string): string[] {
    this.#parser.feed(text);
    const out = this.#payloads;
    this.#payloads = [];
    if (this.#overflowed) throw new RangeError(`SSE event larger than ${this.#maxEventChars} chars`);
    return out;
  }
}

/** True for the `[DONE]` terminator payload. */
export function isDonePayload(data: string): boolean {
  return data.trim() === "[DONE]";
}

/**
 * One `data` payload -> events. Native `{response}` and OpenAI `{choices:[{delta}]}` forms; when a
 * frame carries both, the choices text wins so the same text is never appended twice.
 * `[DONE]` and blank payloads yield nothing (the caller owns termination).
 */
export function parseLlmPayload(data: string): LlmStreamEvent[] {
  const trimmed = data.trim();
  if (trimmed.length === 0 || trimmed === "[DONE]") return [];
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return [{ type: "malformed", raw: data }];
  }
  const parsed = LlmStreamChunk.safeParse(json);
  if (!parsed.success) return [{ type: "malformed", raw: data }];
  const chunk = parsed.data;
  const events: LlmStreamEvent[] = [];

  const choiceText = chunk.choices?.[0]?.delta?.content;
  const text = typeof choiceText === "string" && choiceText.length > 0 ? choiceText : (chunk.response ?? "");
  if (text.length > 0) events.push({ type: "delta", text });

  const u = chunk.usage;
  if (u && (u.prompt_tokens !== undefined || u.completion_tokens !== undefined)) {
    events.push({ type: "usage", promptTokens: u.prompt_tokens ?? 0, completionTokens: u.completion_tokens ?? 0 });
  }

  // An in-band error object is not a chunk we understand: surface it rather than swallow it.
  if (events.length === 0 && chunk.response === undefined && chunk.choices === undefined && ("error" in chunk || "errors" in chunk)) {
    return [{ type: "malformed", raw: data }];
  }
  if (chunk.engine) events.push({ type: "engine", engine: chunk.engine });
  return events;
}
