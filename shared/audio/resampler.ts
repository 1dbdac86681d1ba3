// Streaming band-limited resampler (windowed-sinc, Kaiser window), any rate pair, fractional ratios.
// Pure: no DOM, no Web Audio. Used by the capture worklet (context rate -> 16 kHz), the segment
// decoder (server audio -> output rate) and the phone path (server/phone/: 8 kHz <-> 16 kHz). The
// low-pass cutoff sits below the lower of the two Nyquist frequencies so that content the output
// cannot represent is removed instead of aliasing.
import { withDefaults } from "../options.ts";
import { concatArrays } from "../typed-arrays.ts";

export interface ResamplerOptions {
  /** -6 dB point of the anti-aliasing low-pass, as a fraction of the lower rate (at most 0.5), default 0.45 (7.2 kHz for 16 kHz). */
  cutoffFraction: number;
  /** Width of the transition band, as a fraction of the lower rate, default 0.1 (1.6 kHz for 16 kHz: stopband from 8 kHz). */
  transitionFraction: number;
  /** Stopband attenuation that sizes the Kaiser window (dB), default 70. */
  attenuationDb: number;
}

export const DEFAULT_RESAMPLER: Readonly<ResamplerOptions> = Object.freeze({
  cutoffFraction: 0.45,
  transitionFraction: 0.1,
  attenuationDb: 70,
});

/** Kernel table resolution: points per input sample (linear interpolation between them). */
const TABLE_RESOLUTION = 512;

function besselI0(x: number): number {
  // Power series; converges fast for the beta values used here (< 12).
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function kaiserBeta(attenuationDb: number): number {
  if (attenuationDb > 50) return 0.1102 * (attenuationDb - 8.7);
  if (attenuationDb >= 21) return 0.5842 * (attenuationDb - 21) ** 0.4 + 0.07886 * (attenuationDb - 21);
  return 0;
}

interface KernelDesign {
  table: Float32Array;
  bank: Float32Array | null;
  phases: number;
  stepNum: number;
}

/** Designs are cached: a segment decoder builds a resampler per segment. */
const designs = new Map<string, KernelDesign>();
const MAX_PHASES = 4096;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function designKernel(inRate: number, outRate: number, cutoff: number, halfWidth: number, attenuation: number): KernelDesign {
  const g = (2 * cutoff) / inRate; // normalised cutoff: kernel = g * sinc(g * d) has unit DC gain
  const beta = kaiserBeta(attenuation);
  const i0Beta = besselI0(beta);
  const kernel = (d: number): number => {
    const r = Math.abs(d) / halfWidth;
    if (r >= 1) return 0;
    const x = Math.PI * g * d;
    const sinc = d === 0 ? 1 : Math.sin(x) / x;
    return g * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta);
  };
  const size = halfWidth * TABLE_RESOLUTION + 2;
  let table: Float32Array;
  let bank: Float32Array | null = null;
  let phases = 0;
  let stepNum = 0;
  const intRates = Number.isInteger(inRate) && Number.isInteger(outRate);
  const common = intRates ? gcd(inRate, outRate) : 0;
  if (intRates && outRate / common <= MAX_PHASES) {
    // Output n sits at input time n * stepNum / phases: its fractional part is one of `phases` values.
    table = new Float32Array(0);
    phases = outRate / common;
    stepNum = inRate / common;
    const taps = 2 * halfWidth;
    bank = new Float32Array(phases * taps);
    for (let p = 0; p < phases; p++) {
      const frac = p / phases;
      // Taps cover input samples k-H+1 .. k+H around k = floor(t); distance d = t - j.
      for (let m = 0; m < taps; m++) bank[p * taps + m] = kernel(frac + halfWidth - 1 - m);
    }
  } else {
    table = new Float32Array(size);
    for (let i = 0; i < size; i++) table[i] = kernel(i / TABLE_RESOLUTION);
  }
  return { table, bank, phases, stepNum };
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Half-width of the kernel in input samples (also the algorithmic latency). */
  readonly halfWidth: number;
  private readonly table: Float32Array;
  /** Polyphase bank for rational ratios: `phases` rows of 2*halfWidth taps (null: use the table). */
  private readonly bank: Float32Array | null;
  private readonly phases: number;
  /** Input step per output in 1/phases units (inRate/gcd). */
  private readonly stepNum: number;
  /** Buffered input; buf[0] is absolute input sample `bufStart` (negative indices are leading zeros). */
  private buf: Float32Array;
  private bufLen = 0;
  private bufStart = 0;
  /** Real (non-padding) input samples received. */
  private inputCount = 0;
  /** Output samples produced so far: output n sits at input time n * inRate / outRate. */
  private outputCount = 0;
  private out: Float32Array;
  private readonly passthrough: boolean;

  constructor(inRate: number, outRate: number, options: Partial<ResamplerOptions> = {}) {
    if (!(inRate > 0) || !(outRate > 0)) throw new RangeError("sample rates must be positive");
    this.inRate = inRate;
    this.outRate = outRate;
    this.passthrough = inRate === outRate;
    const lower = Math.min(inRate, outRate);
    const o = withDefaults(DEFAULT_RESAMPLER, options);
    const cutoff = Math.min(o.cutoffFraction, 0.5) * lower;
    const transition = o.transitionFraction * lower;
    const attenuation = o.attenuationDb;
    // Kaiser design: taps = (A - 8) / (2.285 * 2pi * df / fs), in input samples.
    const taps = (attenuation - 8) / (2.285 * 2 * Math.PI * (transition / inRate));
    this.halfWidth = Math.max(2, Math.ceil(taps / 2));
    const key = `${inRate}/${outRate}/${cutoff}/${transition}/${attenuation}`;
    let design = designs.get(key);
    if (!design) {
      design = designKernel(inRate, outRate, cutoff, this.halfWidth, attenuation);
      designs.set(key, design);
    }
    this.table = design.table;
    this.phases = design.phases;
    this.bank = design.bank;
    this.stepNum = design.stepNum;
    this.buf = new Float32Array(4096);
    this.out = new Float32Array(1024);
    this.reset();
  }

  /** Forget all state (as if freshly constructed). */
  reset(): void {
    this.buf.fill(0);
    // Start with `halfWidth` zeros before sample 0 so the first outputs need no special case.
    this.bufLen = this.halfWidth + 1;
    this.bufStart = -(this.halfWidth + 1);
    this.inputCount = 0;
    this.outputCount = 0;
  }

  /** Number of output samples a stream of `inputSamples` input samples yields in total (after flush). */
  outputLengthFor(inputSamples: number): number {
    return Math.ceil((inputSamples * this.outRate) / this.inRate);
  }

  /**
   * Feed input, get the output samples that are now computable. The returned array is a view of an
   * internal buffer, valid until the next call: copy it if you keep it.
   */
  process(input: Float32Array): Float32Array {
    if (this.passthrough) {
      this.inputCount += input.length;
      this.outputCount += input.length;
      return input;
    }
    this.append(input, input.length);
    this.inputCount += input.length;
    return this.produce(this.inputCount);
  }

  /** Emit the remaining output for all input fed so far (pads with silence), then reset. */
  flush(): Float32Array {
    if (this.passthrough) {
      this.reset();
      return new Float32Array(0);
    }
    const total = this.outputLengthFor(this.inputCount);
    this.append(null, this.halfWidth + 2);
    const result = this.produce(this.inputCount, total).slice();
    this.reset();
    return result;
  }

  /** One-shot conversion of a whole signal. */
  static convert(input: Float32Array, inRate: number, outRate: number, options?: ResamplerOptions): Float32Array {
    if (inRate === outRate) return input.slice();
    const r = new Resampler(inRate, outRate, options);
    const head = r.process(input).slice();
    return concatArrays(Float32Array, [head, r.flush()]);
  }

  private growOut(): void {
    const grown = new Float32Array(this.out.length * 2);
    grown.set(this.out);
    this.out = grown;
  }

  private append(input: Float32Array | null, length: number): void {
    const need = this.bufLen + length;
    if (need > this.buf.length) {
      let cap = this.buf.length;
      while (cap < need) cap *= 2;
      const grown = new Float32Array(cap);
      grown.set(this.buf.subarray(0, this.bufLen));
      this.buf = grown;
    }
    if (input) this.buf.set(input, this.bufLen);
    else this.buf.fill(0, this.bufLen, need);
    this.bufLen = need;
  }

  /**
   * Produce outputs while the kernel window is fully inside the buffered input, up to `limit`
   * outputs in total when given (flush).
   */
  private produce(realInput: number, limit = Number.POSITIVE_INFINITY): Float32Array {
    const H = this.halfWidth;
    const table = this.table;
    const buf = this.buf;
    const lastAbs = this.bufStart + this.bufLen - 1; // last buffered absolute index
    const ratio = this.inRate / this.outRate;
    let n = this.outputCount;
    let count = 0;
    // Output n is ready when its window [t - H, t + H] is buffered; without a limit we also
    // require t < realInput + 1 (no output beyond the real signal except during flush).
    const bank = this.bank;
    if (bank) {
      const P = this.phases;
      const step = this.stepNum;
      const taps = 2 * H;
      for (;;) {
        if (n >= limit) break;
        const num = n * step; // exact integer
        const k = Math.floor(num / P);
        if (k + H > lastAbs) break;
        if (limit === Number.POSITIVE_INFINITY && k >= realInput) break;
        const base = (num - k * P) * taps;
        const j0 = k - H + 1 - this.bufStart;
        let acc = 0;
        for (let m = 0; m < taps; m++) acc += buf[j0 + m]! * bank[base + m]!;
        if (count >= this.out.length) this.growOut();
        this.out[count++] = acc;
        n++;
      }
    } else {
      for (;;) {
        if (n >= limit) break;
        const t = (n * this.inRate) / this.outRate;
        if (Math.floor(t) + H > lastAbs) break;
        if (limit === Number.POSITIVE_INFINITY && t > realInput) break;
        const tl = t - this.bufStart;
        const k0 = Math.max(0, Math.ceil(tl - H));
        const k1 = Math.min(this.bufLen - 1, Math.floor(tl + H));
        let acc = 0;
        for (let k = k0; k <= k1; k++) {
          const pos = Math.abs(tl - k) * TABLE_RESOLUTION;
          const i = pos | 0;
          const a = table[i]!;
          acc += buf[k]! * (a + (pos - i) * (table[i + 1]! - a));
        }
        if (count >= this.out.length) this.growOut();
        this.out[count++] = acc;
        n++;
      }
    }
    this.outputCount = n;
    // Drop input that no future output needs.
    const nextT = n * ratio;
    const keepFrom = Math.floor(nextT) - H - 1;
    const drop = keepFrom - this.bufStart;
    if (drop > 0) {
      const d = Math.min(drop, this.bufLen);
      buf.copyWithin(0, d, this.bufLen);
      this.bufLen -= d;
      this.bufStart += d;
    }
    return this.out.subarray(0, count);
  }
}
