// The signed token that lets a Media Stream into a session. The voice webhook (whose request Twilio
// signed) mints it and puts it in the TwiML as a `<Parameter>`; the stream's `start` message brings it
// back, and the session admits the stream only if the token is its own, unexpired and for the same
// call. A stream's own claims (call sid, parameters) are never trusted without it.
// HMAC-SHA-256 under SESSION_SECRET, domain-separated from every other key. Pure WebCrypto.
import { base64url, fromBase64url, hmacKey } from "../access/session-keys.ts";

const TOKEN_CONTEXT = "parley/phone-stream/v1";
const TOKEN_PATTERN = /^ps1\.[A-Za-z0-9_-]{1,600}\.[A-Za-z0-9_-]{43}$/;

export interface StreamClaims {
  sessionId: string;
  callSid: string;
  /** The caller's number, masked (server/phone/caller.ts): what review shows. */
  caller: string;
  /** Epoch ms after which the stream is refused. */
  expiresAt: number;
}

function macText(payload: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new TextEncoder().encode(`${TOKEN_CONTEXT}\n${payload}`));
}

/** `ps1.<claims, base64url JSON>.<mac>` */
export async function mintStreamToken(secret: string, claims: StreamClaims): Promise<string> {
  const payload = base64url(
    new TextEncoder().encode(JSON.stringify({ s: claims.sessionId, c: claims.callSid, n: claims.caller, e: claims.expiresAt })),
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), macText(payload)));
  return `ps1.${payload}.${base64url(mac)}`;
}

export type TokenVerdict =
  | { ok: true; claims: StreamClaims }
  | { ok: false; reason: "malformed" | "forged" | "expired" | "other-session" | "other-call" };

/** Whether `token` admits the stream of call `callSid` into session `sessionId` at `now`. */
export async function verifyStreamToken(
  secret: string,
  token: string,
  expect: { sessionId: string; callSid: string },
  now: number,
): Promise<TokenVerdict> {
  if (!TOKEN_PATTERN.test(token)) return { ok: false, reason: "malformed" };
  const [, payload, macText64] = token.split(".") as [string, string, string];
  let mac: Uint8Array<ArrayBuffer>;
  let claims: StreamClaims;
  try {
    mac = fromBase64url(macText64);
    if (!(await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, macText(payload)))) return { ok: false, reason: "forged" };
    const raw = JSON.parse(new TextDecoder().decode(fromBase64url(payload))) as { s?: unknown; c?: unknown; n?: unknown; e?: unknown };
    if (typeof raw.s !== "string" || typeof raw.c !== "string" || typeof raw.n !== "string" || typeof raw.e !== "number")
      return { ok: false, reason: "malformed" };
    claims = { sessionId: raw.s, callSid: raw.c, caller: raw.n, expiresAt: raw.e };
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (now > claims.expiresAt) return { ok: false, reason: "expired" };
  if (claims.sessionId !== expect.sessionId) return { ok: false, reason: "other-session" };
  if (claims.callSid !== expect.callSid) return { ok: false, reason: "other-call" };
  return { ok: true, claims };
}
