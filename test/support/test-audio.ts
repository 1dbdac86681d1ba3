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
  const { format, channels, rate, bits } = opts;
  const fmt = opts.extensible ? fmtBody(0xfffe, channels, rate, bits, extensibleFmt(format)) : fmtBody(format, channels, rate, bits);
  // An odd-sized LIST chunk before the data, as some recorders write: the reader must skip it and its pad byte.
  const extra = opts.extraChunk ? [{ id: "LIST", body: new Uint8Array(3) }] : [];
  return riff([{ id: "fmt ", body: fmt }, ...extra, { id: "data", body: opts.data }]);
}

/** Hand-built RIFF/WAVE file from chunks (odd-sized ones padded), for the WAV parsers' tolerance tests. */
export function riff(chunks: { id: string; body: Uint8Array; size?: number }[], head = "RIFF"): Uint8Array {
  const parts: number[] = [];
  const tag = (s: string) => parts.push(...s.split("").map((c) => c.charCodeAt(0)));
  const u32 = (v: number) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  tag(head);
  u32(0); // patched below
  tag("WAVE");
  for (const c of chunks) {
    tag(c.id);
    u32(c.size ?? c.body.length);
    parts.push(...c.body);
    if (c.body.length % 2 === 1) parts.push(0);
  }
  const out = new Uint8Array(parts);
  new DataView(out.buffer).setUint32(4, out.length - 8, true);
  return out;
}

/** A 16-byte fmt chunk body, then `extra` (cbSize and the WAVE_FORMAT_EXTENSIBLE fields). */
export function fmtBody(
  format: number,
  channels: number,
  sampleRate: number,
  bits: number,
  extra: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const b = new Uint8Array(16 + extra.length);
  const v = new DataView(b.buffer);
  v.setUint16(0, format, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, sampleRate, true);
  v.setUint32(8, (sampleRate * channels * bits) / 8, true);
  v.setUint16(12, (channels * bits) / 8, true);
  v.setUint16(14, bits, true);
  b.set(extra, 16);
  return b;
}

/** fmtBody's `extra` for WAVE_FORMAT_EXTENSIBLE: cbSize 22 and a SubFormat GUID starting with `subFormat`. */
export function extensibleFmt(subFormat: number): Uint8Array {
  const b = new Uint8Array(24);
  new DataView(b.buffer).setUint16(0, 22, true);
  new DataView(b.buffer).setUint16(8, subFormat, true);
  return b;
}
