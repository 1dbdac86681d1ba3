// The Workers AI stream contract: SSE framing (eventsource-parser behind SseDecoder) and payloads.
import { describe, expect, it } from "vitest";
import { SseDecoder, parseLlmPayload } from "../../../../shared/workers-ai/llm-stream.ts";

describe("SseDecoder", () => {
  it("multiple data lines in one event are joined with a newline", () => {
    const d = new SseDecoder();
    expect(d.push('data: {"response":\ndata: "x"}\n\n')).toEqual(['{"response":\n"x"}']);
  });

  it("a CRLF split exactly between CR and LF does not create an extra blank line", () => {
    const d = new SseDecoder();
    // If the split \r\n were read as two line ends, the event would be dispatched before "b".
    expect(d.push("data: a\r")).toEqual([]);
    expect(d.push("\ndata: b\r\n\r\n")).toEqual(["a\nb"]);
  });

  it("lone CR line endings are accepted", () => {
    const d = new SseDecoder();
    expect([...d.push("data: a\r\rdata: b\r"), ...d.push("\r")]).toEqual(["a", "b"]);
  });

  it("a value without the optional space after the colon is kept whole", () => {
    const d = new SseDecoder();
    expect(d.push("data:x\n\ndata:  y\n\n")).toEqual(["x", " y"]);
  });

  it("an event with no data lines is not dispatched", () => {
    const d = new SseDecoder();
    expect(d.push(": ping\n\nevent: x\n\n\n\n")).toEqual([]);
  });

  it("end() flushes an unterminated event and nothing else", () => {
    const d = new SseDecoder();
    expect(d.push("data: one\n\ndata: tw")).toEqual(["one"]);
    expect(d.end()).toEqual(["tw"]);
  });

  it("a leading byte-order mark is ignored", () => {
    const d = new SseDecoder();
    expect(d.push("\uFEFFdata: a\n\n")).toEqual(["a"]);
  });

  it("an event larger than maxEventChars throws instead of buffering without bound", () => {
    const d = new SseDecoder({ maxEventChars: 100 });
    d.push("data: " + "x".repeat(50));
    expect(() => d.push("x".repeat(60))).toThrow(RangeError);
  });
});

describe("parseLlmPayload", () => {
  it("[DONE] and blank payloads yield no events", () => {
    expect(parseLlmPayload("[DONE]")).toEqual([]);
    expect(parseLlmPayload("  ")).toEqual([]);
  });

  it("the p padding field never reaches the text", () => {
    expect(parseLlmPayload('{"response":"Hi","p":"abcdefghijklmn"}')).toEqual([{ type: "delta", text: "Hi" }]);
  });

  it("an empty choices delta falls back to response", () => {
    expect(parseLlmPayload('{"response":"Hi","choices":[{"delta":{}}]}')).toEqual([{ type: "delta", text: "Hi" }]);
  });

  it("choices text wins when it differs from response", () => {
    expect(parseLlmPayload('{"response":"X","choices":[{"delta":{"content":"Y"}}]}')).toEqual([{ type: "delta", text: "Y" }]);
  });

  it("a delta and usage in the same frame come out delta first", () => {
    expect(parseLlmPayload('{"response":"!","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}')).toEqual([
      { type: "delta", text: "!" },
      { type: "usage", promptTokens: 1, completionTokens: 2 },
    ]);
  });

  it("usage with only total_tokens is not reported as usage", () => {
    expect(parseLlmPayload('{"response":"","usage":{"total_tokens":3}}')).toEqual([]);
  });

  it("a payload that does not match the chunk schema is malformed", () => {
    expect(parseLlmPayload('{"response":{"json":"mode"}}')).toEqual([{ type: "malformed", raw: '{"response":{"json":"mode"}}' }]);
    expect(parseLlmPayload("42")).toEqual([{ type: "malformed", raw: "42" }]);
  });

  it("an in-band error object is reported as malformed", () => {
    expect(parseLlmPayload('{"error":"capacity"}')).toEqual([{ type: "malformed", raw: '{"error":"capacity"}' }]);
  });
});

describe("stand-in and OpenAI-compatible extras", () => {
  it("reports the engine named in a chunk, after its text", () => {
    expect(parseLlmPayload('{"response":"Hi","engine":"offline-responder"}')).toEqual([
      { type: "delta", text: "Hi" },
      { type: "engine", engine: "offline-responder" },
    ]);
  });

  it('accepts "usage": null on OpenAI-style chunks', () => {
    expect(parseLlmPayload('{"choices":[{"delta":{"content":"Yo"}}],"usage":null}')).toEqual([{ type: "delta", text: "Yo" }]);
  });
});
