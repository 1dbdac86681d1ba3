// Minimal RIFF/WAVE reader: PCM 8/16/24/32-bit integer and 32/64-bit float, WAVE_FORMAT_EXTENSIBLE,
// any channel count (mixed down to mono). Tolerates streaming headers whose data size is 0 or
// 0xFFFFFFFF, and a truncated last sample. Pure: no DOM.

export interface DecodedPcm {
  sampleRate: number;
  channels: number;
  /** Mono mix, -1..1. */
  samples: Float32Array;
}

export class WavError extends Error {
  override name = "WavError";
}

function fourcc(view: DataView, offset: number): string {
  return String.fromCharCode(view.getUint8(offset), view.getUint8(offset + 1), view.getUint8(offset + 2), view.getUint8(offset + 3));
}

export function isWav(bytes: ArrayBuffer): boolean {
  if (bytes.byteLength < 12) return false;
  const v = new DataView(bytes);
  return fourcc(v, 0) === "RIFF" && fourcc(v, 8) === "WAVE";
}

export function parseWav(bytes: ArrayBuffer): DecodedPcm {
  if (!isWav(bytes)) throw new WavError("not a RIFF/WAVE file");
  const view = new DataView(bytes);
  let offset = 12;
  let format = 0;
  let channels = 0;
  let sampleRate = 0;
  let bits = 0;
  let blockAlign = 0;
  let dataStart = -1;
  let dataLength = 0;
  while (offset + 8 <= view.byteLength) {
    const id = fourcc(view, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > view.byteLength) throw new WavError("fmt chunk too short");
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      sampleRate = view.getUint32(body + 4, true);
      blockAlign = view.getUint16(body + 12, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 40) format = view.getUint16(body + 24, true); // sub-format GUID's first 2 bytes
    } else if (id === "data") {
      dataStart = body;
      const remaining = view.byteLength - body;
      dataLength = size === 0 || size === 0xffffffff || size > remaining ? remaining : size;
      break;
    }
    offset = body + size + (size & 1);
  }
  if (!format) throw new WavError("missing fmt chunk");
  if (dataStart < 0) throw new WavError("missing data chunk");
  if (channels < 1 || sampleRate < 1) throw new WavError("bad channel count or sample rate");
  const bytesPerSample = bits / 8;
  if (!(format === 1 && [8, 16, 24, 32].includes(bits)) && !(format === 3 && (bits === 32 || bits === 64))) {
    throw new WavError(`unsupported WAV encoding (format ${format}, ${bits} bits)`);
  }
  const frameBytes = blockAlign || bytesPerSample * channels;
  const frames = Math.floor(dataLength / frameBytes);
  const samples = new Float32Array(frames);
  const read = (pos: number): number => {
    if (format === 3) return bits === 32 ? view.getFloat32(pos, true) : view.getFloat64(pos, true);
    switch (bits) {
      case 8:
        return (view.getUint8(pos) - 128) / 128;
      case 16:
        return view.getInt16(pos, true) / 32768;
      case 24: {
        const v = view.getUint8(pos) | (view.getUint8(pos + 1) << 8) | (view.getInt8(pos + 2) << 16);
        return v / 8388608;
      }
      default:
        return view.getInt32(pos, true) / 2147483648;
    }
  };
  for (let f = 0; f < frames; f++) {
    const base = dataStart + f * frameBytes;
    let acc = 0;
    for (let c = 0; c < channels; c++) acc += read(base + c * bytesPerSample);
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
