// How bench clients get into Parley sessions: the system under test runs with a session secret of
// this process, so clients sign their own owner keys (as the Worker would mint them) and offer them
// as the WebSocket subprotocol; its per-address limiters are set far above any benchmark's load
// (every bench client comes from 127.0.0.1), so they are called on every request but never bind.
import { randomBytes } from "node:crypto";
import { KEY_SUBPROTOCOL_PREFIX, SESSION_SUBPROTOCOL } from "../../shared/protocol.ts";
import { mintSessionId, signKey } from "../../server/access/session-keys.ts";

const SECRET = randomBytes(32).toString("base64url");
const NEVER_BINDS = { limit: 1_000_000_000, period: 60 as const };

/** Bindings Parley's Worker needs besides its vars (miniflare options: `bindings` and `ratelimits`). */
export const PARLEY_ACCESS_BINDINGS: Readonly<Record<string, string>> = { SESSION_SECRET: SECRET };
export const PARLEY_RATELIMITS = {
  SESSION_CREATE_LIMITER: { namespace_id: "7101", simple: NEVER_BINDS },
  SESSION_CONNECT_LIMITER: { namespace_id: "7102", simple: NEVER_BINDS },
};

export interface BenchSession {
  id: string;
  /** Offer these on the WebSocket: `parley` and the owner key. */
  protocols: string[];
  /** For the HTTP API (transcript). */
  authorization: string;
}

/**
 * A fresh session and its owner key. `warmUp` sessions start with "warm" (valid base32): the bench
 * fake AI recognises them by that prefix and keeps its stratified draws for the measured sessions.
 */
export async function benchSession(o: { warmUp?: boolean } = {}): Promise<BenchSession> {
  const random = mintSessionId();
  const id = o.warmUp ? `warm${random.slice(4)}` : random;
  const key = await signKey(SECRET, id, { role: "owner" });
  return { id, protocols: [SESSION_SUBPROTOCOL, `${KEY_SUBPROTOCOL_PREFIX}${key}`], authorization: `Bearer ${key}` };
}

/** The owner's `Authorization` header of a session minted elsewhere (a phone call's, named by the webhook). */
export async function ownerAuthorization(sessionId: string): Promise<string> {
  return `Bearer ${await signKey(SECRET, sessionId, { role: "owner" })}`;
}
