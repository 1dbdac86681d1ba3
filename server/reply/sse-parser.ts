// Parser for Workers AI streamed text generation (`text/event-stream`), see
// docs/workers-ai.md, "Streaming replies". Pure: runs in workerd and in Node tests.
import { LlmStreamChunk } from "../../shared/workers-ai/llm.ts";

export type LlmStreamEvent =
  | { type: "delta"; text: string }
  | { type: "usage"; promptTokens: number; completionTokens: number }
  | { type: "malformed"; raw: string }
  /** Which engine wrote the reply; only the offline stand-in says so. */
  | { type: "engine"; engine: string }
  | { type: "end"; sawDone: boolean }; // always the last event

export interface SseDecoderOptions {
  /** Upper bound on one event's size; a stream that exceeds it is broken, not something to buffer forever. */
  maxEventChars: number;
}

const DEFAULT_MAX_EVENT_CHARS = 1_000_000;

/**
 * Incremental SSE decoder (WHATWG "event stream interpretation", `data` field only).
 * Bytes may be split anywhere: inside a UTF-8 sequence, inside `\r\n`, mid-line, mid-event.
 */
export class SseDecoder {
  private readonly utf8 = new TextDecoder("utf-8");
  private readonly maxEventChars: number;
  private line = ""; // current incomplete line
  private scanned = 0; // chars of `line` already known to hold no terminator
  private pendingCr = false; // a `\r` ended the last chunk: a following `\n` belongs to it
  private data: string[] = []; // `data` lines of the event being built
  private dataChars = 0;
  private started = false; // for stripping a BOM at stream start

  constructor(options?: Partial<SseDecoderOptions>) {
    this.maxEventChars = options?.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  }

  /** Feed the next piece of the stream; returns the `data` payloads of events completed by it. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === "string" ? chunk : this.utf8.decode(chunk, { stream: true });
    return this.feed(text);
  }

  /** The stream has ended: flush partial input. Returns any payloads still pending. */
  end(): string[] {
    const out = this.feed(this.utf8.decode());
    this.pendingCr = false;
    if (this.line.length > 0) this.takeLine(this.line, out);
    this.line = "";
    this.scanned = 0;
    // Spec says an unterminated event is dropped; we deliver it so a truncated JSON shows up as
    // `malformed` (and a final `data: [DONE]` without its blank line still counts).
    this.dispatch(out);
    return out;
  }

  private feed(text: string): string[] {
    const out: string[] = [];
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.length === 0) return out;
    let start = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (text[0] === "\n") start = 1; // second half of a `\r\n` split across reads
    }
    let buf = this.line + text.slice(start);
    let pos = this.scanned;
    let lineStart = 0;
    for (;;) {
      let i = pos;
      while (i < buf.length) {
        const c = buf.charCodeAt(i);
        if (c === 10 || c === 13) break;
        i++;
      }
      if (i >= buf.length) break;
      this.takeLine(buf.slice(lineStart, i), out);
      if (buf.charCodeAt(i) === 13) {
        if (i + 1 === buf.length) {
          // Can't tell yet whether this is `\r` or the start of `\r\n`.
          this.pendingCr = true;
          lineStart = i + 1;
          pos = lineStart;
          break;
        }
        if (buf.charCodeAt(i + 1) === 10) i++;
      }
      lineStart = i + 1;
      pos = lineStart;
    }
    buf = buf.slice(lineStart);
    this.line = buf;
    this.scanned = buf.length;
    if (this.line.length + this.dataChars > this.maxEventChars) {
      throw new RangeError(`SSE event larger than ${this.maxEventChars} chars`);
    }
    return out;
  }

  private takeLine(line: string, out: string[]): void {
    if (line.length === 0) {
      this.dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 58 /* ":" */) return; // comment / keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== "data") return; // event, id, retry: nothing Workers AI uses
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    this.data.push(value);
    this.dataChars += value.length + 1;
    if (this.dataChars > this.maxEventChars) {
      throw new RangeError(`SSE event larger than ${this.maxEventChars} chars`);
    }
  }

  private dispatch(out: string[]): void {
    if (this.data.length === 0) return;
    out.push(this.data.join("\n"));
    this.data = [];
    this.dataChars = 0;
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
