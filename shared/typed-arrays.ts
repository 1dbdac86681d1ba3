// Joining typed arrays (PCM chunks, float pieces, byte streams) into one new array. Pure.

/** `parts` in order, copied into one new array of `Type`. */
export function concatArrays<T extends Uint8Array | Int16Array | Float32Array>(
  Type: new (length: number) => T,
  parts: readonly ArrayLike<number>[],
): T {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Type(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
