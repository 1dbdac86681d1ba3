// The owner keys of the sessions this browser created, in localStorage (never in a URL). Losing one
// loses the way back into that session, so they are kept until the browser's storage is cleared.
import { OwnerToken, SessionKey } from "../../shared/protocol.ts";

const STORAGE_KEY = "parley.ownerKeys";
/** Oldest keys are dropped past this many, so the entry cannot grow without bound. */
const KEPT = 500;

export interface KeyStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function load(storage: KeyStorage): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(STORAGE_KEY) ?? "{}");
    return parsed && typeof parsed === "object" ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function ownerKeyFor(storage: KeyStorage, sessionId: string): string | null {
  const key = load(storage)[sessionId];
  return typeof key === "string" && SessionKey.safeParse(key).success ? key : null;
}

export function rememberOwnerKey(storage: KeyStorage, sessionId: string, key: string): void {
  const keys = load(storage);
  delete keys[sessionId];
  keys[sessionId] = key; // newest last
  const ids = Object.keys(keys);
  for (const old of ids.slice(0, Math.max(0, ids.length - KEPT))) delete keys[old];
  storage.setItem(STORAGE_KEY, JSON.stringify(keys));
}

const OWNER_TOKEN_KEY = "parley.ownerToken";

/**
 * The owner token of this browser (`u.…`): every session it creates is recorded under it, and it lists
 * them (the conversations page). Sent when creating a session; the server mints one the first time.
 */
export function storedOwnerToken(storage: KeyStorage): string | null {
  const token = storage.getItem(OWNER_TOKEN_KEY);
  return token && OwnerToken.safeParse(token).success ? token : null;
}

export function rememberOwnerToken(storage: KeyStorage, token: string | null): void {
  if (token && OwnerToken.safeParse(token).success) storage.setItem(OWNER_TOKEN_KEY, token);
}

export function forgetOwnerToken(storage: KeyStorage & { removeItem(key: string): void }): void {
  storage.removeItem(OWNER_TOKEN_KEY);
}

/** A deleted session's key opens nothing any more. */
export function forgetOwnerKey(storage: KeyStorage, sessionId: string): void {
  const keys = load(storage);
  if (!(sessionId in keys)) return;
  delete keys[sessionId];
  storage.setItem(STORAGE_KEY, JSON.stringify(keys));
}

const OPERATOR_KEY = "parley.operatorKey";

/** The operator key typed on the conversations page: kept for the tab only (give sessionStorage), never in a URL. */
export function storedOperatorKey(storage: KeyStorage): string | null {
  const key = storage.getItem(OPERATOR_KEY)?.trim();
  return key && /^op\.[A-Za-z0-9_-]{43}$/.test(key) ? key : null;
}

export function rememberOperatorKey(storage: KeyStorage & { removeItem(key: string): void }, key: string): void {
  if (key.trim()) storage.setItem(OPERATOR_KEY, key.trim());
  else storage.removeItem(OPERATOR_KEY);
}
