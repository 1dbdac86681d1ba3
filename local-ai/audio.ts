// Audio helpers for the offline stand-in: WAV parsing and writing, down-mixing, resampling, G.711.
// Pure functions on typed arrays (no Node or Cloudflare imports), unit-tested in test/node/local-ai-audio.test.ts.

export type AudioContainer = "wav" | "mp3" | "ogg" | "webm" | "flac" | "mp4" | "unknown";

/** Guess an audio container from its first bytes. */
export function sniffContainer(bytes: Uint8Array): AudioContainer {
  const ascii = (at: number, s: string) => s.split("").every((ch, i) => bytes[at + i] === ch.charCodeAt(0));
  if (bytes.length >= 12 && ascii(0, "RIFF") && ascii(8, "WAVE")) return "wav";
  if (ascii(0, "ID3") || (bytes.length > 1 && bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0)) return "mp3";
  if (ascii(0, "OggS")) return "ogg";
  if (ascii(0, "fLaC")) return "flac";
  if (bytes.length >= 4 && bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return "webm";
  if (bytes.length >= 8 && ascii(4, "ftyp")) return "mp4";
  return "unknown";
}

export interface DecodedAudio {
  sampleRate: number;
  channels: number;
  /** Mono samples in [-1, 1] (channels averaged). */
  samples: Float32Array;
}

export class AudioFormatError extends Error {}

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_FLOAT = 3;
const WAVE_FORMAT_ALAW = 6;
const WAVE_FORMAT_MULAW = 7;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Decode a RIFF/WAVE file (PCM 8/16/24/32-bit, float 32/64, A-law, μ-law, extensible) to mono float samples. */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const kind = sniffContainer(bytes);
  if (kind !== "wav") {
    throw new AudioFormatError(`expected a WAV (RIFF/WAVE) file, got ${kind === "unknown" ? "unrecognised bytes" : kind.toUpperCase()}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let format = -1;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let data: Uint8Array | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
    let size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) throw new AudioFormatError("WAV fmt chunk is truncated");
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 26) format = view.getUint16(body + 24, true);
    } else if (id === "data") {
      // Streaming writers leave the size at 0 or 0xFFFFFFFF: take what is there.
      if (size === 0 || size === 0xffffffff || body + size > bytes.length) size = bytes.length - body;
      data = bytes.subarray(body, body + size);
      break;
    }
    at = body + size + (size & 1);
  }
  if (format < 0) throw new AudioFormatError("WAV has no fmt chunk");
  if (!data) throw new AudioFormatError("WAV has no data chunk");
  if (channels < 1 || sampleRate < 1000 || sampleRate > 384000) {
    throw new AudioFormatError(`WAV header is not plausible (${channels} channels, ${sampleRate} Hz)`);
  }
  const bytesPerSample = bits / 8;
  const read = sampleReader(format, bits);
  if (!read) throw new AudioFormatError(`unsupported WAV encoding (format tag ${format}, ${bits} bits)`);
  const frame = bytesPerSample * channels;
  const frames = Math.floor(data.length / frame);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Float32Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(dv, i * frame + c * bytesPerSample);
    samples[i] = sum / channels;
  }
  return { sampleRate, channels, samples };
}

type Reader = (dv: DataView, offset: number) => number;

function sampleReader(format: number, bits: number): Reader | undefined {
  if (format === WAVE_FORMAT_PCM) {
    if (bits === 8) return (dv, o) => (dv.getUint8(o) - 128) / 128;
    if (bits === 16) return (dv, o) => dv.getInt16(o, true) / 32768;
    if (bits === 24) return (dv, o) => ((dv.getUint8(o) | (dv.getUint8(o + 1) << 8) | (dv.getInt8(o + 2) << 16)) / 8388608);
    if (bits === 32) return (dv, o) => dv.getInt32(o, true) / 2147483648;
  }
  if (format === WAVE_FORMAT_FLOAT) {
    if (bits === 32) return (dv, o) => dv.getFloat32(o, true);
    if (bits === 64) return (dv, o) => dv.getFloat64(o, true);
  }
  if (format === WAVE_FORMAT_MULAW && bits === 8) return (dv, o) => mulawToLinear(dv.getUint8(o)) / 32768;
  if (format === WAVE_FORMAT_ALAW && bits === 8) return (dv, o) => alawToLinear(dv.getUint8(o)) / 32768;
  return undefined;
}

/**
 * Band-limited resampling (windowed-sinc interpolation, Blackman window, tabulated kernel). When
 * downsampling the cut-off follows the target rate, so 48 kHz -> 16 kHz does not alias.
 */
export function resample(input: Float32Array, fromRate: number, toRate: number, halfTaps = 16): Float32Array {
  if (fromRate === toRate) return input.slice();
  const ratio = toRate / fromRate;
  const outLength = Math.max(0, Math.round(input.length * ratio));
  const out = new Float32Array(outLength);
  const cutoff = Math.min(1, ratio) * 0.94; // normalised to the input Nyquist
  const half = Math.ceil(halfTaps / Math.min(1, ratio)); // taps each side, in input samples
  const kernel = sincTable(cutoff, half);
  const step = fromRate / toRate;
  for (let i = 0; i < outLength; i++) {
    const t = i * step;
    const centre = Math.floor(t);
    const lo = Math.max(0, centre - half + 1);
    const hi = Math.min(input.length - 1, centre + half);
    let acc = 0;
    let norm = 0;
    for (let k = lo; k <= hi; k++) {
      const pos = Math.abs(t - k) * TABLE_RES;
      const j = pos | 0;
      const frac = pos - j;
      const h = kernel[j]! + (kernel[j + 1]! - kernel[j]!) * frac;
      acc += input[k]! * h;
      norm += h;
    }
    out[i] = norm > 0 ? acc / norm : 0;
  }
  return out;
}

const TABLE_RES = 512;
const kernelCache = new Map<string, Float32Array>();

/** h(x) = sinc(cutoff * x) * blackman(x / (half + 1)) for x >= 0, sampled TABLE_RES times per input sample. */
function sincTable(cutoff: number, half: number): Float32Array {
  const key = `${cutoff}:${half}`;
  const cached = kernelCache.get(key);
  if (cached) return cached;
  const n = (half + 1) * TABLE_RES + 2;
  const table = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const x = j / TABLE_RES;
    const s = x === 0 ? cutoff : Math.sin(Math.PI * cutoff * x) / (Math.PI * x);
    table[j] = s * blackman(x / (half + 1));
  }
  kernelCache.set(key, table);
  return table;
}

function blackman(x: number): number {
  // x in [-1, 1]
  if (x <= -1 || x >= 1) return 0;
  const n = (x + 1) / 2;
  return 0.42 - 0.5 * Math.cos(2 * Math.PI * n) + 0.08 * Math.cos(4 * Math.PI * n);
}

export function floatToPcm16(samples: Float32Array): Int16Array {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    // Same scale as decoding (/ 32768), so PCM16 -> float -> PCM16 is lossless.
    out[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32768)));
  }
  return out;
}

export function pcm16ToFloat(pcm: Int16Array): Float32Array {
  const out = new Float32Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

/** Any WAV -> 16 kHz mono PCM16, the format PocketSphinx's en-us model expects. */
export function wavToPcm16Mono(bytes: Uint8Array, targetRate = 16000): { pcm: Int16Array; durationSec: number; sourceRate: number } {
  const decoded = decodeWav(bytes);
  const mono = decoded.sampleRate === targetRate ? decoded.samples : resample(decoded.samples, decoded.sampleRate, targetRate);
  return { pcm: floatToPcm16(mono), durationSec: decoded.samples.length / decoded.sampleRate, sourceRate: decoded.sampleRate };
}

export type WavEncoding = "linear16" | "mulaw" | "alaw";

/** Encode mono PCM16 samples with G.711 or as-is, without a container. */
export function encodeSamples(pcm: Int16Array, encoding: WavEncoding): Uint8Array {
  if (encoding === "linear16") {
    const out = new Uint8Array(pcm.length * 2);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < pcm.length; i++) dv.setInt16(i * 2, pcm[i]!, true);
    return out;
  }
  const out = new Uint8Array(pcm.length);
  const enc = encoding === "mulaw" ? linearToMulaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = enc(pcm[i]!);
  return out;
}

/** Mono WAV file (linear16, μ-law or A-law). */
export function encodeWav(pcm: Int16Array, sampleRate: number, encoding: WavEncoding = "linear16"): Uint8Array {
  const payload = encodeSamples(pcm, encoding);
  const bits = encoding === "linear16" ? 16 : 8;
  const tag = encoding === "linear16" ? WAVE_FORMAT_PCM : encoding === "mulaw" ? WAVE_FORMAT_MULAW : WAVE_FORMAT_ALAW;
  const out = new Uint8Array(44 + payload.length);
  const dv = new DataView(out.buffer);
  const put = (at: number, s: string) => { for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i); };
  put(0, "RIFF");
  dv.setUint32(4, 36 + payload.length, true);
  put(8, "WAVE");
  put(12, "fmt ");
  dv.setUint32(16, 16, true);
  dv.setUint16(20, tag, true);
  dv.setUint16(22, 1, true);
  dv.setUint32(24, sampleRate, true);
  dv.setUint32(28, (sampleRate * bits) / 8, true);
  dv.setUint16(32, bits / 8, true);
  dv.setUint16(34, bits, true);
  put(36, "data");
  dv.setUint32(40, payload.length, true);
  out.set(payload, 44);
  return out;
}

// G.711 (ITU-T), the classic Sun reference implementation.
export function linearToMulaw(sample: number): number {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return u & 0x80 ? 0x84 - t : t - 0x84;
}

export function linearToAlaw(sample: number): number {
  let s = sample >> 3; // 13-bit magnitude domain
  let mask: number;
  if (s >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    s = -s - 1;
  }
  const segEnds = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  let seg = 0;
  while (seg < 8 && s > segEnds[seg]!) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (s >> 1) & 0x0f : (s >> seg) & 0x0f;
  return aval ^ mask;
}

export function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}
