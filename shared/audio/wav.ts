// The one RIFF/WAVE module: write PCM16 or G.711 (encodeWav), parse PCM16 as samples (parseWav: the
// server's input and model outputs), and decode any common encoding to mono float (decodeWav: the
// client's segment decoder, the offline stand-in). All tolerate extra chunks and streaming headers;
// the chunk walk is wav-chunks.ts. Pure: runs in workerd, browsers and Node.
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from "./g711.ts";
import { AudioFormatError, pcm16FromBytes, pcm16ToBytes } from "./pcm.ts";
import { pcmSampleReader, readWavChunks, WAVE_FORMAT, type SampleReader } from "./wav-chunks.ts";

export class WavFormatError extends AudioFormatError {
  override name = "WavFormatError";
}

export interface ParsedWav {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Interleaved samples. Aliases the input bytes when the data chunk is 2-byte aligned. */
  pcm: Int16Array;
  durationMs: number;
}

/** Any channel count, mixed down to one. */
export interface DecodedAudio {
  sampleRate: number;
  channels: number;
  /** Mono samples in [-1, 1] (channels averaged). */
  samples: Float32Array;
}

export const WAV_HEADER_BYTES = 44;

/** How encodeWav stores samples: PCM16 as is, or 8-bit G.711 (μ-law / A-law, telephone audio). */
export type WavEncoding = "linear16" | "mulaw" | "alaw";

/** PCM16 samples as `encoding` stores them, without a container. */
export function encodeSamples(pcm: Int16Array, encoding: WavEncoding): Uint8Array {
  if (encoding === "linear16") return pcm16ToBytes(pcm);
  const out = new Uint8Array(pcm.length);
  const enc = encoding === "mulaw" ? linearToMulaw : linearToAlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = enc(pcm[i]!);
  return out;
}

/** Canonical 44-byte-header WAV of interleaved PCM16 samples, stored as PCM16 or G.711. */
export function encodeWav(pcm: Int16Array, sampleRate: number, channels = 1, encoding: WavEncoding = "linear16"): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`bad sample rate ${sampleRate}`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 65535) throw new RangeError(`bad channel count ${channels}`);
  if (pcm.length % channels !== 0) {
    throw new RangeError(`${pcm.length} samples is not a whole number of ${channels}-channel frames`);
  }
  const bytesPerSample = encoding === "linear16" ? 2 : 1;
  const dataBytes = pcm.length * bytesPerSample;
  if (dataBytes > 0xffffffff - 36) throw new RangeError("audio too long for a RIFF file");
  const out = new Uint8Array(WAV_HEADER_BYTES + dataBytes);
  const v = new DataView(out.buffer);
  const blockAlign = channels * bytesPerSample;
  writeTag(out, 0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  writeTag(out, 8, "WAVE");
  writeTag(out, 12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, encoding === "linear16" ? WAVE_FORMAT.PCM : encoding === "mulaw" ? WAVE_FORMAT.MULAW : WAVE_FORMAT.ALAW, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, bytesPerSample * 8, true);
  writeTag(out, 36, "data");
  v.setUint32(40, dataBytes, true);
  out.set(encodeSamples(pcm, encoding), WAV_HEADER_BYTES);
  return out;
}

/**
 * Parse a PCM16 WAV (chunk walk: shared/audio/wav-chunks.ts). A data size of 0 means an empty data
 * chunk; one that overruns the file (streaming writers put 0xFFFFFFFF there) is clamped to the bytes
 * present; a trailing partial sample frame is dropped.
 */
export function parseWav(input: Uint8Array | ArrayBuffer): ParsedWav {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const fmt = readWavChunks(bytes, { error: WavFormatError, zeroSizeData: "empty" });
  if (fmt.format !== WAVE_FORMAT.PCM) {
    throw new WavFormatError(`unsupported WAV encoding: ${formatName(fmt.format)} (only 16-bit PCM is supported)`);
  }
  if (fmt.bitsPerSample !== 16) {
    throw new WavFormatError(`unsupported WAV sample size: ${fmt.bitsPerSample}-bit PCM (only 16-bit is supported)`);
  }
  if (fmt.channels < 1) throw new WavFormatError("WAV declares 0 channels");
  if (fmt.sampleRate < 1) throw new WavFormatError("WAV declares a sample rate of 0");

  const frameBytes = fmt.channels * 2;
  const pcm = pcm16FromBytes(fmt.data.subarray(0, fmt.data.length - (fmt.data.length % frameBytes)));
  const frames = pcm.length / fmt.channels;
  return {
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    bitsPerSample: 16,
    pcm,
    durationMs: (frames * 1000) / fmt.sampleRate,
  };
}

/**
 * Decode a WAV of any common encoding (PCM 8/16/24/32-bit, float 32/64, μ-law, A-law, extensible) to
 * mono float samples. A data size of 0 or 0xFFFFFFFF (streaming writers) runs to the end of the file;
 * a trailing partial frame is dropped. Throws WavFormatError (an AudioFormatError).
 */
export function decodeWav(input: Uint8Array | ArrayBuffer): DecodedAudio {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  const { format, channels, sampleRate, bitsPerSample: bits, data } = readWavChunks(bytes, { error: WavFormatError });
  if (channels < 1 || sampleRate < 1000 || sampleRate > 384000) {
    throw new WavFormatError(`WAV header is not plausible (${channels} channels, ${sampleRate} Hz)`);
  }
  const read = sampleReader(format, bits);
  if (!read) throw new WavFormatError(`unsupported WAV encoding (format tag ${format}, ${bits} bits)`);
  const bytesPerSample = bits / 8;
  const frameBytes = bytesPerSample * channels;
  const frames = Math.floor(data.length / frameBytes);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const base = f * frameBytes;
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += read(view, base + c * bytesPerSample);
    samples[f] = sum / channels;
  }
  return { sampleRate, channels, samples };
}

/** Integer PCM and float (wav-chunks.ts), plus 8-bit G.711. */
function sampleReader(format: number, bits: number): SampleReader | undefined {
  if (format === WAVE_FORMAT.MULAW && bits === 8) return (v, o) => mulawToLinear(v.getUint8(o)) / 32768;
  if (format === WAVE_FORMAT.ALAW && bits === 8) return (v, o) => alawToLinear(v.getUint8(o)) / 32768;
  return pcmSampleReader(format, bits);
}

function formatName(format: number): string {
  switch (format) {
    case WAVE_FORMAT.IEEE_FLOAT:
      return "IEEE float";
    case WAVE_FORMAT.ALAW:
      return "A-law";
    case WAVE_FORMAT.MULAW:
      return "mu-law";
    default:
      return `format code 0x${format.toString(16).padStart(4, "0")}`;
  }
}

function writeTag(bytes: Uint8Array, offset: number, tag: string): void {
  for (let i = 0; i < 4; i++) bytes[offset + i] = tag.charCodeAt(i);
}
