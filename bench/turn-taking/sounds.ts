// Non-speech sounds of the turn-taking scenarios, synthesized from seeds (no fixtures, no sox
// process: a cough or a door is filtered noise under an envelope, a few lines each, and a seeded
// PRNG makes every run identical). Samples are full-scale floats (-1..1) at 16 kHz.
import { prng } from "../../test/support/signals.ts";
import { SAMPLE_RATE } from "./speech-timing.ts";

const amplitude = (dbfs: number) => 10 ** (dbfs / 20);

/** Continuous pink noise (Paul Kellet's economy filter over white noise) at about `dbfs` RMS: the room. */
export class PinkNoise {
  private readonly random: () => number;
  private readonly gain: number;
  private b0 = 0;
  private b1 = 0;
  private b2 = 0;

  constructor(seed: number, dbfs = -60) {
    this.random = prng(seed);
    this.gain = amplitude(dbfs) / PINK_RMS;
  }

  /** Add the next `out.length` samples of noise into `out`. */
  addTo(out: Float32Array): void {
    for (let i = 0; i < out.length; i++) {
      const white = this.random() * 2 - 1;
      this.b0 = 0.99765 * this.b0 + white * 0.099046;
      this.b1 = 0.963 * this.b1 + white * 0.2965164;
      this.b2 = 0.57 * this.b2 + white * 1.0526913;
      out[i]! += (this.b0 + this.b1 + this.b2 + white * 0.1848) * this.gain;
    }
  }
}

/** RMS of the unscaled pink filter output for uniform white input in [-1, 1) (measured over 10 s). */
const PINK_RMS = (() => {
  const r = prng(1);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  let sum = 0;
  const n = SAMPLE_RATE * 10;
  for (let i = 0; i < n; i++) {
    const white = r() * 2 - 1;
    b0 = 0.99765 * b0 + white * 0.099046;
    b1 = 0.963 * b1 + white * 0.2965164;
    b2 = 0.57 * b2 + white * 1.0526913;
    const v = b0 + b1 + b2 + white * 0.1848;
    sum += v * v;
  }
  return Math.sqrt(sum / n);
})();

/** Two-pole resonant band-pass (RBJ biquad, constant 0 dB peak gain) over `x`, in place. */
function bandPass(x: Float32Array, centerHz: number, q: number): Float32Array {
  const w = (2 * Math.PI * centerHz) / SAMPLE_RATE;
  const alpha = Math.sin(w) / (2 * q);
  const a0 = 1 + alpha;
  const b0 = alpha / a0;
  const b2 = -alpha / a0;
  const a1 = (-2 * Math.cos(w)) / a0;
  const a2 = (1 - alpha) / a0;
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const y = b0 * x[i]! + b2 * x2 - a1 * y1 - a2 * y2;
    x2 = x1;
    x1 = x[i]!;
    y2 = y1;
    y1 = y;
    x[i] = y;
  }
  return x;
}

function scaleToRms(x: Float32Array, dbfs: number): Float32Array {
  let sum = 0;
  for (const v of x) sum += v * v;
  const rms = Math.sqrt(sum / Math.max(1, x.length));
  const g = rms > 0 ? amplitude(dbfs) / rms : 0;
  for (let i = 0; i < x.length; i++) x[i]! *= g;
  return x;
}

const samples = (ms: number) => Math.round((ms * SAMPLE_RATE) / 1000);

/**
 * A cough: an explosive burst (5 ms attack, ~100 ms exponential decay) of band-passed noise
 * (600-1600 Hz, where a cough's energy sits), sometimes followed by a second, weaker one. About
 * 250-800 ms long and loud: -14 dBFS RMS over the sound, 6 dB above the user's speech level.
 */
export function cough(seed: number): Float32Array {
  const r = prng(seed);
  const bursts = r() < 0.5 ? 1 : 2;
  const burstMs = 250 + r() * 120;
  const gapMs = 80 + r() * 80;
  const out = new Float32Array(samples(burstMs * bursts + gapMs * (bursts - 1)));
  for (let b = 0; b < bursts; b++) {
    const start = samples(b * (burstMs + gapMs));
    const len = samples(burstMs);
    const tauMs = 80 + r() * 40;
    const level = b === 0 ? 1 : 0.6;
    for (let i = 0; i < len; i++) {
      const ms = (i * 1000) / SAMPLE_RATE;
      const env = ms < 5 ? ms / 5 : Math.exp(-(ms - 5) / tauMs);
      out[start + i] = (r() * 2 - 1) * env * level;
    }
  }
  return scaleToRms(bandPass(out, 600 + r() * 1000, 0.9), -14);
}

/** A click (a mouse, a pen on the desk): a 3-5 kHz ring decaying in ~2 ms, 15 ms long, -12 dBFS RMS. */
export function click(seed: number): Float32Array {
  const r = prng(seed);
  const hz = 3000 + r() * 2000;
  const tauMs = 1.5 + r();
  const out = new Float32Array(samples(15));
  for (let i = 0; i < out.length; i++) {
    const ms = (i * 1000) / SAMPLE_RATE;
    out[i] = (Math.sin((2 * Math.PI * hz * i) / SAMPLE_RATE) + 0.3 * (r() * 2 - 1)) * Math.exp(-ms / tauMs);
  }
  return scaleToRms(out, -12);
}

/**
 * A noise burst (a door, a bag, a chair dragged): broadband noise, low-passed at ~2 kHz, with a
 * 15 ms attack and 60 ms release, 300-650 ms long, -22 dBFS RMS.
 */
export function noiseBurst(seed: number): Float32Array {
  const r = prng(seed);
  const ms = 300 + r() * 350;
  const out = new Float32Array(samples(ms));
  const lowPass = 1 - Math.exp((-2 * Math.PI * 2000) / SAMPLE_RATE);
  let y = 0;
  for (let i = 0; i < out.length; i++) {
    const t = (i * 1000) / SAMPLE_RATE;
    const env = Math.min(1, t / 15, (ms - t) / 60);
    y += lowPass * (r() * 2 - 1 - y);
    out[i] = y * Math.max(0, env);
  }
  return scaleToRms(out, -22);
}
