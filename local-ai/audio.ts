// Audio helpers of the offline stand-in. PCM16 WAV reading and writing is the server's own
// (shared/audio/wav.ts, pcm.ts, audio-container.ts; the chunk walk is shared/audio/wav-chunks.ts);
// this file adds only what the stand-in needs beyond that: reading other WAV encodings (8/24/32-bit
// PCM, float, μ-law, A-law), down-mixing to mono, resampling, and writing G.711 (the codec itself is
// shared/audio/g711.ts). Pure functions on typed arrays (no Node or Cloudflare
// imports), unit-tested in test/node/local-ai/audio.test.ts.
import { sniffAudio } from "../shared/audio/audio-container.ts";
import { Mp3FormatError } from "../shared/audio/mp3.ts";
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from "../shared/audio/g711.ts";
import { AudioFormatError, float32ToInt16, int16ToFloat32, pcm16ToBytes } from "../shared/audio/pcm.ts";
import { isRiffWave, pcmSampleReader, readWavChunks, WAVE_FORMAT, type SampleReader } from "../shared/audio/wav-chunks.ts";
import { encodeWav as encodePcm16Wav, parseWav, WAV_HEADER_BYTES, WavFormatError, type ParsedWav } from "../shared/audio/wav.ts";

export { AudioFormatError };

export interface DecodedAudio {
  sampleRate: number;
  channels: number;
  /** Mono samples in [-1, 1] (channels averaged). */
  samples: Float32Array;
}

/** The server's PCM16 parser, or undefined when it refuses the file (another encoding, or not a WAV). */
function parsePcm16Wav(bytes: Uint8Array): ParsedWav | undefined {
  try {
    return parseWav(bytes);
  } catch (e) {
    if (e instanceof WavFormatError) return undefined;
    throw e;
  }
}

/** Decode a RIFF/WAVE file (PCM 8/16/24/32-bit, float 32/64, A-law, μ-law, extensible) to mono float samples. */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  const wav = parsePcm16Wav(bytes);
  if (!wav) return decodeOtherWav(bytes);
  return { sampleRate: wav.sampleRate, channels: wav.channels, samples: downmix(int16ToFloat32(wav.pcm), wav.channels) };
}

/** Any WAV -> mono PCM16 at `targetRate`, the format PocketSphinx's en-us model expects (16 kHz). */
export function wavToPcm16Mono(bytes: Uint8Array, targetRate = 16000): { pcm: Int16Array; durationSec: number; sourceRate: number } {
  const wav = parsePcm16Wav(bytes);
  // What Parley's server sends (and flite writes): already 16 kHz mono PCM16, used as is.
  if (wav && wav.channels === 1 && wav.sampleRate === targetRate) return { pcm: wav.pcm, durationSec: wav.durationMs / 1000, sourceRate: wav.sampleRate };
  const decoded = wav ? { sampleRate: wav.sampleRate, samples: downmix(int16ToFloat32(wav.pcm), wav.channels) } : decodeOtherWav(bytes);
  const mono = decoded.sampleRate === targetRate ? decoded.samples : resample(decoded.samples, decoded.sampleRate, targetRate);
  return { pcm: float32ToInt16(mono), durationSec: decoded.samples.length / decoded.sampleRate, sourceRate: decoded.sampleRate };
}

/** Average interleaved channels into one (returns the input when it is mono). */
function downmix(interleaved: Float32Array, channels: number): Float32Array {
  if (channels === 1) return interleaved;
  const out = new Float32Array(Math.floor(interleaved.length / channels));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += interleaved[i * channels + c]!;
    out[i] = sum / channels;
  }
  return out;
}

function notWavMessage(bytes: Uint8Array): string {
  try {
    return `expected a WAV (RIFF/WAVE) file, got ${sniffAudio(bytes).container.toUpperCase()}`;
  } catch (e) {
    if (e instanceof Mp3FormatError) return `expected a WAV (RIFF/WAVE) file, got MP3 (${e.message})`;
    return `expected a WAV (RIFF/WAVE) file: ${(e as Error).message}`;
  }
}

/** The encodings shared/audio/wav.ts parseWav does not read (same chunk walk: shared/audio/wav-chunks.ts). */
function decodeOtherWav(bytes: Uint8Array): DecodedAudio {
  if (!isRiffWave(bytes)) throw new AudioFormatError(notWavMessage(bytes));
  const { format, channels, sampleRate, bitsPerSample: bits, data } = readWavChunks(bytes, { error: AudioFormatError });
  if (channels < 1 || sampleRate < 1000 || sampleRate > 384000) {
    throw new AudioFormatError(`WAV header is not plausible (${channels} channels, ${sampleRate} Hz)`);
  }
  const read = sampleReader(format, bits);
  if (!read) throw new AudioFormatError(`unsupported WAV encoding (format tag ${format}, ${bits} bits)`);
  const bytesPerSample = bits / 8;
  const count = Math.floor(data.length / (bytesPerSample * channels)) * channels;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const interleaved = new Float32Array(count);
  for (let i = 0; i < count; i++) interleaved[i] = read(dv, i * bytesPerSample);
  return { sampleRate, channels, samples: downmix(interleaved, channels) };
}

/** PCM and float (16-bit PCM only for headers parseWav refuses), plus 8-bit G.711. */
function sampleReader(format: number, bits: number): SampleReader | undefined {
  if (format === WAVE_FORMAT.MULAW && bits === 8) return (dv, o) => mulawToLinear(dv.getUint8(o)) / 32768;
  if (format === WAVE_FORMAT.ALAW && bits === 8) return (dv, o) => alawToLinear(dv.getUint8(o)) / 32768;
  return pcmSampleReader(format, bits);
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

export type WavEncoding = "linear16" | "mulaw" | "alaw";

/** Encode mono PCM16 samples with G.711 or as-is, without a container. */
export function encodeSamples(pcm: Int16Array, encoding: WavEncoding): Uint8Array {
  if (encoding === "linear16") return pcm16ToBytes(pcm);
  const out = new Uint8Array(pcm.length);
  const enc = encoding === "mulaw" ? linearToMulaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = enc(pcm[i]!);
  return out;
}

/** Mono WAV file: linear16 (the server's encodeWav), or μ-law / A-law (8-bit G.711). */
export function encodeWav(pcm: Int16Array, sampleRate: number, encoding: WavEncoding = "linear16"): Uint8Array {
  if (encoding === "linear16") return encodePcm16Wav(pcm, sampleRate);
  const payload = encodeSamples(pcm, encoding);
  const out = new Uint8Array(WAV_HEADER_BYTES + payload.length);
  out.set(encodePcm16Wav(new Int16Array(0), sampleRate)); // the canonical header, then its G.711 fields
  const dv = new DataView(out.buffer);
  dv.setUint32(4, 36 + payload.length, true); // RIFF size
  dv.setUint16(20, encoding === "mulaw" ? WAVE_FORMAT.MULAW : WAVE_FORMAT.ALAW, true);
  dv.setUint32(28, sampleRate, true); // byte rate: one byte per sample
  dv.setUint16(32, 1, true); // block align
  dv.setUint16(34, 8, true); // bits per sample
  dv.setUint32(40, payload.length, true); // data size
  out.set(payload, WAV_HEADER_BYTES);
  return out;
}
