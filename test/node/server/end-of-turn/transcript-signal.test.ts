import { describe, expect, it } from "vitest";
import { judgeTranscript } from "../../../../server/end-of-turn/transcript-signal.ts";

const cases = (language: string, verdict: "complete" | "incomplete" | "unknown", phrases: string[]) =>
  it.each(phrases)(`${language}: %j is ${verdict}`, (text) => expect(judgeTranscript(text, language)).toBe(verdict));

describe("judgeTranscript: English, as PocketSphinx writes it (lower case, no punctuation)", () => {
  cases("en", "incomplete", [
    "what's the weather in",
    "set a timer for",
    "i want to um",
    "and",
    "tell me about",
    "remind me to call my",
    "play some music by the",
    "i would like",
    "can you help me with",
    "what is the capital of",
    "uh",
    "so",
    "i was going to ask you because",
  ]);
  cases("en", "complete", [
    "tell me a joke",
    "what time is it",
    "turn the lights on",
    "turn it off",
    "i know where it is",
    "can you repeat that",
    "i think so",
    "ten minutes or so",
    "whatever you like",
    "thank you very much",
  ]);
  cases("en", "unknown", ["", "   ", "hello", "yes", "okay"]);
});

describe("judgeTranscript: punctuation (Whisper)", () => {
  cases("en", "complete", [
    "What time is it?",
    "Tell me a joke.",
    "Stop!",
    "Yes.",
    "What are you looking for?",
    "Where are you from.",
    '"Tell me a joke."',
  ]);
  cases("en", "incomplete", [
    "I want to go to the,",
    "Well, I was thinking...",
    "So I was thinking…",
    "Set a timer for -",
    "My list is:",
    "I want the.", // Whisper ends fragments with a period; no sentence ends on "the"
    "Coffee and.",
    "Um.",
  ]);
  it("a question mark wins over a word that cannot end a statement ('And?')", () => {
    expect(judgeTranscript("And?", "en")).toBe("complete");
  });
  it("a period after a stranded preposition is complete ('That's what it is for.')", () => {
    expect(judgeTranscript("That's what it is for.", "en")).toBe("complete");
    expect(judgeTranscript("that's what it is for", "en")).toBe("incomplete"); // without the period, words alone err towards waiting
  });
  it("nothing but punctuation is unknown", () => {
    expect(judgeTranscript("...", "en")).toBe("unknown");
    expect(judgeTranscript("?", "en")).toBe("unknown");
  });
});

describe("judgeTranscript: other languages", () => {
  cases("fr", "incomplete", [
    "quel temps fait-il à",
    "je voudrais aller chez le",
    "mets un minuteur pour",
    "et",
    "je pense que",
    "euh",
    "il fait beau mais",
  ]);
  cases("fr", "complete", ["raconte-moi une blague", "quelle heure est-il", "Quelle heure est-il ?", "il fait beau aujourd'hui"]);
  cases("de", "incomplete", ["wie ist das wetter in", "stell einen timer für", "ich möchte einen", "und", "ähm", "ich glaube dass"]);
  cases("de", "complete", ["erzähl mir einen witz", "mach das licht an", "kommst du mit", "ich mag das", "Wie spät ist es?"]);
  cases("es", "incomplete", ["qué tiempo hace en", "pon un temporizador para", "quiero una", "y", "eh", "creo que"]);
  cases("es", "complete", ["cuéntame un chiste", "qué hora es", "¿Qué hora es?", "creo que si"]);
  it("a region in the language tag is ignored ('en-US', 'fr_FR')", () => {
    expect(judgeTranscript("set a timer for", "en-US")).toBe("incomplete");
    expect(judgeTranscript("mets un minuteur pour", "fr_FR")).toBe("incomplete");
    expect(judgeTranscript("set a timer for", "EN")).toBe("incomplete");
  });
  it("the lists belong to their language: English 'the' means nothing in German", () => {
    expect(judgeTranscript("ich sehe the", "de")).toBe("complete");
  });
});

describe("judgeTranscript: unknown languages go by punctuation only", () => {
  cases("ja", "complete", ["今何時ですか？", "はい。"]);
  cases("ja", "incomplete", ["えっと、", "それは…"]);
  cases("nl", "complete", ["Hoe laat is het?", "Vertel een grap."]);
  cases("nl", "incomplete", ["Zet een timer voor,"]);
  cases("nl", "unknown", ["zet een timer voor", "vertel een grap", ""]);
});
