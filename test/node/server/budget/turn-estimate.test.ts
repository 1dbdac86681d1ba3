import { describe, expect, it } from "vitest";
import { replyReservationNeurons } from "../../../../server/budget/turn-estimate.ts";
import { DEFAULT_CONFIG, type ParleyConfig } from "../../../../server/config.ts";
import { MODEL_PRICES } from "../../../../server/cost/cost.ts";

const withReply = (reply: Partial<ParleyConfig["reply"]>, models: Partial<ParleyConfig["models"]> = {}): ParleyConfig => ({
  ...DEFAULT_CONFIG,
  reply: { ...DEFAULT_CONFIG.reply, ...reply },
  models: { ...DEFAULT_CONFIG.models, ...models },
});

describe("replyReservationNeurons", () => {
  it("bounds a reply of the default models: the longest prompt, every token, and speech for all of it", () => {
    const c = DEFAULT_CONFIG;
    const llm = MODEL_PRICES[c.models.llm]!;
    const tts = MODEL_PRICES[c.models.tts]!;
    if (llm.kind !== "mtokens" || tts.kind !== "audio-minute-out") throw new Error("default prices changed");
    const promptTokens = Math.ceil((c.reply.systemPrompt.length + c.reply.historyBudgetChars + 2000) / 4);
    const expected =
      (llm.inNeurons * promptTokens + llm.outNeurons * c.reply.maxTokens) / 1e6 + (tts.neurons * (c.reply.maxTokens * 4)) / 12 / 60;
    expect(replyReservationNeurons(c)).toBeCloseTo(expected, 6);
  });

  it("grows with the reply's token limit and the history budget", () => {
    const base = replyReservationNeurons(DEFAULT_CONFIG);
    expect(replyReservationNeurons(withReply({ maxTokens: 1024 }))).toBeGreaterThan(base);
    expect(replyReservationNeurons(withReply({ historyBudgetChars: 100_000 }))).toBeGreaterThan(base);
  });

  it("prices Aura speech by characters", () => {
    const aura = replyReservationNeurons(withReply({}, { tts: "@cf/deepgram/aura-2-en" }));
    const melo = replyReservationNeurons(DEFAULT_CONFIG);
    // 1,024 characters at 2,727.27 neurons per 1,000 dwarf melotts' per-minute price.
    expect(aura - melo).toBeGreaterThan(2000);
  });
});
