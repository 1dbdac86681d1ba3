import { describe, expect, it } from "vitest";
import { primaryLanguage } from "../../../../server/speech-to-text/language.ts";
import { BackchannelMatcher, DEFAULT_BACKCHANNELS } from "../../../../server/interruption/backchannels.ts";

describe("primaryLanguage", () => {
  it.each([
    ["en", "en"],
    ["en-US", "en"],
    ["fr_CA", "fr"],
    ["yue", "yue"],
    ["yue-Hant-HK", "yue"],
    ["fil-PH", "fil"],
    ["DE", "de"],
  ])("%s -> %s (a three-letter code is kept whole)", (tag, expected) => {
    expect(primaryLanguage(tag)).toBe(expected);
  });

  it("a three-letter language is not mistaken for the two-letter one it starts with", () => {
    // "fil" (Filipino) must not pick up Finnish lists, and falls back to English ones.
    const lists = { ...DEFAULT_BACKCHANNELS, fi: ["joo"] };
    expect(BackchannelMatcher.forLanguage(lists, "fil").mark(["joo"])).toEqual([false]);
    expect(BackchannelMatcher.forLanguage(lists, "fil").mark(["okay"])).toEqual([true]);
    expect(BackchannelMatcher.forLanguage(lists, "fi-FI").mark(["joo"])).toEqual([true]);
  });
});
