import { describe, expect, it } from "vitest";
import {
  FREE_NEURONS_PER_DAY,
  MODEL_PRICES,
  USD_PER_NEURON,
  audioModelCost,
  estimateTokens,
  turnCost,
  type UsageInput,
} from "../../../../server/cost/cost.ts";

// Published rates (docs/workers-ai.md, "Prices"), restated here so the tests check the table.
const USD_PER_1K_NEURONS = 0.011;

const none: UsageInput = {
  sttModel: "@cf/openai/whisper",
  audioInSeconds: 0,
  llmModel: "@cf/meta/llama-3.2-3b-instruct",
  promptTokens: 0,
  completionTokens: 0,
  ttsModel: "@cf/myshell-ai/melotts",
  ttsCharacters: 0,
  ttsAudioSeconds: 0,
};

describe("turnCost", () => {
  it("10 s on whisper-large-v3-turbo costs 7.77 neurons", () => {
    const c = turnCost({ ...none, sttModel: "@cf/openai/whisper-large-v3-turbo", audioInSeconds: 10 });
    expect(c.byStage.stt).toBeCloseTo((46.63 * 10) / 60, 9);
    expect(c.byStage.stt).toBeCloseTo(7.77, 2);
  });

  it("one minute on whisper costs 41.14 neurons", () => {
    expect(turnCost({ ...none, audioInSeconds: 60 }).byStage.stt).toBeCloseTo(41.14, 9);
  });

  it("whisper-tiny-en is priced like whisper", () => {
    const tiny = turnCost({ ...none, sttModel: "@cf/openai/whisper-tiny-en", audioInSeconds: 30 });
    expect(tiny.byStage.stt).toBeCloseTo(41.14 / 2, 9);
    expect(tiny.unpricedModels).toEqual([]);
  });

  it("1,500 prompt + 100 completion tokens on llama-3.2-3b cost about 10 neurons", () => {
    const c = turnCost({ ...none, promptTokens: 1500, completionTokens: 100 });
    expect(c.byStage.llm).toBeCloseTo((1500 * 4625) / 1e6 + (100 * 30475) / 1e6, 9);
    expect(c.byStage.llm).toBeCloseTo(9.985, 3);
  });

  it.each([
    ["@cf/meta/llama-3.2-1b-instruct", 2457, 18252],
    ["@cf/meta/llama-3.2-3b-instruct", 4625, 30475],
    ["@cf/meta/llama-3.1-8b-instruct-fp8", 13778, 26128],
    ["@cf/meta/llama-3.1-8b-instruct-fast", 4119, 34868],
    ["@cf/meta/llama-3.3-70b-instruct-fp8-fast", 26668, 204805],
    ["@cf/meta/llama-4-scout-17b-16e-instruct", 24545, 77273],
  ])("%s bills input and output tokens at their published rates", (llmModel, inPerM, outPerM) => {
    const c = turnCost({ ...none, llmModel, promptTokens: 2_000_000, completionTokens: 500_000 });
    expect(c.byStage.llm).toBeCloseTo(2 * inPerM + 0.5 * outPerM, 6);
  });

  it("200 characters on aura-2-en cost about 545 neurons", () => {
    const c = turnCost({ ...none, ttsModel: "@cf/deepgram/aura-2-en", ttsCharacters: 200, ttsAudioSeconds: 12 });
    expect(c.byStage.tts).toBeCloseTo((2727.27 * 200) / 1000, 9);
    expect(c.byStage.tts).toBeCloseTo(545.45, 2);
  });

  it("aura-1 and aura-2-es bill per thousand characters", () => {
    expect(turnCost({ ...none, ttsModel: "@cf/deepgram/aura-1", ttsCharacters: 1000 }).byStage.tts).toBeCloseTo(1363.64, 9);
    expect(turnCost({ ...none, ttsModel: "@cf/deepgram/aura-2-es", ttsCharacters: 500 }).byStage.tts).toBeCloseTo(2727.27 / 2, 9);
  });

  it("melotts is billed on audio produced, not characters", () => {
    const c = turnCost({ ...none, ttsCharacters: 5000, ttsAudioSeconds: 5 });
    expect(c.byStage.tts).toBeCloseTo((18.63 * 5) / 60, 9);
  });

  it("the total is the sum of the stages and dollars are $0.011 per 1,000 neurons", () => {
    const c = turnCost({
      ...none,
      sttModel: "@cf/openai/whisper-large-v3-turbo",
      audioInSeconds: 10,
      promptTokens: 1500,
      completionTokens: 100,
      ttsModel: "@cf/deepgram/aura-1",
      ttsCharacters: 200,
    });
    const expected = (46.63 * 10) / 60 + (1500 * 4625 + 100 * 30475) / 1e6 + (1363.64 * 200) / 1000;
    expect(c.neurons).toBeCloseTo(expected, 9);
    expect(c.byStage.stt + c.byStage.llm + c.byStage.tts).toBeCloseTo(c.neurons, 12);
    expect(c.usd).toBeCloseTo((expected / 1000) * USD_PER_1K_NEURONS, 12);
  });

  it("an unknown model adds 0 for its stage and is listed as unpriced", () => {
    const c = turnCost({ ...none, audioInSeconds: 60, llmModel: "@cf/acme/mystery-llm", promptTokens: 1000, completionTokens: 1000 });
    expect(c.byStage.llm).toBe(0);
    expect(c.byStage.stt).toBeCloseTo(41.14, 9);
    expect(c.neurons).toBeCloseTo(41.14, 9);
    expect(c.unpricedModels).toEqual(["@cf/acme/mystery-llm"]);
  });

  it("an unknown model on an unused stage is not reported", () => {
    const c = turnCost({ ...none, sttModel: "", llmModel: "@cf/acme/unknown", promptTokens: 0, completionTokens: 0 });
    expect(c.unpricedModels).toEqual([]);
    expect(c.neurons).toBe(0);
  });

  it("inherited object keys are not treated as priced models", () => {
    const c = turnCost({ ...none, llmModel: "toString", promptTokens: 10 });
    expect(c.byStage.llm).toBe(0);
    expect(c.unpricedModels).toEqual(["toString"]);
  });

  it("negative or non-finite usage counts as zero", () => {
    const c = turnCost({ ...none, audioInSeconds: -5, promptTokens: Number.NaN, completionTokens: Infinity, ttsAudioSeconds: -1 });
    expect(c.neurons).toBe(0);
    expect(Number.isFinite(c.usd)).toBe(true);
  });
});

describe("audioModelCost", () => {
  // Cloudflare prices these in dollars per audio minute; the table holds the neuron equivalents.
  it.each([
    ["@cf/deepgram/flux", 0.0077, 700],
    ["@cf/deepgram/nova-3", 0.0092, 836.36], // the WebSocket rate Parley uses
    ["@cf/pipecat-ai/smart-turn-v2", 0.00034, 30.91], // the dollar figure, not the page's "0.51 neurons"
  ])("%s costs $%f per audio minute (%f neurons)", (model, usdPerMinute, neuronsPerMinute) => {
    const c = audioModelCost(model, 60);
    expect(c.neurons).toBeCloseTo(neuronsPerMinute, 9);
    expect(c.usd).toBeCloseTo(usdPerMinute, 6);
    expect((usdPerMinute / USD_PER_1K_NEURONS) * 1000).toBeCloseTo(neuronsPerMinute, 2);
  });

  it("scales linearly with the seconds of audio", () => {
    expect(audioModelCost("@cf/pipecat-ai/smart-turn-v2", 2).neurons).toBeCloseTo((30.91 * 2) / 60, 12);
    expect(audioModelCost("@cf/deepgram/flux", 90).neurons).toBeCloseTo(1050, 9);
  });

  it("speech-to-text models already priced per audio minute work too", () => {
    expect(audioModelCost("@cf/openai/whisper", 30).neurons).toBeCloseTo(41.14 / 2, 9);
    expect(audioModelCost("@cf/openai/whisper", 30).usd).toBeCloseTo((41.14 / 2) * USD_PER_NEURON, 15);
  });

  it("an unknown model, a model not priced per audio minute, or an inherited key costs nothing", () => {
    expect(audioModelCost("@cf/acme/mystery", 60)).toEqual({ neurons: 0, usd: 0 });
    expect(audioModelCost("@cf/deepgram/aura-1", 60)).toEqual({ neurons: 0, usd: 0 });
    expect(audioModelCost("@cf/meta/llama-3.2-3b-instruct", 60)).toEqual({ neurons: 0, usd: 0 });
    expect(audioModelCost("toString", 60)).toEqual({ neurons: 0, usd: 0 });
  });

  it("negative or non-finite seconds count as zero", () => {
    for (const s of [-10, Number.NaN, Number.POSITIVE_INFINITY])
      expect(audioModelCost("@cf/deepgram/flux", s)).toEqual({ neurons: 0, usd: 0 });
  });

  it("turnCost bills a streaming STT model like any audio-minute model", () => {
    const c = turnCost({ ...none, sttModel: "@cf/deepgram/nova-3", audioInSeconds: 30 });
    expect(c.byStage.stt).toBeCloseTo(836.36 / 2, 9);
    expect(c.unpricedModels).toEqual([]);
  });
});

describe("constants", () => {
  it("USD_PER_NEURON is $0.011 per 1,000 neurons and 10,000 neurons a day are free", () => {
    expect(USD_PER_NEURON * 1000).toBeCloseTo(USD_PER_1K_NEURONS, 15);
    expect(FREE_NEURONS_PER_DAY).toBe(10_000);
    // The free day is worth $0.11.
    expect(FREE_NEURONS_PER_DAY * USD_PER_NEURON).toBeCloseTo(0.11, 12);
  });

  it("every priced model has positive rates", () => {
    for (const [model, p] of Object.entries(MODEL_PRICES)) {
      const rates = p.kind === "mtokens" ? [p.inNeurons, p.outNeurons] : [p.neurons];
      for (const r of rates) expect(r, model).toBeGreaterThan(0);
    }
  });
});

describe("estimateTokens", () => {
  it("counts about four characters per token, rounding up", () => {
    expect(estimateTokens("")).toBe(0);
    expect(estimateTokens("abcd")).toBe(1);
    expect(estimateTokens("abcde")).toBe(2);
    expect(estimateTokens("x".repeat(400))).toBe(100);
  });
});
