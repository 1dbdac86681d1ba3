// G.711 (ITU-T) companding: μ-law (telephone lines in North America and Japan, Twilio Media Streams)
// and A-law, 8-bit samples of 14/13-bit linear audio. The classic Sun reference implementation;
// decoding goes through 256-entry tables. Pure: runs in workerd and Node.

// G.711 μ-law: bias 0x84 (132), clip at 32635, sign-magnitude with all bits inverted.
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

const MULAW_TABLE = Int16Array.from({ length: 256 }, (_, b) => mulawToLinear(b));

/** μ-law bytes -> PCM16 samples (one per byte). */
export function decodeMulaw(bytes: Uint8Array, out: Int16Array = new Int16Array(bytes.length)): Int16Array {
  if (out.length < bytes.length) throw new RangeError(`output holds ${out.length} samples, need ${bytes.length}`);
  for (let i = 0; i < bytes.length; i++) out[i] = MULAW_TABLE[bytes[i]!]!;
  return out;
}

/** PCM16 samples -> μ-law bytes (one per sample). */
export function encodeMulaw(pcm: Int16Array, out: Uint8Array = new Uint8Array(pcm.length)): Uint8Array {
  if (out.length < pcm.length) throw new RangeError(`output holds ${out.length} bytes, need ${pcm.length}`);
  for (let i = 0; i < pcm.length; i++) out[i] = linearToMulaw(pcm[i]!);
  return out;
}
