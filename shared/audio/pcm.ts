// PCM16 helpers shared by the codecs, the turn detector and the client's level meters. Pure: runs in
// workerd, browsers and Node.

/** Base class for every "these bytes are not the audio we expected" error, so callers can catch one type. */
export class AudioFormatError extends Error {
  override name = "AudioFormatError";
}

/** Level the server reports for digital silence, instead of -Infinity (keeps arithmetic and JSON finite). */
export const SILENCE_DBFS = -100;

// Typed arrays use the host byte order; every engine we run on is little-endian, but check once
// so a big-endian host still decodes correctly (via the copying path).
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * View little-endian PCM16 bytes as samples. No copy when the bytes start at an even offset
 * (the result then aliases the input); otherwise the samples are copied.
 * Throws AudioFormatError on an odd byte length.
 */
export function pcm16FromBytes(bytes: ArrayBuffer | Uint8Array): Int16Array {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (u8.byteLength % 2 !== 0) {
    throw new AudioFormatError(`PCM16 needs an even number of bytes, got ${u8.byteLength}`);
  }
  const count = u8.byteLength / 2;
  if (HOST_IS_LITTLE_ENDIAN && u8.byteOffset % 2 === 0) {
    return new Int16Array(u8.buffer, u8.byteOffset, count);
  }
  const out = new Int16Array(count);
  if (HOST_IS_LITTLE_ENDIAN) {
    // Unaligned: copy the bytes into an aligned buffer, then reinterpret.
    new Uint8Array(out.buffer).set(u8);
  } else {
    const view = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
  }
  return out;
}

/** Little-endian bytes of PCM16 samples (a view, no copy, on little-endian hosts). */
export function pcm16ToBytes(pcm: Int16Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const out = new Uint8Array(pcm.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < pcm.length; i++) view.setInt16(i * 2, pcm[i]!, true);
  return out;
}

/** Int16 -> Float32 in [-1, 1). Pass `out` to avoid allocating. */
export function int16ToFloat32(pcm: Int16Array, out: Float32Array = new Float32Array(pcm.length)): Float32Array {
  if (out.length < pcm.length) throw new RangeError(`output holds ${out.length} samples, need ${pcm.length}`);
  for (let i = 0; i < pcm.length; i++) out[i] = pcm[i]! / 32768;
  return out;
}

/** Float32 -> Int16, clamping to [-1, 1] and rounding. NaN becomes 0. Pass `out` to avoid allocating. */
export function float32ToInt16(samples: Float32Array, out: Int16Array = new Int16Array(samples.length)): Int16Array {
  if (out.length < samples.length) throw new RangeError(`output holds ${out.length} samples, need ${samples.length}`);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    // Asymmetric scale so that -1 -> -32768 and 1 -> 32767 without overflow.
    const v = s >= 0 ? Math.min(s, 1) * 32767 : Math.max(s, -1) * 32768;
    out[i] = v === v ? Math.round(v) : 0;
  }
  return out;
}

/**
 * RMS of samples[start, end) relative to full scale (32768), with the DC offset removed
 * (cheap mics often have one, and it would read as constant "energy"). 0 for an empty range.
 */
export function rms(samples: Int16Array, start = 0, end = samples.length): number {
  const n = end - start;
  if (n <= 0) return 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = start; i < end; i++) {
    const s = samples[i]!;
    sum += s;
    sumSq += s * s;
  }
  const mean = sum / n;
  const variance = Math.max(0, sumSq / n - mean * mean);
  return Math.sqrt(variance) / 32768;
}

/** Level of samples[start, end) in dBFS (a full-scale square wave is 0 dBFS, a full-scale sine about -3). */
export function rmsDbfs(samples: Int16Array, start = 0, end = samples.length): number {
  return linearToDbfs(rms(samples, start, end));
}

/** Linear level (1 = full scale) in dBFS, never below `floorDbfs` (what silence and NaN read as). */
export function linearToDbfs(linear: number, floorDbfs = SILENCE_DBFS): number {
  if (!(linear > 0)) return floorDbfs;
  return Math.max(floorDbfs, 20 * Math.log10(linear));
}
