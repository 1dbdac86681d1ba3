import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_CONFIG, loadConfig } from "../../../server/config.ts";

describe("configuration from wrangler vars", () => {
  it("uses the defaults when nothing is set, and an active Llama (not the retired 3.1-8b-instruct)", () => {
    const c = loadConfig({});
    expect(c).toEqual(DEFAULT_CONFIG);
    expect(c.models.llm).not.toBe("@cf/meta/llama-3.1-8b-instruct");
    expect(c.models.stt).toBe("@cf/openai/whisper-large-v3-turbo");
  });

  it("picks the end-of-turn path by backend: smart-turn on Workers AI, streaming Nova and the transcript signal offline, plain silence for the test fake", () => {
    expect(loadConfig({}).endOfTurn.detector).toBe("smart-turn");
    expect(loadConfig({}).recognition.mode).toBe("batch");
    const offline = loadConfig({ AI_BACKEND: "local" });
    expect(offline.recognition).toMatchObject({ mode: "streaming", streamingModel: "@cf/deepgram/nova-3" });
    expect(offline.endOfTurn.detector).toBe("transcript");
    expect(loadConfig({ AI_BACKEND: "fake" }).endOfTurn.detector).toBe("silence");
    const flux = loadConfig({
      STT_MODE: "streaming",
      FLUX_EAGER_EOT_THRESHOLD: "off",
      FLUX_EOT_TIMEOUT_MS: "2000",
      STT_KEYTERMS: "Parley, Cloudflare ,",
    });
    expect(flux.recognition.flux).toEqual({ eotThreshold: 0.7, eagerEotThreshold: null, eotTimeoutMs: 2000, forceEnd: true });
    expect(loadConfig({ STT_MODE: "streaming", FLUX_FORCE_END: "false" }).recognition.flux.forceEnd).toBe(false);
    expect(() => loadConfig({ FLUX_FORCE_END: "sometimes" })).toThrow(/FLUX_FORCE_END/);
    expect(flux.recognition.keyterms).toEqual(["Parley", "Cloudflare"]);
    expect(loadConfig({ SPECULATIVE_REPLIES: "false", MAX_SILENCE_MS: "2500" }).endOfTurn).toMatchObject({
      speculative: false,
      maxSilenceMs: 2500,
    });
    expect(() => loadConfig({ END_OF_TURN: "transcript" })).toThrow(/STT_MODE=streaming/);
    expect(() => loadConfig({ STT_STREAMING_MODEL: "@cf/openai/whisper" })).toThrow(/STT_STREAMING_MODEL/);
    expect(() => loadConfig({ FLUX_EOT_THRESHOLD: "0.95" })).toThrow(/FLUX_EOT_THRESHOLD/);
  });

  it("asks smart-turn at a 200 ms pause and ends a complete turn there; words are judged at 250 ms (they arrive late); END_OF_TURN_PAUSE_MS wins", () => {
    const pauses = (vars: Record<string, string>) => {
      const c = loadConfig(vars);
      return [c.endOfTurn.pauseMs, c.endOfTurn.completeSilenceMs, c.turnDetection.pauseMs];
    };
    expect(pauses({})).toEqual([200, 200, 200]);
    expect(pauses({ STT_MODE: "streaming", STT_STREAMING_MODEL: "@cf/deepgram/nova-3" })).toEqual([200, 200, 200]);
    expect(pauses({ STT_MODE: "streaming" })).toEqual([250, 250, 250]); // Flux: Parley judges Flux's words
    expect(pauses({ AI_BACKEND: "local" })).toEqual([250, 250, 250]);
    expect(pauses({ END_OF_TURN: "silence" })).toEqual([250, 250, 250]);
    expect(pauses({ END_OF_TURN_PAUSE_MS: "300" })).toEqual([300, 300, 300]);
    expect(pauses({ AI_BACKEND: "local", END_OF_TURN_PAUSE_MS: "300" })).toEqual([300, 250, 300]);
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

  it("budgets: the daily default is the free allocation, set in neurons or dollars (not both), or off; a session may use half of it", () => {
    expect(DEFAULT_CONFIG.budgets).toEqual({ sessionUsd: 0.055, dailyNeurons: 10_000 });
    expect(loadConfig({}).budgets.dailyNeurons).toBe(10_000);
    // Offline and in tests nothing costs money: no daily limit unless one is set.
    expect(loadConfig({ AI_BACKEND: "local" }).budgets.dailyNeurons).toBeNull();
    expect(loadConfig({ AI_BACKEND: "fake", DAILY_BUDGET_NEURONS: "300" }).budgets.dailyNeurons).toBe(300);
    expect(loadConfig({ DAILY_BUDGET_NEURONS: "250000" }).budgets.dailyNeurons).toBe(250_000);
    expect(loadConfig({ DAILY_BUDGET_USD: "1.10" }).budgets.dailyNeurons).toBe(100_000);
    expect(loadConfig({ DAILY_BUDGET_NEURONS: "off" }).budgets.dailyNeurons).toBeNull();
    expect(() => loadConfig({ DAILY_BUDGET_NEURONS: "1000", DAILY_BUDGET_USD: "1" })).toThrow(/not both/);
    expect(() => loadConfig({ DAILY_BUDGET_NEURONS: "lots" })).toThrow(/DAILY_BUDGET_NEURONS/);
  });

  it("checks TTS_SPEAKER against the chosen Aura model's own voices: aura-1 and aura-2-en differ", () => {
    expect(loadConfig({ TTS_MODEL: "@cf/deepgram/aura-1", TTS_SPEAKER: "asteria" }).models.ttsSpeaker).toBe("asteria");
    expect(loadConfig({ TTS_MODEL: "@cf/deepgram/aura-2-en", TTS_SPEAKER: "amalthea" }).models.ttsSpeaker).toBe("amalthea");
    // An aura-2 voice on aura-1: refused when the configuration loads, with the model's list.
    expect(() => loadConfig({ TTS_MODEL: "@cf/deepgram/aura-1", TTS_SPEAKER: "amalthea" })).toThrow(
      /TTS_SPEAKER: @cf\/deepgram\/aura-1 has no voice "amalthea"; its voices: angus, asteria/,
    );
    expect(() => loadConfig({ TTS_MODEL: "@cf/deepgram/aura-2-es", TTS_SPEAKER: "luna" })).toThrow(/aura-2-es has no voice "luna"/);
    // melotts takes no speaker at all.
    expect(() => loadConfig({ TTS_SPEAKER: "asteria" })).toThrow(/melotts has no speaker choice/);
  });

  it("reads the interruption settings and replaces one language's backchannel list", () => {
    const c = loadConfig({
      MIN_INTERRUPTION_MS: "650",
      MIN_INTERRUPTION_WORDS: "2",
      FALSE_INTERRUPTION_TIMEOUT_MS: "2000",
      BACKCHANNELS_FR: " Oui, d'accord ,Ouais ",
    });
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

  it("reads the flood limits and the ready budget, and rejects ones out of range", () => {
    expect(loadConfig({}).limits).toMatchObject({
      messagesPerSecond: 50,
      sessionMessagesPerSecond: 100,
      closeAfterMs: 1_000,
      readyHistoryBytes: 256 * 1024,
      idleCloseMs: 600_000,
    });
    expect(loadConfig({ IDLE_CLOSE_MS: "0" }).limits.idleCloseMs).toBe(0);
    expect(() => loadConfig({ IDLE_CLOSE_MS: "-1" })).toThrow(/IDLE_CLOSE_MS/);
    const c = loadConfig({
      MESSAGES_PER_SECOND: "5",
      IP_MESSAGES_PER_SECOND: "7",
      SESSION_MESSAGES_PER_SECOND: "9",
      SESSION_AUDIO_REALTIME_FACTOR: "3",
      RATE_LIMIT_GRACE_MS: "250",
      RATE_LIMIT_CLOSE_AFTER_DROPS: "40",
      READY_HISTORY_BYTES: "4096",
    });
    expect(c.limits).toMatchObject({
      messagesPerSecond: 5,
      ipMessagesPerSecond: 7,
      sessionMessagesPerSecond: 9,
      sessionAudioRealtimeFactor: 3,
      closeAfterMs: 250,
      closeAfterDrops: 40,
      readyHistoryBytes: 4096,
    });
    expect(() => loadConfig({ READY_HISTORY_BYTES: String(2 * 1024 * 1024) })).toThrow(/READY_HISTORY_BYTES/);
    expect(() => loadConfig({ MESSAGES_PER_SECOND: "0" })).toThrow(/MESSAGES_PER_SECOND/);
  });

  it("records audio by default offline and with the fake (local development), not on Workers AI unless RECORD_AUDIO=true; keeps recordings 30 days", () => {
    expect(loadConfig({}).recordings).toEqual({ enabled: false, retentionDays: 30 });
    expect(loadConfig({ RECORD_AUDIO: "true" }).recordings.enabled).toBe(true);
    expect(loadConfig({ AI_BACKEND: "local" }).recordings.enabled).toBe(true);
    expect(loadConfig({ AI_BACKEND: "fake" }).recordings.enabled).toBe(true);
    expect(loadConfig({ AI_BACKEND: "local", RECORD_AUDIO: "false" }).recordings.enabled).toBe(false);
    expect(loadConfig({ RECORDING_RETENTION_DAYS: "0" }).recordings.retentionDays).toBe(0);
    expect(() => loadConfig({ RECORD_AUDIO: "yes" })).toThrow(/RECORD_AUDIO/);
    expect(() => loadConfig({ RECORDING_RETENTION_DAYS: "-1" })).toThrow(/RECORDING_RETENTION_DAYS/);
  });
});
