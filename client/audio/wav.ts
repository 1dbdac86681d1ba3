// Minimal RIFF/WAVE reader: PCM 8/16/24/32-bit integer and 32/64-bit float, WAVE_FORMAT_EXTENSIBLE,
// any channel count (mixed down to mono). Tolerates streaming headers whose data size is 0 or
// 0xFFFFFFFF, and a truncated last sample. Chunk walk: shared/audio/wav-chunks.ts. Pure: no DOM.
import { isRiffWave, pcmSampleReader, readWavChunks } from "../../shared/audio/wav-chunks.ts";

export interface DecodedPcm {
  sampleRate: number;
  channels: number;
  /** Mono mix, -1..1. */
  samples: Float32Array;
}

export class WavError extends Error {
  override name = "WavError";
}

export function isWav(bytes: ArrayBuffer): boolean {
  return isRiffWave(new Uint8Array(bytes));
}

export function parseWav(bytes: ArrayBuffer): DecodedPcm {
  if (!isWav(bytes)) throw new WavError("not a RIFF/WAVE file");
  const { format, channels, sampleRate, bitsPerSample: bits, blockAlign, data } = readWavChunks(new Uint8Array(bytes), { error: WavError });
  if (channels < 1 || sampleRate < 1) throw new WavError("bad channel count or sample rate");
  const read = pcmSampleReader(format, bits);
  if (!read) throw new WavError(`unsupported WAV encoding (format ${format}, ${bits} bits)`);
  const bytesPerSample = bits / 8;
  const frameBytes = blockAlign || bytesPerSample * channels;
  const frames = Math.floor(data.length / frameBytes);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const samples = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    const base = f * frameBytes;
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += read(view, base + c * bytesPerSample);
    samples[f] = acc / channels;
  }
  return { sampleRate, channels, samples };
}

/** Build a 16-bit PCM mono WAV (tests and fixtures). */
export function encodeWav16(samples: Float32Array, sampleRate: number): ArrayBuffer {
  const out = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(out);
  const put = (o: number, s: string) => {
    for (let i = 0; i < 4; i++) v.setUint8(o + i, s.charCodeAt(i));
  };
  put(0, "RIFF");
  v.setUint32(4, 36 + samples.length * 2, true);
  put(8, "WAVE");
  put(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  put(36, "data");
  v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    v.setInt16(44 + i * 2, Math.round(s < 0 ? s * 0x8000 : s * 0x7fff), true);
  }
  return out;
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
