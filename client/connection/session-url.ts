// The session id lives in the URL: /s/<id> (shareable). Helpers to read it and make new ones.
import { SessionId } from "../../shared/protocol.ts";

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"; // no look-alikes

export type SessionFromUrl = { kind: "none" } | { kind: "valid"; id: string } | { kind: "invalid"; raw: string };

/** Read the session id from a path like "/s/abc123"; "/" and "/index.html" have none. */
export function sessionFromPath(pathname: string): SessionFromUrl {
  const m = /^\/s\/([^/]*)\/?$/.exec(pathname);
  if (!m) return { kind: "none" };
  let raw = m[1] ?? "";
  try {
    raw = decodeURIComponent(raw);
  } catch {
    return { kind: "invalid", raw };
  }
  return SessionId.safeParse(raw).success ? { kind: "valid", id: raw } : { kind: "invalid", raw };
}

export function sessionPath(id: string): string {
  return `/s/${encodeURIComponent(id)}`;
}

/** A fresh, unguessable session id (14 characters, ~80 bits). */
export function newSessionId(length = 14): string {
  const out: string[] = [];
  const bytes = new Uint8Array(length * 2);
  while (out.length < length) {
    crypto.getRandomValues(bytes);
    for (const b of bytes) {
      // Rejection sampling keeps the distribution uniform.
      if (b < ALPHABET.length * Math.floor(256 / ALPHABET.length) && out.length < length) out.push(ALPHABET[b % ALPHABET.length]!);
    }
  }
  return out.join("");
}
