import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, WORDS_PAUSE_MS } from "../../../../server/config.ts";
import {
  TRANSCRIPT_COMPLETE_MAX_SILENCE_MS,
  silenceToEndMs,
  validateEndOfTurnOptions,
  type Completeness,
  type VerdictSource,
} from "../../../../server/end-of-turn/end-of-turn-policy.ts";

/** The settings of a session whose words are judged (pause and complete silence at the words' 250 ms). */
const o = { ...DEFAULT_CONFIG.endOfTurn, pauseMs: WORDS_PAUSE_MS, completeSilenceMs: WORDS_PAUSE_MS };

describe("silenceToEndMs", () => {
  it("has the documented defaults", () => {
    expect(DEFAULT_CONFIG.endOfTurn).toMatchObject({
      pauseMs: 200,
      completeSilenceMs: 200,
      maxSilenceMs: 1800,
      smartTurnThreshold: 0.5,
      smartTurnTimeoutMs: 400,
    });
    expect(WORDS_PAUSE_MS).toBe(250);
    expect(TRANSCRIPT_COMPLETE_MAX_SILENCE_MS).toBe(400);
  });

  // verdict, source, learned silence -> total silence that ends the turn
  it.each<[Completeness, VerdictSource, number, number]>([
    ["complete", "smart-turn", 700, 250], // the model says done: end at the mark
    ["complete", "smart-turn", 300, 250],
    ["complete", "transcript", 700, 400], // words are a weaker signal: shorten, but not to the mark
    ["complete", "transcript", 320, 320], // ...and never longer than the learned silence
    ["complete", "transcript", 200, 250], // ...nor shorter than completeSilenceMs
    ["incomplete", "smart-turn", 500, 1800], // keep listening up to the maximum
    ["incomplete", "transcript", 500, 1800],
    ["unknown", "smart-turn", 650, 650], // no verdict: plain adaptive silence
    ["unknown", "transcript", 650, 650],
    ["complete", "none", 650, 650], // no judge (error, too slow): the verdict is ignored
    ["incomplete", "none", 650, 650],
    ["unknown", "none", 100, 250], // never below the pause mark
    ["unknown", "none", 5000, 1800], // never above the maximum
  ])("%s from %s with %i ms learned waits %i ms", (verdict, source, learned, expected) => {
    expect(silenceToEndMs(verdict, source, learned, o)).toBe(expected);
  });

  it("a learned silence that is not a number waits the maximum rather than cutting anyone off", () => {
    expect(silenceToEndMs("unknown", "none", Number.NaN, o)).toBe(1800);
    expect(silenceToEndMs("complete", "transcript", Number.NaN, o)).toBe(400);
  });

  it("follows the options it is given", () => {
    const custom = { ...o, pauseMs: 300, completeSilenceMs: 200, maxSilenceMs: 1000 };
    expect(silenceToEndMs("complete", "smart-turn", 600, custom)).toBe(300); // completeSilenceMs below the mark: the mark
    expect(silenceToEndMs("incomplete", "transcript", 600, custom)).toBe(1000);
    expect(silenceToEndMs("unknown", "none", 1200, custom)).toBe(1000);
  });
});

describe("validateEndOfTurnOptions", () => {
  it("accepts the defaults", () => {
    expect(() => validateEndOfTurnOptions(o)).not.toThrow();
  });

  it("names the option that makes no sense", () => {
    expect(() => validateEndOfTurnOptions({ ...o, pauseMs: 0 })).toThrow(/pauseMs/);
    expect(() => validateEndOfTurnOptions({ ...o, maxSilenceMs: Number.NaN })).toThrow(/maxSilenceMs/);
    expect(() => validateEndOfTurnOptions({ ...o, smartTurnThreshold: 1.2 })).toThrow(/smartTurnThreshold/);
    expect(() => validateEndOfTurnOptions({ ...o, smartTurnTimeoutMs: -1 })).toThrow(/smartTurnTimeoutMs/);
    expect(() => validateEndOfTurnOptions({ ...o, pauseMs: 900, maxSilenceMs: 800 })).toThrow(/maxSilenceMs/);
  });
});
