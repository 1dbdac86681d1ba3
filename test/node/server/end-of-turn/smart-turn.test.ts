// Here rather than in test/node/end-of-turn/: the adapter uses Workers types (Ai, AiModels), which only tsconfig.turn-tests.json loads.
import { describe, expect, it } from "vitest";
import type { AiCallContext } from "../../../../server/models/ai-binding.ts";
import { base64ToBytes } from "../../../../shared/base64.ts";
import {
  SMART_TURN_MAX_AUDIO_MS,
  SMART_TURN_MODEL,
  askSmartTurn,
  parseSmartTurnOutput,
  smartTurnInput,
} from "../../../../server/end-of-turn/smart-turn.ts";

/** The float32 samples a request carries. */
const decode = (audio: string): Float32Array => {
  const bytes = base64ToBytes(audio);
  const view = new DataView(bytes.buffer);
  return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
};

/** A hand-written binding: records each call and answers with `answer` (or rejects with it). */
function fakeRunner(answer: unknown) {
  const calls: { model: string; inputs: { audio: string; dtype: string }; options: Record<string, unknown> | undefined }[] = [];
  const ai = {
    run(model: string, inputs: { audio: string; dtype: string }, options?: Record<string, unknown>) {
      calls.push({ model, inputs, options });
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
  const ctx: AiCallContext = {
    ai: ai as unknown as AiCallContext["ai"],
    tags: ["parley", "session:s1"],
    signal: new AbortController().signal,
  };
  return { ctx, calls };
}

describe("smart-turn input", () => {
  it("names the model and its 8 s window", () => {
    expect(SMART_TURN_MODEL).toBe("@cf/pipecat-ai/smart-turn-v2");
    expect(SMART_TURN_MAX_AUDIO_MS).toBe(8000);
  });

  it("encodes PCM16 as little-endian float32 in [-1, 1], one value per sample, with dtype float32", () => {
    const input = smartTurnInput(Int16Array.from([0, 16384, -16384, 32767, -32768, 1]));
    expect(input.dtype).toBe("float32");
    expect(base64ToBytes(input.audio).length).toBe(6 * 4);
    expect(Array.from(decode(input.audio))).toEqual([0, 0.5, -0.5, 32767 / 32768, -1, Math.fround(1 / 32768)]);
  });

  it("sends only the last 8 s of a longer utterance", () => {
    const pcm = new Int16Array(10 * 16_000);
    for (let i = 0; i < pcm.length; i++) pcm[i] = i % 30_000; // each sample tells where it came from
    const samples = decode(smartTurnInput(pcm).audio);
    expect(samples.length).toBe(8 * 16_000);
    expect(samples[0]).toBe(((2 * 16_000) % 30_000) / 32768);
    expect(samples[samples.length - 1]).toBe(((pcm.length - 1) % 30_000) / 32768);
  });

  it("sends a short utterance whole", () => {
    expect(decode(smartTurnInput(new Int16Array(16_000).fill(-8192)).audio)).toEqual(new Float32Array(16_000).fill(-0.25));
  });
});

describe("smart-turn output", () => {
  it("reads is_complete and probability when both are there", () => {
    expect(parseSmartTurnOutput({ is_complete: true, probability: 0.93 })).toEqual({ complete: true, probability: 0.93 });
    expect(parseSmartTurnOutput({ is_complete: false, probability: 0.12 })).toEqual({ complete: false, probability: 0.12 });
  });

  it("a missing probability is 1 or 0 from is_complete", () => {
    expect(parseSmartTurnOutput({ is_complete: true })).toEqual({ complete: true, probability: 1 });
    expect(parseSmartTurnOutput({ is_complete: false })).toEqual({ complete: false, probability: 0 });
  });

  it("a missing is_complete is probability ≥ 0.5", () => {
    expect(parseSmartTurnOutput({ probability: 0.5 })).toEqual({ complete: true, probability: 0.5 });
    expect(parseSmartTurnOutput({ probability: 0.49 })).toEqual({ complete: false, probability: 0.49 });
  });

  it("ignores extra fields", () => {
    expect(parseSmartTurnOutput({ probability: 0.8, engine: "stand-in" })).toEqual({ complete: true, probability: 0.8 });
  });

  it.each([
    ["null", null],
    ["a string", "yes"],
    ["an empty object", {}],
    ["a probability above 1", { probability: 1.5 }],
    ["a negative probability", { probability: -0.1 }],
    ["a string probability", { probability: "0.9" }],
    ["a numeric is_complete", { is_complete: 1 }],
  ])("malformed output (%s) throws an error naming the model", (_, raw) => {
    expect(() => parseSmartTurnOutput(raw)).toThrow(/@cf\/pipecat-ai\/smart-turn-v2/);
  });
});

describe("askSmartTurn", () => {
  it("calls the model once with the encoded audio and the session's tags", async () => {
    const { ctx, calls } = fakeRunner({ is_complete: true, probability: 0.9 });
    const pcm = new Int16Array(16_000).fill(1000);
    const verdict = await askSmartTurn(ctx, pcm, { threshold: 0.5 });
    expect(verdict).toEqual({ complete: true, probability: 0.9, audioSeconds: 1 });
    expect(calls.length).toBe(1);
    expect(calls[0]!.model).toBe(SMART_TURN_MODEL);
    expect(calls[0]!.inputs).toEqual(smartTurnInput(pcm));
    expect(calls[0]!.options?.tags).toEqual(["parley", "session:s1"]);
  });

  it("complete is probability ≥ threshold, whatever the model's own is_complete says", async () => {
    const pcm = new Int16Array(3200);
    expect((await askSmartTurn(fakeRunner({ is_complete: true, probability: 0.6 }).ctx, pcm, { threshold: 0.7 })).complete).toBe(false);
    expect((await askSmartTurn(fakeRunner({ is_complete: false, probability: 0.3 }).ctx, pcm, { threshold: 0.3 })).complete).toBe(true);
    expect((await askSmartTurn(fakeRunner({ is_complete: true }).ctx, pcm, { threshold: 0.99 })).complete).toBe(true);
  });

  it("bills only the audio sent: at most 8 s", async () => {
    const { ctx } = fakeRunner({ probability: 0.2 });
    expect((await askSmartTurn(ctx, new Int16Array(12 * 16_000), { threshold: 0.5 })).audioSeconds).toBe(8);
  });

  it("uses another model id when given one, and names it in a parse error", async () => {
    const { ctx, calls } = fakeRunner({ verdict: "done" });
    await expect(askSmartTurn(ctx, new Int16Array(320), { threshold: 0.5, model: "@cf/acme/turn-v9" })).rejects.toThrow(
      /@cf\/acme\/turn-v9/,
    );
    expect(calls.map((c) => c.model)).toEqual(["@cf/acme/turn-v9"]);
  });

  it("does not retry a failing call: the error reaches the caller after one attempt", async () => {
    const { ctx, calls } = fakeRunner(new Error("3040: capacity exceeded"));
    await expect(askSmartTurn(ctx, new Int16Array(320), { threshold: 0.5 })).rejects.toThrow(/capacity/);
    expect(calls.length).toBe(1);
  });

  it("rejects a threshold outside 0..1 and empty audio without calling the model", async () => {
    const { ctx, calls } = fakeRunner({ probability: 1 });
    await expect(askSmartTurn(ctx, new Int16Array(320), { threshold: 1.5 })).rejects.toThrow(RangeError);
    await expect(askSmartTurn(ctx, new Int16Array(320), { threshold: Number.NaN })).rejects.toThrow(RangeError);
    await expect(askSmartTurn(ctx, new Int16Array(0), { threshold: 0.5 })).rejects.toThrow(/audio/);
    expect(calls.length).toBe(0);
  });
});
