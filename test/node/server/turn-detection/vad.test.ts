import { describe, expect, it } from "vitest";
import { DEFAULT_VAD, EnergyVad } from "../../../../server/turn-detection/vad.ts";
import { concat, mix, noise, silence, syllables, tone } from "../../../support/signals.ts";

const FRAME = 320;

/** Per-frame decisions as a string ("#" voiced, "." not) plus the floor after each frame. */
function run(vad: EnergyVad, pcm: Int16Array): { trace: string; floors: number[] } {
  let trace = "";
  const floors: number[] = [];
  for (let i = 0; i + FRAME <= pcm.length; i += FRAME) {
    trace += vad.process(pcm, i) ? "#" : ".";
    floors.push(vad.noiseFloorDbfs);
  }
  return { trace, floors };
}
// ------------------------------------------------------------------------------------------------

describe("EnergyVad", () => {
  it("uses 20 ms frames of 320 samples at 16 kHz by default", () => {
    const vad = new EnergyVad();
    expect(vad.frameSamples).toBe(320);
    expect(DEFAULT_VAD.speechThresholdDb).toBe(12);
    expect(DEFAULT_VAD.minSpeechDbfs).toBe(-50);
  });

  it("digital silence and low mic noise are never speech", () => {
    expect(run(new EnergyVad(), silence(2000)).trace).not.toContain("#");
    expect(run(new EnergyVad(), noise(2000, -65, 1)).trace).not.toContain("#");
  });

  it("a 440 Hz tone after silence is speech from its first frame and stops with it", () => {
    const { trace } = run(new EnergyVad(), concat(silence(1000), tone(500, -20), silence(500)));
    expect(trace).toBe(".".repeat(50) + "#".repeat(25) + ".".repeat(25));
  });

  it("constant background noise from the start sets the floor and is not speech", () => {
    const vad = new EnergyVad();
    const { trace } = run(vad, noise(5000, -35, 2));
    expect(trace).not.toContain("#");
    expect(vad.noiseFloorDbfs).toBeGreaterThan(-37);
    expect(vad.noiseFloorDbfs).toBeLessThan(-34);
  });

  it("a sudden step of steady noise raises the floor within ~3 s, after which it is not speech", () => {
    const vad = new EnergyVad();
    const { trace, floors } = run(vad, concat(noise(1000, -75, 3), noise(8000, -40, 4)));
    const afterStep = trace.slice(50);
    const lastVoiced = afterStep.lastIndexOf("#");
    expect(lastVoiced).toBeGreaterThan(0); // the step itself looks like speech at first...
    expect(lastVoiced * 20).toBeLessThan(3500); // ...but is absorbed
    expect(afterStep.slice(lastVoiced + 1)).toMatch(/^\.+$/);
    expect(floors.at(-1)!).toBeGreaterThan(-42);
    // While the room was quiet the floor sat at the quiet level.
    expect(floors[49]!).toBeLessThan(-72);
  });

  it("a tone 20 dB above background noise is speech; one 6 dB above it is not", () => {
    const bg = noise(3000, -50, 5);
    const loud = run(new EnergyVad(), mix(bg, concat(silence(1000), tone(1000, -30), silence(1000)))).trace;
    expect(loud.slice(50, 100)).toBe("#".repeat(50));
    const faint = run(new EnergyVad(), mix(bg, concat(silence(1000), tone(1000, -44), silence(1000)))).trace;
    expect(faint).not.toContain("#");
  });

  it("a tone below the absolute minimum (-50 dBFS) is not speech even over digital silence", () => {
    expect(run(new EnergyVad(), concat(silence(500), tone(1000, -56))).trace).not.toContain("#");
    expect(run(new EnergyVad({ minSpeechDbfs: -60 }), concat(silence(500), tone(1000, -56))).trace).toContain("#");
  });

  it("hysteresis: a level between the continue and start thresholds keeps speech going but does not start it", () => {
    // Floor pinned at -60 by quiet noise; start needs -48, continue needs -52 (12 - 4 dB).
    const bg = (ms: number, seed: number) => noise(ms, -60, seed);
    const between = -50;
    const continued = run(new EnergyVad(), concat(bg(1000, 6), mix(tone(300, -30), bg(300, 7)), mix(tone(300, between), bg(300, 8)))).trace;
    expect(continued.slice(50, 65)).toBe("#".repeat(15));
    expect(continued.slice(65, 80)).toBe("#".repeat(15));
    const notStarted = run(new EnergyVad(), concat(bg(1000, 9), mix(tone(300, between), bg(300, 10)))).trace;
    expect(notStarted).not.toContain("#");
  });

  it("syllabic speech keeps being detected for 12 s: the floor stays below its dips", () => {
    const vad = new EnergyVad();
    const { trace, floors } = run(vad, mix(concat(silence(500), syllables(12000, -25)), noise(12500, -70, 11)));
    const lastSecond = trace.slice(-50);
    expect(lastSecond.split("#").length - 1).toBeGreaterThan(30);
    expect(Math.max(...floors)).toBeLessThan(-40);
  });

  it("ignores a DC offset (a constant sample value is not energy)", () => {
    const dc = new Int16Array(16000).fill(8000);
    expect(run(new EnergyVad(), concat(silence(200), dc)).trace).not.toContain("#");
  });

  it("reads the frame at the given offset and rejects a frame past the end", () => {
    const vad = new EnergyVad();
    const pcm = concat(silence(20), tone(20, -20));
    expect(vad.process(pcm, 0)).toBe(false);
    expect(vad.process(pcm, 320)).toBe(true);
    expect(vad.levelDbfs).toBeCloseTo(-20, 0);
    expect(() => vad.process(pcm, 321)).toThrow(RangeError);
  });

  it("reset() forgets the floor so the next frame seeds it again", () => {
    const vad = new EnergyVad();
    run(vad, noise(1000, -30, 12));
    expect(vad.noiseFloorDbfs).toBeGreaterThan(-33);
    vad.reset();
    expect(Number.isNaN(vad.noiseFloorDbfs)).toBe(true);
    run(vad, silence(100));
    expect(vad.noiseFloorDbfs).toBeLessThan(-90);
  });

  it("rejects nonsense options", () => {
    expect(() => new EnergyVad({ frameMs: 0 })).toThrow(/frameMs/);
    expect(() => new EnergyVad({ speechThresholdDb: -1 })).toThrow(/speechThresholdDb/);
    expect(() => new EnergyVad({ minSpeechDbfs: Number.NaN })).toThrow(/minSpeechDbfs/);
  });
});
