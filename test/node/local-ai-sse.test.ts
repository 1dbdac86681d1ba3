// SSE in Workers AI's format and the OpenAI-compatible stream re-emission (local-ai/sse.ts).
import { describe, expect, it } from "vitest";
import { LlmStreamChunk, StandInMarker } from "../../server/models/model-schemas.ts";
import { estimateTokens, makeUsage, openAiSsePieces, splitTokens, SseParser, workersAiSse, type StreamPiece } from "../../local-ai/sse.ts";

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const i of items) yield i;
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("splitTokens", () => {
  it("splits into word and punctuation tokens that join back to the text", () => {
    const text = "Okay, a timer for 10 minutes. It's only simulated!  ";
    const tokens = splitTokens(text);
    expect(tokens.join("")).toBe(text);
    expect(tokens.slice(0, 4)).toEqual(["Okay", ",", " a", " timer"]);
    expect(estimateTokens("Hello there.")).toBe(3);
  });
});

describe("workersAiSse", () => {
  it("emits one event per token, engine on the first, then usage and [DONE]", async () => {
    const pieces: StreamPiece[] = [{ token: "Hi" }, { token: " there" }, { usage: makeUsage(7, 2) }];
    const text = (await collect(workersAiSse(from(pieces), "offline-responder", () => makeUsage(0, 0)))).join("");
    expect(text).toBe(
      'data: {"response":"Hi","engine":"offline-responder"}\n\n' +
        'data: {"response":" there"}\n\n' +
        'data: {"response":"","usage":{"prompt_tokens":7,"completion_tokens":2,"total_tokens":9}}\n\n' +
        "data: [DONE]\n\n",
    );
    const payloads = new SseParser().push(text);
    expect(payloads.at(-1)).toBe("[DONE]");
    for (const p of payloads.slice(0, -1)) expect(LlmStreamChunk.safeParse(JSON.parse(p)).success).toBe(true);
    expect(StandInMarker.parse(JSON.parse(payloads[0]!)).engine).toBe("offline-responder");
  });

  it("estimates usage when the source gives none, and marks an empty reply's only event", async () => {
    const text = (await collect(workersAiSse(from<StreamPiece>([]), "x", (n) => makeUsage(5, n)))).join("");
    expect(text).toBe('data: {"response":"","usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5},"engine":"x"}\n\ndata: [DONE]\n\n');
  });
});

describe("SseParser", () => {
  it("reassembles events split anywhere, with CRLF, comments and multi-line data", () => {
    const wire = ': keep-alive\r\n\r\ndata: {"a":1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata:[DONE]\n\n';
    for (let cut = 0; cut < wire.length; cut++) {
      const p = new SseParser();
      const got = [...p.push(wire.slice(0, cut)), ...p.push(wire.slice(cut)), ...p.end()];
      expect(got).toEqual(['{"a":1}', "line1\nline2", "[DONE]"]);
    }
  });

  it("returns a final event that lacks the blank line", () => {
    const p = new SseParser();
    expect(p.push('data: {"x":1}')).toEqual([]);
    expect(p.end()).toEqual(['{"x":1}']);
  });
});

describe("openAiSsePieces", () => {
  const openAiStream = [
    'data: {"id":"1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
    'data: {"id":"1","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}\n\n',
    'data: {"id":"1","choices":[{"index":0,"delta":{"content":"lo."},"finish_reason":"stop"}]}\n\n',
    'data: {"id":"1","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}\n\n',
    "data: [DONE]\n\n",
  ].join("");

  it("turns OpenAI deltas into tokens and usage, however the bytes are split", async () => {
    const bytes = new TextEncoder().encode(openAiStream);
    for (const size of [1, 7, 64, bytes.length]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(await collect(openAiSsePieces(from(chunks)))).toEqual([{ token: "Hel" }, { token: "lo." }, { usage: makeUsage(12, 2) }]);
    }
  });

  it("re-emits as Workers AI SSE that the server's schema accepts", async () => {
    const text = (await collect(workersAiSse(openAiSsePieces(from([openAiStream])), "openai-compatible:http://x/v1", () => makeUsage(0, 0)))).join("");
    const payloads = new SseParser().push(text);
    expect(payloads).toEqual([
      '{"response":"Hel","engine":"openai-compatible:http://x/v1"}',
      '{"response":"lo."}',
      '{"response":"","usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}',
      "[DONE]",
    ]);
  });

  it("stops at [DONE], and fails on an error event or malformed JSON", async () => {
    expect(await collect(openAiSsePieces(from(['data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\ndata: {"choices":[{"delta":{"content":"b"}}]}\n\n'])))).toEqual([{ token: "a" }]);
    await expect(collect(openAiSsePieces(from(['data: {"error":{"message":"model not loaded"}}\n\n'])))).rejects.toThrow("model not loaded");
    await expect(collect(openAiSsePieces(from(["data: {nope\n\n"])))).rejects.toThrow(/malformed/);
  });
});
