import { describe, expect, it } from "vitest";
import { Resampler } from "../../../../shared/audio/resampler.ts";
import { sine, toneLevel } from "../../../support/test-audio.ts";
import { concatArrays } from "../../../../shared/typed-arrays.ts";

const tone = (freq: number, rate: number, seconds: number, amp = 0.5) => {
  const n = Math.round(rate * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
};
const rms = (x: Float32Array, from = 0, to = x.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (to - from));
};
const db = (ratio: number) => 20 * Math.log10(ratio);

/** Frequency from the mean period between interpolated upward zero crossings. */
function zeroCrossingFrequency(x: Float32Array, rate: number, from: number, to: number): number {
  const crossings: number[] = [];
  for (let i = from + 1; i < to; i++) {
    const a = x[i - 1]!;
    const b = x[i]!;
    if (a < 0 && b >= 0) crossings.push(i - 1 + -a / (b - a));
  }
  const periods = crossings.length - 1;
  return (periods * rate) / (crossings[crossings.length - 1]! - crossings[0]!);
}

/** Stream `input` through a resampler in pseudo-random block sizes (like worklet render quanta and more). */
function streamed(input: Float32Array, inRate: number, outRate: number, seed = 1): Float32Array {
  const r = new Resampler(inRate, outRate);
  const parts: Float32Array[] = [];
  let s = seed;
  for (let off = 0; off < input.length;) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const size = 1 + (s % 700);
    parts.push(r.process(input.subarray(off, off + size)).slice());
    off += size;
  }
  parts.push(r.flush());
  return concatArrays(Float32Array, parts);
}

describe("Resampler (capture: context rate -> 16 kHz)", () => {
  for (const inRate of [48_000, 44_100]) {
    it(`keeps a 1 kHz tone's frequency, level and phase from ${inRate} Hz (ratio ${inRate / 16_000})`, () => {
      const input = tone(1000, inRate, 1);
      const out = Resampler.convert(input, inRate, 16_000);
      expect(out.length).toBe(16_000);
      // Ignore the edges (the signal starts and stops abruptly).
      const from = 400;
      const to = out.length - 400;
      expect(Math.abs(db(rms(out, from, to) / rms(input)))).toBeLessThan(0.05);
      expect(zeroCrossingFrequency(out, 16_000, from, to)).toBeCloseTo(1000, 1);
      // Sample-by-sample against the ideal tone at the output instants: the residual is tiny, so
      // there is no delay, no drift and no distortion.
      const ideal = tone(1000, 16_000, 1);
      const residual = new Float32Array(to - from);
      for (let i = from; i < to; i++) residual[i - from] = out[i]! - ideal[i]!;
      expect(db(rms(residual) / rms(ideal, from, to))).toBeLessThan(-60);
    });

    it(`passes speech-band tones flat and attenuates content above 8 kHz from ${inRate} Hz`, () => {
      for (const f of [200, 3000, 6000]) {
        const out = Resampler.convert(tone(f, inRate, 0.5), inRate, 16_000);
        expect(Math.abs(db(rms(out, 400, out.length - 400) / rms(tone(f, 16_000, 0.5))))).toBeLessThan(0.1);
      }
      for (const f of [8_000, 9_000, 12_000, 15_000, 20_000]) {
        const input = tone(f, inRate, 0.5);
        const out = Resampler.convert(input, inRate, 16_000);
        // Would alias to 16k - f; must be at least 60 dB down instead.
        expect(db(rms(out, 400, out.length - 400) / rms(input))).toBeLessThan(-60);
      }
    });

    it(`gives the same output however the input is split into blocks (${inRate} Hz)`, () => {
      const input = new Float32Array(inRate);
      for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.01) * 0.3 + Math.sin(i * 0.37) * 0.2;
      const whole = Resampler.convert(input, inRate, 16_000);
      for (const seed of [1, 7, 42]) {
        const parts = streamed(input, inRate, 16_000, seed);
        expect(parts.length).toBe(whole.length);
        let maxDiff = 0;
        for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(parts[i]! - whole[i]!));
        expect(maxDiff).toBeLessThan(1e-6);
      }
    });
  }

  it("does not drift over a long stream at a fractional ratio (44.1 kHz, 2 minutes of 128-sample quanta)", () => {
    const r = new Resampler(44_100, 16_000);
    const block = new Float32Array(128);
    let produced = 0;
    const quanta = Math.round((44_100 * 120) / 128);
    for (let q = 0; q < quanta; q++) produced += r.process(block).length;
    const expected = (quanta * 128 * 16_000) / 44_100;
    // Only the kernel's look-ahead (a few ms) is still pending.
    expect(expected - produced).toBeGreaterThanOrEqual(0);
    expect(expected - produced).toBeLessThan(r.halfWidth * (16_000 / 44_100) + 2);
  });
});

describe("Resampler (playback: server audio -> output rate)", () => {
  for (const [inRate, outRate] of [
    [16_000, 48_000],
    [24_000, 44_100],
    [22_050, 48_000],
    [44_100, 48_000],
  ] as const) {
    it(`keeps a 440 Hz tone from ${inRate} to ${outRate} Hz, with the expected length`, () => {
      const input = tone(440, inRate, 0.5);
      const out = Resampler.convert(input, inRate, outRate);
      expect(out.length).toBe(Math.ceil((input.length * outRate) / inRate));
      const edge = Math.round(outRate * 0.02);
      expect(Math.abs(db(rms(out, edge, out.length - edge) / rms(input)))).toBeLessThan(0.05);
      expect(zeroCrossingFrequency(out, outRate, edge, out.length - edge)).toBeCloseTo(440, 1);
    });
  }

  it("is a pass-through at equal rates", () => {
    const input = tone(1000, 48_000, 0.1);
    expect(Array.from(Resampler.convert(input, 48_000, 48_000))).toEqual(Array.from(input));
  });
});

describe("Resampler.convert (whole files: the offline stand-in)", () => {
  it("keeps a tone in band and its level, at the right length", () => {
    const x = sine(1000, 48000, 0.5);
    const y = Resampler.convert(x, 48000, 16000);
    expect(y.length).toBe(8000);
    expect(toneLevel(y, 1000, 16000)).toBeCloseTo(0.5, 1);
  });

  it("removes content above the new Nyquist instead of aliasing it (48 kHz -> 16 kHz)", () => {
    const x = sine(12000, 48000, 0.5); // would alias to 4 kHz
    const y = Resampler.convert(x, 48000, 16000);
    expect(toneLevel(y, 4000, 16000)).toBeLessThan(0.01);
  });

  it("upsamples 8 kHz to 16 kHz and is the identity at equal rates", () => {
    const x = sine(440, 8000, 0.25);
    const y = Resampler.convert(x, 8000, 16000);
    expect(y.length).toBe(4000);
    expect(toneLevel(y, 440, 16000)).toBeCloseTo(0.5, 1);
    expect(Resampler.convert(x, 8000, 8000)).toEqual(x);
  });
});
