// RIFF/WAVE encode (PCM16) and parse (PCM16 only, tolerant of extra chunks and streaming headers).
import { readWavChunks, WAVE_FORMAT } from "./wav-chunks.ts";
import { AudioFormatError, pcm16FromBytes, pcm16ToBytes } from "./pcm.ts";

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

export const WAV_HEADER_BYTES = 44;

/** Canonical 44-byte-header WAV of interleaved PCM16 samples. */
export function encodeWav(pcm: Int16Array, sampleRate: number, channels = 1): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`bad sample rate ${sampleRate}`);
  if (!Number.isInteger(channels) || channels < 1 || channels > 65535) throw new RangeError(`bad channel count ${channels}`);
  if (pcm.length % channels !== 0) {
    throw new RangeError(`${pcm.length} samples is not a whole number of ${channels}-channel frames`);
  }
  const dataBytes = pcm.length * 2;
  if (dataBytes > 0xffffffff - 36) throw new RangeError("audio too long for a RIFF file");
  const out = new Uint8Array(WAV_HEADER_BYTES + dataBytes);
  const v = new DataView(out.buffer);
  const blockAlign = channels * 2;
  writeTag(out, 0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  writeTag(out, 8, "WAVE");
  writeTag(out, 12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, WAVE_FORMAT.PCM, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * blockAlign, true);
  v.setUint16(32, blockAlign, true);
  v.setUint16(34, 16, true);
  writeTag(out, 36, "data");
  v.setUint32(40, dataBytes, true);
  out.set(pcm16ToBytes(pcm), WAV_HEADER_BYTES);
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
