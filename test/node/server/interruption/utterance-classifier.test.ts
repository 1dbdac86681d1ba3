import { describe, expect, it } from "vitest";
import { BackchannelMatcher, DEFAULT_BACKCHANNELS } from "../../../../server/interruption/backchannels.ts";
import { classifyUtterance, echoMatches } from "../../../../server/interruption/utterance-classifier.ts";
import { sameWord, wordsOf } from "../../../../server/interruption/words.ts";

const en = BackchannelMatcher.forLanguage(DEFAULT_BACKCHANNELS, "en");
const PLAYED = "Tomorrow in Paris it will be mostly sunny with a high of twenty two degrees.";
const classify = (text: string, playedText = PLAYED, minWords = 1) =>
  classifyUtterance(text, { backchannels: en, playedText, minWords, echoWordOverlap: 0.5 });

describe("words", () => {
  it("splits hyphenated fillers, drops punctuation and keeps apostrophes", () => {
    expect(wordsOf("Uh-huh. That's  RIGHT!")).toEqual(["uh", "huh", "that's", "right"]);
    expect(wordsOf(" ... ")).toEqual([]);
  });

  it("treats a recogniser's spelling slips in longer words as the same word, short words exactly", () => {
    expect(sameWord("weather", "whether")).toBe(true);
    expect(sameWord("degrees", "degree")).toBe(true);
    expect(sameWord("sunny", "funny")).toBe(true);
    expect(sameWord("no", "so")).toBe(false);
    expect(sameWord("paris", "tuesday")).toBe(false);
  });
});

describe("classifying what the user said over the reply", () => {
  it.each(["Uh-huh.", "uh huh", "Mm-hmm.", "Mmm hmm", "Yeah.", "Okay, okay.", "Right.", "Sure.", "I see.", "Oh, I see."])(
    "%s is a backchannel",
    (text) => {
      expect(classify(text).kind).toBe("backchannel");
    },
  );

  it.each(["Stop.", "Wait, what about Tuesday?", "Can you say that again?", "No, not Paris."])("%s takes the turn", (text) => {
    const c = classify(text);
    expect(c.kind).toBe("speech");
    expect(c.realWords.length).toBeGreaterThanOrEqual(1);
  });

  it("the reply's own words coming back through the microphone are echo, even with recognition slips", () => {
    expect(classify("in Paris it will be mostly sunny")).toMatchObject({ kind: "echo", echoShare: 1 });
    expect(classify("paris it will be mostly funny with a hi").kind).toBe("echo");
  });

  it("a question that shares a word with the reply is still speech", () => {
    const c = classify("Is it going to rain in Paris?");
    expect(c.kind).toBe("speech");
    expect(c.realWords).toEqual(expect.arrayContaining(["rain", "going"]));
  });

  it("an echo tail followed by the user's own words: the user's words count", () => {
    const c = classify("twenty two degrees wait what about tomorrow night");
    expect(c.kind).toBe("speech");
  });

  it("nothing, or only punctuation, is empty (a cough, a click)", () => {
    expect(classify("").kind).toBe("empty");
    expect(classify(" ... ").kind).toBe("empty");
  });

  it("with minInterruptionWords 3, a two-word remark does not take the turn but is kept as a backchannel", () => {
    expect(classify("Hold on.", PLAYED, 3).kind).toBe("backchannel");
    expect(classify("Hold on a second.", PLAYED, 3).kind).toBe("speech");
  });

  it("uses the session language's list and falls back to English", () => {
    const fr = BackchannelMatcher.forLanguage(DEFAULT_BACKCHANNELS, "fr");
    expect(classifyUtterance("D'accord, oui.", { backchannels: fr, playedText: "", minWords: 1, echoWordOverlap: 0.5 }).kind).toBe(
      "backchannel",
    );
    expect(classifyUtterance("Attends, non.", { backchannels: fr, playedText: "", minWords: 1, echoWordOverlap: 0.5 }).kind).toBe("speech");
    const xx = BackchannelMatcher.forLanguage(DEFAULT_BACKCHANNELS, "xx");
    expect(classifyUtterance("okay", { backchannels: xx, playedText: "", minWords: 1, echoWordOverlap: 0.5 }).kind).toBe("backchannel");
  });

  it("aligns in order: the played words out of order do not count as echo", () => {
    const m = echoMatches(wordsOf("degrees paris tomorrow"), wordsOf(PLAYED));
    expect(m.filter(Boolean)).toHaveLength(1);
  });
});

describe("partial transcripts and noise words", () => {
  it("a partial that ends in the start of a backchannel phrase is not decisive yet (I... see)", () => {
    const partial = (text: string) =>
      classifyUtterance(text, { backchannels: en, playedText: PLAYED, minWords: 1, echoWordOverlap: 0.5, partial: true });
    expect(partial("I").kind).not.toBe("speech");
    expect(partial("Oh I").kind).not.toBe("speech");
    expect(partial("I don't").kind).toBe("speech");
    expect(classify("I see.").kind).toBe("backchannel");
  });

  it("a lone function word is how a recogniser reads a noise burst, not a turn", () => {
    expect(classify("If", "").kind).toBe("empty");
    expect(classify("the", "").kind).toBe("empty");
    expect(classify("It is.", "").kind).toBe("empty");
    expect(classify("If it rains?", "").kind).toBe("speech");
    expect(classify("Thank you.", "").kind).toBe("backchannel");
  });
});
