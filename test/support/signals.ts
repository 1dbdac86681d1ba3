// Deterministic 16 kHz mono PCM16 test signals, shared by unit and Worker tests (no Node or Cloudflare imports).
import { concatArrays } from "../../shared/typed-arrays.ts";

export const SAMPLE_RATE = 16_000;

const samples = (ms: number) => Math.round((ms * SAMPLE_RATE) / 1000);

/** mulberry32: a small seeded PRNG in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const fullScale = (dbfs: number) => 10 ** (dbfs / 20) * 32768;

export const silence = (ms: number) => new Int16Array(samples(ms));

/** Sine whose RMS is `dbfs`. */
export function tone(ms: number, dbfs: number, hz = 440): Int16Array {
  const out = new Int16Array(samples(ms));
  const a = fullScale(dbfs) * Math.SQRT2;
  for (let i = 0; i < out.length; i++) out[i] = Math.round(a * Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE));
  return out;
}

/** Uniform white noise whose RMS is `dbfs`. */
export function noise(ms: number, dbfs: number, seed: number): Int16Array {
  const r = prng(seed);
  const out = new Int16Array(samples(ms));
  const a = fullScale(dbfs) * Math.sqrt(3);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((r() * 2 - 1) * a);
  return out;
}

/** Voiced-speech stand-in: 150 Hz harmonics with a 4 Hz syllable envelope (frame levels swing ~16 dB). */
export function syllables(ms: number, dbfs: number): Int16Array {
  const out = new Int16Array(samples(ms));
  const a = (fullScale(dbfs) * Math.SQRT2) / 1.5;
  for (let i = 0; i < out.length; i++) {
    const t = i / SAMPLE_RATE;
    const env = 0.1 + 0.9 * Math.abs(Math.sin(Math.PI * 4 * t));
    let s = 0;
    for (let h = 1; h <= 4; h++) s += Math.sin(2 * Math.PI * 150 * h * t) / h;
    out[i] = Math.round(a * env * s);
  }
  return out;
}

export const concat = (...parts: Int16Array[]): Int16Array => concatArrays(Int16Array, parts);

/** Sample-wise sum of two signals, clipped to PCM16. */
export function mix(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.max(-32768, Math.min(32767, a[i]! + (b[i] ?? 0)));
  return out;
}

/** Syllabic speech at -20 dBFS over the room's faint noise. */
export const speech = (ms: number, seed = 1): Int16Array => mix(syllables(ms, -20), noise(ms, -70, seed));

/** The room between words: faint noise at -70 dBFS. */
export const roomTone = (ms: number, seed = 2): Int16Array => noise(ms, -70, seed);

/** A spoken-turn stand-in: faint noise, `speechMs` of syllabic speech, then `silenceMs` of faint noise. */
export function utterance(speechMs = 1000, silenceMs = 900, seed = 1, leadMs = 300): Int16Array {
  return concat(roomTone(leadMs, seed), speech(speechMs, seed + 1), roomTone(silenceMs, seed + 2));
}
