import { describe, expect, it } from "vitest";
import { AdaptiveSilence, DEFAULT_ADAPTIVE_SILENCE, MAX_OBSERVED_PAUSE_MS } from "../../../../server/end-of-turn/adaptive-silence.ts";
import { prng } from "../../../support/signals.ts";

/** Pauses spread evenly over [lo, hi], in a seeded random order. */
function pauses(n: number, lo: number, hi: number, seed = 1): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / Math.max(1, n - 1)).sort(() => r() - 0.5);
}

describe("AdaptiveSilence", () => {
  it("has the documented defaults and starts at initialMs", () => {
    expect(DEFAULT_ADAPTIVE_SILENCE).toMatchObject({ minMs: 300, maxMs: 1500, initialMs: 500, marginMs: 150, window: 20, quantile: 0.9 });
    const a = new AdaptiveSilence();
    expect(a.silenceMs).toBe(500);
    expect(a.observations).toBe(0);
  });

  it("converges towards a slow speaker's long pauses plus the margin", () => {
    const a = new AdaptiveSilence();
    for (const p of pauses(40, 600, 1000)) a.observePause(p);
    expect(a.observations).toBe(20); // a window, not the whole history
    // The last 20 span roughly 600..1000: their 90th percentile is near the top.
    expect(a.silenceMs).toBeGreaterThan(900 + 150);
    expect(a.silenceMs).toBeLessThanOrEqual(1000 + 150);
  });

  it("the 90th percentile of 20 pauses of 300..680 ms plus 150 is 792 ms", () => {
    const a = new AdaptiveSilence();
    for (let i = 0; i < 20; i++) a.observePause(300 + 20 * i);
    // Sorted index 0.9 × 19 = 17.1: 640 + 0.1 × 20 = 642.
    expect(a.silenceMs).toBe(792);
  });

  it("follows a brisk speaker down once enough pauses are known, but never below minMs", () => {
    const a = new AdaptiveSilence();
    a.observePause(260);
    a.observePause(270);
    expect(a.silenceMs).toBe(500); // two short pauses are not yet evidence: no lower than initialMs
    a.observePause(280);
    expect(a.silenceMs).toBe(Math.round(278 + 150));
    for (let i = 0; i < 20; i++) a.observePause(1);
    expect(a.silenceMs).toBe(300);
  });

  it("a single long pause raises the silence at once", () => {
    const a = new AdaptiveSilence();
    a.observePause(900);
    expect(a.silenceMs).toBe(1050);
  });

  it("is bounded by maxMs", () => {
    const a = new AdaptiveSilence();
    for (let i = 0; i < 20; i++) a.observePause(3000);
    expect(a.silenceMs).toBe(1500);
    for (let i = 0; i < 10; i++) a.observeCutOff();
    expect(a.silenceMs).toBe(1500);
  });

  it("ignores absurd pauses: negative, zero, NaN, infinite, over 10 s", () => {
    const a = new AdaptiveSilence();
    for (const bad of [-200, 0, Number.NaN, Number.POSITIVE_INFINITY, MAX_OBSERVED_PAUSE_MS + 1, 60_000])
      expect(a.observePause(bad)).toBe(false);
    expect(a.observations).toBe(0);
    expect(a.silenceMs).toBe(500);
    expect(a.observePause(MAX_OBSERVED_PAUSE_MS)).toBe(true);
  });

  it("a cut-off raises the silence by a step, and repeated cut-offs keep raising it", () => {
    const a = new AdaptiveSilence();
    a.observeCutOff();
    expect(a.silenceMs).toBe(650);
    a.observeCutOff();
    expect(a.silenceMs).toBe(800);
  });

  it("a cut-off fades over a window of observed pauses", () => {
    const a = new AdaptiveSilence();
    for (let i = 0; i < 20; i++) a.observePause(400);
    expect(a.silenceMs).toBe(550);
    a.observeCutOff();
    expect(a.silenceMs).toBe(700);
    for (let i = 0; i < 10; i++) a.observePause(400);
    expect(a.silenceMs).toBe(625);
    for (let i = 0; i < 10; i++) a.observePause(400);
    expect(a.silenceMs).toBe(550);
  });

  it("round-trips through JSON: a restored copy gives the same silence and learns on", () => {
    const a = new AdaptiveSilence();
    for (const p of pauses(12, 400, 900, 3)) a.observePause(p);
    a.observeCutOff();
    const b = AdaptiveSilence.restore(JSON.parse(JSON.stringify(a)));
    expect(b.silenceMs).toBe(a.silenceMs);
    expect(b.toJSON()).toEqual(a.toJSON());
    a.observePause(1200);
    b.observePause(1200);
    expect(b.silenceMs).toBe(a.silenceMs);
  });

  it.each([
    ["null", null],
    ["a string", "fast"],
    ["a wrong version", { version: 2, pausesMs: [900], cutOffBumpMs: 0 }],
    ["no pauses field", { version: 1, cutOffBumpMs: 0 }],
    ["pauses that are not numbers", { version: 1, pausesMs: ["900"], cutOffBumpMs: 0 }],
    ["a negative bump", { version: 1, pausesMs: [900], cutOffBumpMs: -50 }],
  ])("a bad stored state (%s) starts fresh", (_, state) => {
    const a = AdaptiveSilence.restore(state);
    expect(a.observations).toBe(0);
    expect(a.silenceMs).toBe(500);
  });

  it("restoring drops implausible pauses, keeps the newest window, and caps the bump", () => {
    const a = AdaptiveSilence.restore({
      version: 1,
      pausesMs: [-5, 99_999, ...Array.from({ length: 30 }, (_, i) => 100 + i)],
      cutOffBumpMs: 1e9,
    });
    expect(a.toJSON().pausesMs).toEqual(Array.from({ length: 20 }, (_, i) => 110 + i));
    expect(a.toJSON().cutOffBumpMs).toBe(1200); // maxMs − minMs: more could never show
    expect(a.silenceMs).toBe(Math.round(127.1 + 150 + 1200));
  });

  it("restore applies the options it is given", () => {
    const a = AdaptiveSilence.restore({ version: 1, pausesMs: [2000, 2000, 2000], cutOffBumpMs: 0 }, { maxMs: 1000 });
    expect(a.silenceMs).toBe(1000);
  });

  it("rejects nonsense options", () => {
    expect(() => new AdaptiveSilence({ minMs: 800, maxMs: 400 })).toThrow(/minMs/);
    expect(() => new AdaptiveSilence({ marginMs: Number.NaN })).toThrow(/marginMs/);
    expect(() => new AdaptiveSilence({ quantile: 2 })).toThrow(/quantile/);
    expect(() => new AdaptiveSilence({ window: 0 })).toThrow(/window/);
  });
});
