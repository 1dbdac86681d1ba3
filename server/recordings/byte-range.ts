// The `Range` header of a recording request (RFC 9110 §14): one byte range, `bytes=first-last`,
// `bytes=first-` or `bytes=-suffix`. Anything else a server may ignore (the whole file is sent): a
// header that does not parse, another unit, several ranges. Pure.

export type RangeAnswer =
  /** Send the whole file (no Range, or one this server ignores). */
  | { kind: "whole" }
  /** Send `length` bytes from `offset` (206). */
  | { kind: "partial"; offset: number; length: number }
  /** No byte of the range is in the file (416). */
  | { kind: "unsatisfiable" };

export function byteRange(header: string | null, size: number): RangeAnswer {
  if (header === null) return { kind: "whole" };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return { kind: "whole" };
  if (m[1] === "") {
    // The last `suffix` bytes.
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    const length = Math.min(suffix, size);
    return { kind: "partial", offset: size - length, length };
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? Infinity : Number(m[2]);
  if (last < first) return { kind: "whole" }; // invalid: ignored, as RFC 9110 allows
  if (first >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", offset: first, length: Math.min(last, size - 1) - first + 1 };
}

/** `Content-Range` of a partial answer. */
export function contentRange(offset: number, length: number, size: number): string {
  return `bytes ${offset}-${offset + length - 1}/${size}`;
}
