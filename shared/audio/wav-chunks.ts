// The one RIFF/WAVE chunk walk under the WAV readers of shared/audio/wav.ts (parseWav, decodeWav).
// Pure: no DOM, Node or Cloudflare imports.

/** wFormatTag values the readers know. */
export const WAVE_FORMAT = { PCM: 0x0001, IEEE_FLOAT: 0x0003, ALAW: 0x0006, MULAW: 0x0007, EXTENSIBLE: 0xfffe } as const;

export interface WavChunks {
  /** wFormatTag; for WAVE_FORMAT_EXTENSIBLE, the sub-format's tag (first 2 bytes of its GUID). */
  format: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
  /** The data chunk's bytes: a view of the input, clamped to the bytes present. */
  data: Uint8Array;
}

export interface WavChunkOptions {
  /** Error class thrown for a missing header, a short fmt chunk, or no fmt / data chunk. */
  error?: new (message: string) => Error;
  /**
   * What a data size of 0 means. "rest" (default): a streaming writer's placeholder, like 0xFFFFFFFF,
   * so the data runs to the end of the file. "empty": an empty data chunk, and the walk goes on.
   */
  zeroSizeData?: "rest" | "empty";
}

export class WavChunkError extends Error {
  override name = "WavChunkError";
}

function tag(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!);
}

/** Starts with a RIFF/WAVE header. */
export function isRiffWave(input: Uint8Array | ArrayBuffer): boolean {
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  return bytes.byteLength >= 12 && tag(bytes, 0) === "RIFF" && tag(bytes, 8) === "WAVE";
}

/**
 * Walk a RIFF/WAVE file's chunks for the fmt fields and the data bytes. Other chunks (LIST, fact,
 * bext...) and the pad byte after an odd-sized chunk are skipped; the last fmt chunk wins; a fmt
 * chunk after the data chunk is found. A data size that overruns the file (streaming writers put
 * 0xFFFFFFFF there) is clamped to the bytes present. Does not judge the encoding.
 */
export function readWavChunks(bytes: Uint8Array, options: WavChunkOptions = {}): WavChunks {
  const Err = options.error ?? WavChunkError;
  if (!isRiffWave(bytes)) {
    const what = bytes.byteLength >= 4 && tag(bytes, 0) === "RF64" ? " (RF64 is not supported)" : "";
    throw new Err(`not a WAV file: missing RIFF/WAVE header${what}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavChunks, "data"> | undefined;
  let data: Uint8Array | undefined;
  for (let offset = 12; offset + 8 <= bytes.byteLength;) {
    const id = tag(bytes, offset);
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.byteLength) throw new Err(`WAV fmt chunk too short (${size} bytes)`);
      let format = view.getUint16(body, true);
      if (format === WAVE_FORMAT.EXTENSIBLE && size >= 40 && body + 40 <= bytes.byteLength) format = view.getUint16(body + 24, true);
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (size === 0 && options.zeroSizeData !== "empty") size = 0xffffffff;
      data = bytes.subarray(body, body + Math.min(size, bytes.byteLength - body));
      // What follows a streamed data chunk is more audio, not chunks: stop once fmt is known too.
      if (fmt) break;
    }
    offset = body + size + (size & 1);
  }
  if (!fmt) throw new Err("WAV has no fmt chunk");
  if (!data) throw new Err("WAV has no data chunk");
  return { ...fmt, data };
}

export type SampleReader = (view: DataView, offset: number) => number;

/** Reads one sample as -1..1: integer PCM of 8 (unsigned), 16, 24 or 32 bits, or 32/64-bit float. Undefined for anything else. */
export function pcmSampleReader(format: number, bitsPerSample: number): SampleReader | undefined {
  if (format === WAVE_FORMAT.PCM) {
    if (bitsPerSample === 8) return (v, o) => (v.getUint8(o) - 128) / 128;
    if (bitsPerSample === 16) return (v, o) => v.getInt16(o, true) / 32768;
    if (bitsPerSample === 24) return (v, o) => (v.getUint8(o) | (v.getUint8(o + 1) << 8) | (v.getInt8(o + 2) << 16)) / 8388608;
    if (bitsPerSample === 32) return (v, o) => v.getInt32(o, true) / 2147483648;
  }
  if (format === WAVE_FORMAT.IEEE_FLOAT) {
    if (bitsPerSample === 32) return (v, o) => v.getFloat32(o, true);
    if (bitsPerSample === 64) return (v, o) => v.getFloat64(o, true);
  }
  return undefined;
}
