// RIFF/WAVE encode (PCM16) and parse (PCM16 only, tolerant of extra chunks and streaming headers).
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

const FORMAT_PCM = 0x0001;
const FORMAT_IEEE_FLOAT = 0x0003;
const FORMAT_ALAW = 0x0006;
const FORMAT_MULAW = 0x0007;
const FORMAT_EXTENSIBLE = 0xfffe;

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
  v.setUint16(20, FORMAT_PCM, true);
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
 * Parse a PCM16 WAV. Walks the chunk list, so LIST/fact/bext chunks and odd-size chunks
 * (padded to even per RIFF) are skipped. A data size that overruns the file (streaming writers
 * put 0 or 0xFFFFFFFF there) is clamped to the bytes present; a trailing partial sample frame is dropped.
 */
export function parseWav(input: Uint8Array | ArrayBuffer): ParsedWav {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.byteLength < 12 || readTag(bytes, 0) !== "RIFF" || readTag(bytes, 8) !== "WAVE") {
    const what = bytes.byteLength >= 4 && readTag(bytes, 0) === "RF64" ? " (RF64 is not supported)" : "";
    throw new WavFormatError(`not a WAV file: missing RIFF/WAVE header${what}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  let fmt: { format: number; channels: number; sampleRate: number; blockAlign: number; bitsPerSample: number } | null = null;
  let dataStart = -1;
  let dataSize = 0;
  let offset = 12;
  while (offset + 8 <= bytes.byteLength) {
    const id = readTag(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.byteLength) throw new WavFormatError(`WAV fmt chunk too short (${size} bytes)`);
      let format = view.getUint16(body, true);
      if (format === FORMAT_EXTENSIBLE && size >= 40 && body + 40 <= bytes.byteLength) {
        // The real format code is the first two bytes of the SubFormat GUID.
        format = view.getUint16(body + 24, true);
      }
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      dataStart = body;
      dataSize = Math.min(size, bytes.byteLength - body);
      // A streamed header may claim more data than exists; there is nothing useful after it anyway.
      if (fmt) break;
    }
    offset = body + size + (size & 1);
  }

  if (!fmt) throw new WavFormatError("WAV has no fmt chunk");
  if (dataStart < 0) throw new WavFormatError("WAV has no data chunk");
  if (fmt.format !== FORMAT_PCM) {
    throw new WavFormatError(`unsupported WAV encoding: ${formatName(fmt.format)} (only 16-bit PCM is supported)`);
  }
  if (fmt.bitsPerSample !== 16) {
    throw new WavFormatError(`unsupported WAV sample size: ${fmt.bitsPerSample}-bit PCM (only 16-bit is supported)`);
  }
  if (fmt.channels < 1) throw new WavFormatError("WAV declares 0 channels");
  if (fmt.sampleRate < 1) throw new WavFormatError("WAV declares a sample rate of 0");

  const frameBytes = fmt.channels * 2;
  const usable = dataSize - (dataSize % frameBytes);
  const pcm = pcm16FromBytes(bytes.subarray(dataStart, dataStart + usable));
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
    case FORMAT_IEEE_FLOAT:
      return "IEEE float";
    case FORMAT_ALAW:
      return "A-law";
    case FORMAT_MULAW:
      return "mu-law";
    default:
      return `format code 0x${format.toString(16).padStart(4, "0")}`;
  }
}

function readTag(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

function writeTag(bytes: Uint8Array, offset: number, tag: string): void {
  for (let i = 0; i < 4; i++) bytes[offset + i] = tag.charCodeAt(i);
}
