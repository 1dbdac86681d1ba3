// Base64 for audio payloads (melotts answers, whisper-large-v3-turbo requests): the platform's
// Uint8Array.fromBase64 / toBase64 (workerd, current browsers). Node 24, which runs the unit tests and
// the offline stand-in, lacks them: there atob/btoa do the work. A rejected input is examined again to
// say what is wrong and where.

export class Base64Error extends Error {
  override name = "Base64Error";
}

// Not in TypeScript's es2024 lib yet; undefined where the runtime lacks them.
const platform = Uint8Array as { fromBase64?: (s: string) => Uint8Array<ArrayBuffer> };
const platformToBase64 = (Uint8Array.prototype as { toBase64?: (this: Uint8Array) => string }).toBase64;

export function bytesToBase64(bytes: Uint8Array): string {
  if (platformToBase64) return platformToBase64.call(bytes);
  let binary = "";
  // Chunked: String.fromCharCode takes one argument per byte, and argument counts are bounded.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Decode standard base64 (RFC 4648 alphabet). Accepts missing padding and ASCII whitespace
 * (line-wrapped MIME output); rejects anything else with a Base64Error naming the problem and position.
 */
export function base64ToBytes(input: string): Uint8Array<ArrayBuffer> {
  if (typeof input !== "string") throw new Base64Error(`base64 input must be a string, got ${typeof input}`);
  try {
    if (platform.fromBase64) return platform.fromBase64(input);
    const binary = atob(input);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    throw describeInvalid(input);
  }
}

const ALPHABET = /[A-Za-z0-9+/]/;

/** Why the platform refused `input` (which it does for the same inputs as this check). */
function describeInvalid(input: string): Base64Error {
  const s = input.replace(/[\t\n\f\r ]+/g, "");
  let len = s.length;
  while (len > 0 && s[len - 1] === "=" && s.length - len < 3) len--;
  const padding = s.length - len;
  for (let i = 0; i < len; i++) {
    const ch = s[i]!;
    if (ALPHABET.test(ch)) continue;
    const hint =
      ch === "-" || ch === "_" ? " (base64url alphabet; convert '-' and '_' to '+' and '/')" : ch === "=" ? " (padding in the middle)" : "";
    // Positions refer to the input with whitespace removed.
    return new Base64Error(`invalid base64: unexpected ${JSON.stringify(ch)} at position ${i}${hint}`);
  }
  if (len % 4 === 1) return new Base64Error(`invalid base64: length ${len} is not a valid encoded length`);
  if (padding > 0 && (len + padding) % 4 !== 0) {
    return new Base64Error(`invalid base64: ${padding} padding character(s) after ${len} characters`);
  }
  return new Base64Error("invalid base64");
}
