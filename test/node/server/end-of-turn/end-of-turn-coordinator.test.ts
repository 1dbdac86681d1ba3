// The end-of-turn coordinator assisting Flux (recognition.flux.forceEnd): Flux's words that read as
// finished start a held reply at the pause and end the utterance after the user's learned silence (at
// least 600 ms), which the Durable Object turns into a ForceEndTurn; unfinished words are left to Flux.
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../../server/config.ts";
import { AdaptiveSilence } from "../../../../server/end-of-turn/adaptive-silence.ts";
import { EndOfTurnCoordinator } from "../../../../server/end-of-turn/end-of-turn-coordinator.ts";
import { FLUX_FORCE_MIN_SILENCE_MS, fluxForceSilenceMs } from "../../../../server/end-of-turn/end-of-turn-policy.ts";
import { TurnDetector, type TurnEndEvent, type TurnEvent } from "../../../../server/turn-detection/turn-detector.ts";
import { syllables } from "../../../support/signals.ts";

const FRAME = 320;
const silence = (ms: number) => new Int16Array((ms * 16_000) / 1000);

function harness(words: { text: string }, adaptive = new AdaptiveSilence()) {
  const detector = new TurnDetector(DEFAULT_CONFIG.turnDetection);
  const log = { speculations: [] as string[], cancels: 0, endedNow: [] as TurnEndEvent[] };
  const eot = new EndOfTurnCoordinator({
    // The fake backend's "silence" detector: with Flux, Parley judges the words whatever this says.
    config: { ...DEFAULT_CONFIG.endOfTurn, detector: "silence" },
    detector,
    adaptive,
    smartTurn: () => Promise.reject(new Error("smart-turn is not asked with Flux")),
    liveText: () => words.text,
    language: () => "en",
    assistsFlux: () => true,
    speculate: () => log.speculations.push(words.text),
    cancelSpeculation: () => log.cancels++,
    endNow: (e) => log.endedNow.push(e),
  });
  /** Feed audio in 20 ms frames; returns the sources of the utterance ends (onTurnEnd), and the ms of audio at each. */
  const ends: { by: string; atMs: number }[] = [];
  let ms = 0;
  const feed = (pcm: Int16Array) => {
    for (let i = 0; i + FRAME <= pcm.length; i += FRAME) {
      ms += 20;
      for (const e of detector.push(pcm.slice(i, i + FRAME), "hands-free") as TurnEvent[]) {
        if (e.type === "pause") eot.onPause(e);
        else if (e.type === "resume") eot.onResume(e.pauseMs);
        else if (e.type === "turn-end") ends.push({ by: eot.onTurnEnd(e), atMs: ms });
      }
    }
  };
  return { detector, eot, log, ends, feed, now: () => ms };
}

describe("fluxForceSilenceMs", () => {
  it("forces only finished words, after the learned silence but never before 600 ms nor after maxSilenceMs", () => {
    const o = { maxSilenceMs: 1800 };
    expect(FLUX_FORCE_MIN_SILENCE_MS).toBe(600);
    expect(fluxForceSilenceMs("complete", 500, o)).toBe(600);
    expect(fluxForceSilenceMs("complete", 900, o)).toBe(900);
    expect(fluxForceSilenceMs("complete", 5000, o)).toBe(1800);
    expect(fluxForceSilenceMs("complete", Number.NaN, o)).toBe(1800);
    expect(fluxForceSilenceMs("incomplete", 500, o)).toBeNull();
    expect(fluxForceSilenceMs("unknown", 500, o)).toBeNull();
  });
});

describe("EndOfTurnCoordinator assisting Flux", () => {
  it("finished words hold a reply at the pause and end the utterance at 600 ms of silence, decided by the transcript", () => {
    const h = harness({ text: "tell me a joke" });
    h.feed(syllables(900, -20));
    const speechEnd = h.now();
    h.feed(silence(300));
    expect(h.log.speculations).toEqual(["tell me a joke"]);
    expect(h.ends).toEqual([]);
    h.feed(silence(500));
    expect(h.ends).toHaveLength(1);
    expect(h.ends[0]!.by).toBe("transcript");
    // The detector's silence is counted from its last voiced frame (within a frame or two of the signal's end).
    expect(h.ends[0]!.atMs - speechEnd).toBeGreaterThanOrEqual(580);
    expect(h.ends[0]!.atMs - speechEnd).toBeLessThanOrEqual(700);
  });

  it("unfinished words start nothing and are left to Flux: the utterance stays open up to maxSilenceMs, ended by plain silence", () => {
    const h = harness({ text: "set a timer for" });
    h.feed(syllables(900, -20));
    h.feed(silence(1_200));
    expect(h.log.speculations).toEqual([]);
    expect(h.ends).toEqual([]);
    h.feed(silence(800));
    expect(h.ends.map((e) => e.by)).toEqual(["silence"]);
  });

  it("words that catch up during the pause are judged again: the held reply starts when they read as finished", () => {
    const words = { text: "what is the" };
    const h = harness(words);
    h.feed(syllables(900, -20));
    h.feed(silence(300));
    expect(h.log.speculations).toEqual([]);
    words.text = "what is the weather";
    h.eot.onWordsHeard();
    expect(h.log.speculations).toEqual(["what is the weather"]);
    h.feed(silence(400));
    expect(h.ends.map((e) => e.by)).toEqual(["transcript"]);
  });

  it("words arriving after a silence already longer than the force point end the utterance at once", () => {
    const words = { text: "what is the" };
    const h = harness(words);
    h.feed(syllables(900, -20));
    h.feed(silence(700));
    expect(h.ends).toEqual([]);
    words.text = "what is the weather";
    h.eot.onWordsHeard();
    expect(h.log.endedNow).toHaveLength(1);
  });

  it("speech coming back cancels the held reply and teaches the adaptive silence", () => {
    const adaptive = new AdaptiveSilence();
    const h = harness({ text: "tell me a joke" }, adaptive);
    h.feed(syllables(900, -20));
    h.feed(silence(400));
    expect(h.log.speculations).toHaveLength(1);
    h.feed(syllables(600, -20));
    expect(h.log.cancels).toBe(1);
    expect(adaptive.observations).toBe(1);
    expect(h.ends).toEqual([]);
  });
});
