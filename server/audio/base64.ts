// Base64 without Buffer: btoa/atob exist in workerd and Node. Sized for ~1 MB audio payloads
// (melotts answers, whisper-large-v3-turbo requests).

export class Base64Error extends Error {
  override name = "Base64Error";
}

// A multiple of 3, so each chunk encodes to whole base64 quads and the pieces can be joined.
// Small enough for Function.prototype.apply's argument limit.
const ENCODE_CHUNK_BYTES = 3 * 8192;

export function bytesToBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += ENCODE_CHUNK_BYTES) {
    const chunk = bytes.subarray(i, i + ENCODE_CHUNK_BYTES);
    parts.push(btoa(String.fromCharCode.apply(null, chunk as unknown as number[])));
  }
  return parts.join("");
}

const BASE64_BODY = /^[A-Za-z0-9+/]*$/;
const HAS_WHITESPACE = /[\t\n\f\r ]/;
const ALL_WHITESPACE = /[\t\n\f\r ]+/g;

/**
 * Decode standard base64 (RFC 4648 alphabet). Accepts missing padding and ASCII whitespace
 * (line-wrapped MIME output); rejects anything else with a Base64Error naming the problem and position.
 */
export function base64ToBytes(input: string): Uint8Array<ArrayBuffer> {
  if (typeof input !== "string") throw new Base64Error(`base64 input must be a string, got ${typeof input}`);
  let s: string = input;
  if (HAS_WHITESPACE.test(s)) s = s.replace(ALL_WHITESPACE, "");
  let padding = 0;
  while (padding < s.length && padding < 3 && s.charCodeAt(s.length - 1 - padding) === 61 /* = */) padding++;
  const body = padding ? s.slice(0, s.length - padding) : s;
  if (!BASE64_BODY.test(body)) {
    const bad = body.search(/[^A-Za-z0-9+/]/);
    const ch = body[bad]!;
    const hint = ch === "-" || ch === "_" ? " (base64url alphabet; convert '-' and '_' to '+' and '/')" : ch === "=" ? " (padding in the middle)" : "";
    throw new Base64Error(`invalid base64: unexpected ${JSON.stringify(ch)} at position ${bad}${hint}`);
  }
  if (body.length % 4 === 1) throw new Base64Error(`invalid base64: length ${body.length} is not a valid encoded length`);
  if (padding && (body.length + padding) % 4 !== 0) {
    throw new Base64Error(`invalid base64: ${padding} padding character(s) after ${body.length} characters`);
  }
  const binary = atob(body);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
