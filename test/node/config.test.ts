import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, loadConfig } from "../../server/config.ts";

describe("configuration from wrangler vars", () => {
  it("uses the defaults when nothing is set, and an active Llama (not the retired 3.1-8b-instruct)", () => {
    const c = loadConfig({});
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.models.llm).not.toBe("@cf/meta/llama-3.1-8b-instruct");
    expect(c.models.stt).toBe("@cf/openai/whisper-large-v3-turbo");
  });

  it("parses numbers from strings and overrides only what is set", () => {
    const c = loadConfig({ VAD_SILENCE_MS: "700", LLM_MODEL: "@cf/meta/llama-3.2-3b-instruct", AI_MAX_RETRIES: "0", TTS_SPEAKER: "" });
    expect(c.turnDetection.silenceMs).toBe(700);
    expect(c.turnDetection.minSpeechMs).toBe(DEFAULT_CONFIG.turnDetection.minSpeechMs);
    expect(c.models.llm).toBe("@cf/meta/llama-3.2-3b-instruct");
    expect(c.reliability.maxRetries).toBe(0);
    expect(c.models.ttsSpeaker).toBeUndefined();
    expect(c.models.backend).toBe("workers-ai");
    expect(loadConfig({ AI_BACKEND: "local" }).models.backend).toBe("local");
  });

  it("reads the interruption settings and replaces one language's backchannel list", () => {
    const c = loadConfig({ MIN_INTERRUPTION_MS: "650", MIN_INTERRUPTION_WORDS: "2", FALSE_INTERRUPTION_TIMEOUT_MS: "2000", BACKCHANNELS_FR: " Oui, d'accord ,Ouais " });
    expect(c.interruption).toMatchObject({ minInterruptionMs: 650, minInterruptionWords: 2, falseInterruptionTimeoutMs: 2000 });
    expect(c.interruption.backchannels.fr).toEqual(["oui", "d'accord", "ouais"]);
    expect(c.interruption.backchannels.en).toEqual(DEFAULT_CONFIG.interruption.backchannels.en);
    expect(() => loadConfig({ BACKCHANNELS_EN: " , " })).toThrow(/BACKCHANNELS_EN/);
    expect(() => loadConfig({ FALSE_INTERRUPTION_TIMEOUT_MS: "50" })).toThrow(/FALSE_INTERRUPTION_TIMEOUT_MS/);
  });

  it("fails loudly, naming the variable, on a bad value", () => {
    expect(() => loadConfig({ VAD_SILENCE_MS: "soon" })).toThrow(ConfigError);
    expect(() => loadConfig({ VAD_SILENCE_MS: "20" })).toThrow(/VAD_SILENCE_MS/);
    expect(() => loadConfig({ LLM_MODEL: "gpt-4" })).toThrow(/LLM_MODEL/);
  });
});
