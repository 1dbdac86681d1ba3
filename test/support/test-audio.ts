// Audio that only tests and fakes build: a silent MP3 (the fake TTS), WAVs (float, or by hand for the
// formats encodeWav does not write), test tones and their level, and the edge-fade oracle of the client's
// segment decoder. Pure: no Node or Cloudflare imports.
import { BITRATES_V1, BITRATES_V2, SAMPLE_RATES, type MpegVersion } from "../../shared/audio/mp3.ts";
import { float32ToInt16 } from "../../shared/audio/pcm.ts";
import { encodeWav } from "../../shared/audio/wav.ts";

export interface SilentMp3Options {
  /** Default 32 (a valid Layer III bitrate for every MPEG version). */
  bitrateKbps?: number;
}

/**
 * A valid mono MP3 of silence, at least `durationMs` long (rounded up to whole frames, minimum one).
 * Each frame is a header plus all-zero side info and main data: zero-length Huffman data,
 * which every decoder turns into silence. Default 24 kHz (MPEG-2, 24 ms frames of 96 bytes).
 */
export function makeSilentMp3(durationMs: number, sampleRate = 24000, options: SilentMp3Options = {}): Uint8Array<ArrayBuffer> {
  if (!(durationMs >= 0) || !Number.isFinite(durationMs)) throw new RangeError(`bad duration ${durationMs} ms`);
  let version: MpegVersion | null = null;
  let rateIndex = -1;
  for (const v of [1, 2, 2.5] as const) {
    const i = SAMPLE_RATES[String(v)]!.indexOf(sampleRate);
    if (i >= 0) {
      version = v;
      rateIndex = i;
    }
  }
  if (version === null) throw new RangeError(`MP3 has no ${sampleRate} Hz sample rate`);
  const bitrateKbps = options.bitrateKbps ?? 32;
  const bitrateIndex = (version === 1 ? BITRATES_V1 : BITRATES_V2).indexOf(bitrateKbps);
  if (bitrateIndex <= 0) throw new RangeError(`${bitrateKbps} kbps is not a Layer III bitrate for MPEG-${version}`);

  const samplesPerFrame = version === 1 ? 1152 : 576;
  const frameBytes = Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRate); // no padding bit
  // At least one frame, so the result is always a playable file.
  const frames = Math.max(1, Math.ceil((durationMs * sampleRate) / 1000 / samplesPerFrame - 1e-9));
  const out = new Uint8Array(frames * frameBytes);
  const versionBits = version === 1 ? 3 : version === 2 ? 2 : 0;
  const h0 = 0xff;
  const h1 = 0xe0 | (versionBits << 3) | (1 << 1) | 1; // Layer III, no CRC
  const h2 = (bitrateIndex << 4) | (rateIndex << 2);
  const h3 = (3 << 6) | 0x04; // mono, "original" bit set
  for (let f = 0; f < frames; f++) {
    const p = f * frameBytes;
    out[p] = h0;
    out[p + 1] = h1;
    out[p + 2] = h2;
    out[p + 3] = h3;
  }
  return out;
}

/** 16-bit PCM mono WAV of float samples (clamped to [-1, 1]). */
export function encodeWav16(samples: Float32Array, sampleRate: number): ArrayBuffer {
  return encodeWav(float32ToInt16(samples), sampleRate).buffer;
}

/** Short raised-cosine fade at both ends, in place: segments join without clicks. */
export function applyEdgeFades(samples: Float32Array, fadeSamples: number): Float32Array {
  const n = Math.min(fadeSamples, Math.floor(samples.length / 2));
  for (let i = 0; i < n; i++) {
    const g = 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
    samples[i]! *= g;
    samples[samples.length - 1 - i]! *= g;
  }
  return samples;
}

/** Float sine of `seconds` at `rate`. */
export function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Power of `freq` in `x` (single-bin DFT), normalised so a sine of amplitude A gives A. */
export function toneLevel(x: Float32Array, freq: number, rate: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i]! * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / x.length;
}

/** A WAV built by hand, for formats encodeWav does not write. */
export function wavBytes(opts: {
  format: number;
  channels: number;
  rate: number;
  bits: number;
  data: Uint8Array;
  extensible?: boolean;
  extraChunk?: boolean;
}): Uint8Array {
  const fmtSize = opts.extensible ? 40 : 16;
  const extra = opts.extraChunk ? 8 + 3 + 1 : 0; // odd-sized LIST chunk + pad byte
  const out = new Uint8Array(12 + 8 + fmtSize + extra + 8 + opts.data.length);
  const dv = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, "RIFF");
  dv.setUint32(4, out.length - 8, true);
  put(8, "WAVE");
  put(12, "fmt ");
  dv.setUint32(16, fmtSize, true);
  dv.setUint16(20, opts.extensible ? 0xfffe : opts.format, true);
  dv.setUint16(22, opts.channels, true);
  dv.setUint32(24, opts.rate, true);
  dv.setUint32(28, (opts.rate * opts.channels * opts.bits) / 8, true);
  dv.setUint16(32, (opts.channels * opts.bits) / 8, true);
  dv.setUint16(34, opts.bits, true);
  let at = 36;
  if (opts.extensible) {
    dv.setUint16(36, 22, true);
    dv.setUint16(38, opts.bits, true);
    dv.setUint16(44, opts.format, true);
    at = 12 + 8 + 40;
  }
  if (opts.extraChunk) {
    put(at, "LIST");
    dv.setUint32(at + 4, 3, true);
    at += 12;
  }
  put(at, "data");
  dv.setUint32(at + 4, opts.data.length, true);
  out.set(opts.data, at + 8);
  return out;
}
