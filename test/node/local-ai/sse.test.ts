// SSE in Workers AI's format and the OpenAI-compatible stream re-emission (local-ai/sse.ts). The
// SSE framing itself is the shared SseDecoder (tested in test/node/shared/workers-ai/llm-stream.test.ts).
import { describe, expect, it } from "vitest";
import { LlmStreamChunk } from "../../../shared/workers-ai/llm.ts";
import { StandInMarker } from "../../../shared/workers-ai/stand-in.ts";
import { SseDecoder } from "../../../shared/workers-ai/llm-stream.ts";
import { readLlmStream } from "../../../server/reply/llm-stream-reader.ts";
import { estimateTokens, makeUsage, openAiSsePieces, splitTokens, workersAiSse, type StreamPiece } from "../../../local-ai/sse.ts";

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
    const payloads = new SseDecoder().push(text);
    expect(payloads.at(-1)).toBe("[DONE]");
    for (const p of payloads.slice(0, -1)) expect(LlmStreamChunk.safeParse(JSON.parse(p)).success).toBe(true);
    expect(StandInMarker.parse(JSON.parse(payloads[0]!)).engine).toBe("offline-responder");
  });

  it("is read by the server's readLlmStream: deltas, the engine, usage, then end with [DONE] seen", async () => {
    const text = (
      await collect(
        workersAiSse(from<StreamPiece>([{ token: "Hi" }, { token: "!" }, { usage: makeUsage(3, 2) }]), "x", () => makeUsage(0, 0)),
      )
    ).join("");
    const bytes = new TextEncoder().encode(text);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 5) c.enqueue(bytes.subarray(i, i + 5));
        c.close();
      },
    });
    expect(await collect(readLlmStream(stream))).toEqual([
      { type: "delta", text: "Hi" },
      { type: "engine", engine: "x" },
      { type: "delta", text: "!" },
      { type: "usage", promptTokens: 3, completionTokens: 2 },
      { type: "end", sawDone: true },
    ]);
  });

  it("estimates usage when the source gives none, and marks an empty reply's only event", async () => {
    const text = (await collect(workersAiSse(from<StreamPiece>([]), "x", (n) => makeUsage(5, n)))).join("");
    expect(text).toBe(
      'data: {"response":"","usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5},"engine":"x"}\n\ndata: [DONE]\n\n',
    );
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
    const text = (
      await collect(workersAiSse(openAiSsePieces(from([openAiStream])), "openai-compatible:http://x/v1", () => makeUsage(0, 0)))
    ).join("");
    const payloads = new SseDecoder().push(text);
    expect(payloads).toEqual([
      '{"response":"Hel","engine":"openai-compatible:http://x/v1"}',
      '{"response":"lo."}',
      '{"response":"","usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}',
      "[DONE]",
    ]);
  });

  it('accepts the `"usage": null` that OpenAI-style servers put on every chunk but the last', async () => {
    const wire =
      'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}],"usage":null}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}}\n\ndata: [DONE]\n\n';
    expect(await collect(openAiSsePieces(from([wire])))).toEqual([{ token: "a" }, { usage: makeUsage(4, 1) }]);
  });

  it("stops at [DONE], and fails on an error event or malformed JSON", async () => {
    expect(
      await collect(
        openAiSsePieces(
          from(['data: {"choices":[{"delta":{"content":"a"}}]}\n\ndata: [DONE]\n\ndata: {"choices":[{"delta":{"content":"b"}}]}\n\n']),
        ),
      ),
    ).toEqual([{ token: "a" }]);
    await expect(collect(openAiSsePieces(from(['data: {"error":{"message":"model not loaded"}}\n\n'])))).rejects.toThrow(
      "model not loaded",
    );
    await expect(collect(openAiSsePieces(from(["data: {nope\n\n"])))).rejects.toThrow(/malformed/);
  });
});
