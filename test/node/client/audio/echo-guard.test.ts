// The client's echo-aware barge-in detection: the assistant's own voice coming back through the
// microphone must not count as the user's speech, while the user's voice over it still does.
import { describe, expect, it } from "vitest";
import { EchoGuard } from "../../../../client/audio/echo-guard.ts";
import { SpeechDetector, type SpeechEvent } from "../../../../client/audio/speech-detector.ts";
import { prng } from "../../../support/signals.ts";

const rms = (db: number) => (db <= -200 ? 0 : 10 ** (db / 20));
const sum = (...dbs: number[]) => 10 * Math.log10(dbs.reduce((a, d) => a + 10 ** (d / 10), 0));

/** Frame levels (dBFS) of speech-like playback: syllables swinging ~20 dB around `level`, seeded. */
function speechLevels(frames: number, level: number, seed: number): number[] {
  const r = prng(seed);
  return Array.from({ length: frames }, (_, i) => {
    const syllable = Math.abs(Math.sin((Math.PI * i * 20) / 250)); // 4 syllables a second
    return level + 6 - 22 * (1 - syllable) + (r() - 0.5) * 4;
  });
}

/** The reference the client supplies: the loudest playback level of the last 200 ms. */
function reference(playback: number[], i: number): number {
  let max = -200;
  for (let k = Math.max(0, i - 10); k <= i; k++) max = Math.max(max, playback[k]!);
  return max;
}

interface Run {
  events: (SpeechEvent & { at: number })[];
}

/** Play `playback` while the mic hears its echo (delayed, `echoDb` below) plus room noise and `user` speech. */
function run(d: SpeechDetector, playback: number[], echoDb: number, delayFrames: number, user: (i: number) => number = () => -200): Run {
  const events: Run["events"] = [];
  const r = prng(99);
  for (let i = 0; i < playback.length; i++) {
    const echo = i >= delayFrames ? playback[i - delayFrames]! + echoDb : -200;
    const mic = sum(echo, -62 + r() * 2, user(i));
    const e = d.push(rms(mic), rms(reference(playback, i)));
    if (e) events.push({ ...e, at: i });
  }
  return { events };
}

/** A detector that has heard 1 s of the quiet room; its frame counter is reset so frames match run()'s indices. */
function warmedDetector(): SpeechDetector {
  const d = new SpeechDetector({ minSpeechMs: 80, silenceMs: 300 });
  for (let i = 0; i < 50; i++) d.push(rms(-62));
  d.reset();
  return d;
}

describe("echo guard", () => {
  it("learns the echo gain as a high percentile of mic minus playback, and raises the speech threshold to it", () => {
    const g = new EchoGuard({ learnMs: 200, warmupMs: 0 });
    expect(g.measuredGainDb).toBeNull();
    expect(g.gainDb).toBe(-10); // assumed before it is measured
    const r = prng(3);
    for (let i = 0; i < 100; i++) g.learn(-40 + (r() - 0.5) * 6 - 20, -40 + (r() - 0.5) * 2);
    expect(g.measuredGainDb!).toBeGreaterThan(-21);
    expect(g.measuredGainDb!).toBeLessThan(-16);
    expect(g.thresholdDbfs(-30)).toBeCloseTo(-30 + g.measuredGainDb! + 6, 9);
    expect(g.thresholdDbfs(-200)).toBe(-Infinity); // nothing playing: no echo threshold
  });

  it("uses the assumed loud echo during each reply's warm-up when it is louder than the measured one", () => {
    const g = new EchoGuard({ learnMs: 100, warmupMs: 200 });
    for (let i = 0; i < 20; i++) g.learn(-50, -30);
    expect(g.gainDb).toBe(-20);
    g.startReply();
    expect(g.gainDb).toBe(-10);
    for (let i = 0; i < 10; i++) g.tick();
    expect(g.gainDb).toBe(-20);
  });

  it("an echo proven by the server raises the threshold and decays back by 1 dB a second", () => {
    const g = new EchoGuard({ learnMs: 100, warmupMs: 0 });
    for (let i = 0; i < 20; i++) g.learn(-50, -30);
    g.noteEcho(-8);
    expect(g.gainDb).toBe(-8);
    for (let i = 0; i < 100; i++) g.tick(); // 2 s
    expect(g.gainDb).toBeCloseTo(-10, 6);
  });
});

describe("SpeechDetector over the assistant's own voice", () => {
  const PLAYBACK = speechLevels(600, -22, 7); // 12 s of reply at about -22 dBFS

  for (const delay of [1, 4, 8]) {
    it(`echo of the reply at -20 dB (${delay * 20} ms late) never starts speech`, () => {
      const d = warmedDetector();
      d.echo.startReply();
      const { events } = run(d, PLAYBACK, -20, delay);
      expect(events).toEqual([]);
      expect(d.echo.measuredGainDb!).toBeLessThan(-14);
    });
  }

  it("echo at -10 dB is kept out by the assumed echo during the warm-up and by the measured one after it", () => {
    const d = warmedDetector();
    d.echo.startReply();
    const { events } = run(d, PLAYBACK, -10, 4);
    expect(events.filter((e) => e.type === "start")).toEqual([]);
  });

  it("without the echo guard (no playback reference) the same -20 dB echo would start speech", () => {
    const d = warmedDetector();
    const events: SpeechEvent[] = [];
    for (let i = 4; i < PLAYBACK.length; i++) {
      const e = d.push(rms(sum(PLAYBACK[i - 4]! - 20, -62)));
      if (e) events.push(e);
    }
    expect(events.some((e) => e.type === "start")).toBe(true);
  });

  it("the user talking at a normal level over the reply starts speech within 100 ms, then fires sustained once at 500 ms", () => {
    const d = warmedDetector();
    d.echo.startReply();
    const userFrom = 300; // 6 s into the reply, after the warm-up
    const voice = speechLevels(200, -18, 11);
    const { events } = run(d, PLAYBACK.slice(0, 500), -20, 4, (i) => (i >= userFrom && i < userFrom + 100 ? voice[i - userFrom]! : -200));
    const start = events.find((e) => e.type === "start")!;
    expect(start).toBeDefined();
    expect((start.at - userFrom + 1) * 20).toBeLessThanOrEqual(100);
    // The first voiced frame is the first syllable loud enough to stand out of the echo.
    expect(start.type === "start" && start.frame - userFrom).toBeLessThanOrEqual(2);
    const sustained = events.filter((e) => e.type === "sustained");
    expect(sustained).toHaveLength(1);
    expect(sustained[0]!.type === "sustained" && sustained[0]!.speechMs).toBe(500);
    expect(sustained[0]!.at - (start.type === "start" ? start.frame : 0) + 1).toBe(25);
    expect(events.find((e) => e.type === "end")).toBeDefined();
  });

  it("after the server calls a candidate echo, the same loud echo no longer starts speech", () => {
    const d = warmedDetector();
    d.echo.startReply();
    // A burst of much louder echo than measured (the room changed: the user turned the volume up).
    const loud = (i: number) => (i >= 200 && i < 230 ? PLAYBACK[i - 4]! - 4 : -200);
    const first = run(d, PLAYBACK.slice(0, 260), -20, 4, loud);
    expect(first.events.some((e) => e.type === "start")).toBe(true);
    d.learnEcho();
    const again = run(d, PLAYBACK.slice(0, 260), -20, 4, loud);
    expect(again.events.filter((e) => e.type === "start")).toEqual([]);
  });

  it("does not learn the noise floor from echo: after the reply the floor is still the room's", () => {
    const d = warmedDetector();
    const before = d.noiseFloorDbfs;
    run(d, PLAYBACK, -20, 4);
    expect(Math.abs(d.noiseFloorDbfs - before)).toBeLessThan(1);
  });
});
