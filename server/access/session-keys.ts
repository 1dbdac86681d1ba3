// Session ids and the keys that open them. The server mints ids (128 random bits) and signs keys
// with HMAC-SHA-256 under SESSION_SECRET, so checking a key needs no storage: only the review
// version (revocation of share links) lives with the session. Pure WebCrypto, no Cloudflare imports.
import { OWNER_TOKEN_PATTERN, SESSION_ID_PATTERN, SESSION_KEY_PATTERN } from "../../shared/protocol.ts";

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
/** 16 bytes = 128 bits of randomness (the id must carry at least 96). */
const ID_BYTES = 16;
/** Domain separation: a MAC made for anything else never verifies as a session key. */
const KEY_CONTEXT = "parley/session-key/v1";

export type KeyGrant = { role: "owner" } | { role: "review"; version: number };

/** A fresh session id: 26 characters of lower-case base32. */
export function mintSessionId(): string {
  return base32(crypto.getRandomValues(new Uint8Array(ID_BYTES)));
}

/** Lower-case base32 without padding (16 bytes -> 26 characters, a session id). */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

export function isSessionId(value: string): boolean {
  return SESSION_ID_PATTERN.test(value);
}

type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;
const hmacKeys = new Map<string, Promise<HmacKey>>();

export function hmacKey(secret: string): Promise<HmacKey> {
  let key = hmacKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    hmacKeys.set(secret, key);
  }
  return key;
}

/**
 * What a key's MAC covers. The owner's key is bound to the owner's Cloudflare Access email when
 * Access is in front (another Access user cannot use it); review keys are bound to their version.
 */
function signedText(sessionId: string, grant: KeyGrant, ownerEmail: string | null): Uint8Array<ArrayBuffer> {
  const claim = grant.role === "owner" ? `owner\n${ownerEmail ?? ""}` : `review\n${grant.version}`;
  const bytes = new TextEncoder().encode(`${KEY_CONTEXT}\n${sessionId}\n${claim}`);
  return new Uint8Array(bytes);
}

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** `o.<mac>` for the owner, `r.<version>.<mac>` for a review key. */
export async function signKey(secret: string, sessionId: string, grant: KeyGrant, ownerEmail: string | null = null): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), signedText(sessionId, grant, ownerEmail)));
  return `${grant.role === "owner" ? "o" : `r.${grant.version}`}.${base64url(mac)}`;
}

/**
 * The grant a key carries for this session, or null when it is not a key of this session (forged,
 * another session's, another owner's). The MAC is checked by `crypto.subtle.verify`, which compares
 * in constant time. Whether a review key's version is still current is the session's to say.
 */
export async function verifyKey(
  secret: string,
  sessionId: string,
  key: string,
  ownerEmail: string | null = null,
): Promise<KeyGrant | null> {
  if (!SESSION_KEY_PATTERN.test(key)) return null;
  const parts = key.split(".");
  const grant: KeyGrant = parts[0] === "o" ? { role: "owner" } : { role: "review", version: Number(parts[1]) };
  const mac = fromBase64url(parts[parts.length - 1]!);
  const ok = await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, signedText(sessionId, grant, ownerEmail));
  return ok ? grant : null;
}

/** Domain separation for the operator's key: it opens no session, and no session key opens the operator's view. */
const OPERATOR_CONTEXT = "parley/operator-key/v1";
const OPERATOR_KEY_PATTERN = /^op\.[A-Za-z0-9_-]{43}$/;

/**
 * The deployment operator's key (`op.<mac>`): shows the day's spending in /api/health. Derived from
 * SESSION_SECRET, so whoever set the secret can compute it (`npm run operator-key`); nothing is stored.
 */
export async function operatorKey(secret: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), new TextEncoder().encode(OPERATOR_CONTEXT)));
  return `op.${base64url(mac)}`;
}

export async function isOperatorKey(secret: string, key: string): Promise<boolean> {
  if (!OPERATOR_KEY_PATTERN.test(key)) return false;
  return crypto.subtle.verify("HMAC", await hmacKey(secret), fromBase64url(key.slice(3)), new TextEncoder().encode(OPERATOR_CONTEXT));
}

/** Domain separation for owner tokens: neither a session key nor the operator key is ever one. */
const OWNER_TOKEN_CONTEXT = "parley/owner-token/v1";

function ownerTokenText(ownerId: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new TextEncoder().encode(`${OWNER_TOKEN_CONTEXT}\n${ownerId}`));
}

/**
 * An owner token, `u.<ownerId>.<mac>`: lists the sessions created with it (GET /api/conversations) when
 * Cloudflare Access is not in front. The owner id is minted like a session id; nothing is stored.
 */
export async function signOwnerToken(secret: string, ownerId: string = mintSessionId()): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), ownerTokenText(ownerId)));
  return `u.${ownerId}.${base64url(mac)}`;
}

/** The owner id an owner token carries, or null when this server did not sign it. */
export async function verifyOwnerToken(secret: string, token: string): Promise<string | null> {
  if (!OWNER_TOKEN_PATTERN.test(token)) return null;
  const [, ownerId, mac] = token.split(".") as [string, string, string];
  return (await crypto.subtle.verify("HMAC", await hmacKey(secret), fromBase64url(mac), ownerTokenText(ownerId))) ? ownerId : null;
}
