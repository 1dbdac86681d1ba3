import { describe, expect, it } from "vitest";
import { transcribeUtterance } from "../../../../server/turn/transcription.ts";

/** A binding that records each call and honours the AbortSignal it is given, as Workers AI does. */
function hangingThenAnswering() {
  const log: string[] = [];
  let n = 0;
  const ai = {
    run(_model: string, _inputs: unknown, options?: { signal?: AbortSignal }) {
      const k = ++n;
      log.push(`call ${k}`);
      if (k === 1) {
        return new Promise((_, reject) =>
          options!.signal!.addEventListener("abort", () => {
            log.push(`abort ${k}`);
            reject(new DOMException("aborted", "AbortError"));
          }),
        );
      }
      return Promise.resolve({ text: " hello there ", word_count: 2 });
    },
  };
  return { ai: ai as unknown as Ai, log };
}

describe("transcription", () => {
  it("a timed-out STT attempt is aborted before its retry", async () => {
    const { ai, log } = hangingThenAnswering();
    const result = await transcribeUtterance({ ai, tags: ["parley"], signal: new AbortController().signal }, new Int16Array(16_000), {
      model: "@cf/openai/whisper-large-v3-turbo",
      language: "en",
      timeoutMs: 30,
      maxRetries: 2,
      retryBaseMs: 1,
    });
    expect(log).toEqual(["call 1", "abort 1", "call 2"]);
    expect(result).toMatchObject({ text: "hello there", audioSeconds: 1, retries: 1 });
  });

  it("gives up with ai_timeout when every attempt times out, having aborted each", async () => {
    const log: string[] = [];
    const ai = {
      run: (_m: string, _i: unknown, o?: { signal?: AbortSignal }) =>
        new Promise((_, reject) =>
          o!.signal!.addEventListener("abort", () => (log.push("abort"), reject(new DOMException("aborted", "AbortError")))),
        ),
    } as unknown as Ai;
    const p = transcribeUtterance({ ai, tags: [], signal: new AbortController().signal }, new Int16Array(320), {
      model: "@cf/openai/whisper",
      language: "en",
      timeoutMs: 20,
      maxRetries: 1,
      retryBaseMs: 1,
    });
    await expect(p).rejects.toMatchObject({ code: "ai_timeout", stage: "stt" });
    expect(log).toEqual(["abort", "abort"]);
  });
});
