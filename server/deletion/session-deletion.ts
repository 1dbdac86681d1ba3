// Deleting a conversation, in an order that cannot leave half of it behind: stop what is live (sockets
// closed with a code the client does not reconnect on, turns in flight cut and settled), then the
// cleanups outside the session's own storage (sessionCleanups(): a failure there leaves the session
// whole so the owner can try again), then the session's rows, its alarm and all its storage, and last
// a tombstone: one marker under which every later request for the id answers 404 `not_found`, like an
// id nothing was ever stored under. Pure orchestration: the Durable Object supplies the steps.
import { CLOSE_CODES } from "../../shared/protocol.ts";

/** Close code for the sockets of a deleted session (client/connection/session-connection.ts does not reconnect on it). */
export const SESSION_DELETED_CLOSE = { code: CLOSE_CODES.sessionDeleted, reason: "session deleted" } as const;

/** The one key a deleted session keeps in its storage (the Durable Object's key-value API). */
export const TOMBSTONE_KEY = "parley:deleted";

/** A cleanup of something the session keeps outside its own storage; it must be idempotent (a failed delete is retried). */
export interface SessionCleanup {
  name: string;
  run(sessionId: string): Promise<void>;
}

/** Where a session keeps things outside its own storage. */
export interface OutsideStores {
  /** Delete every recording stored under the session's prefix (R2). */
  deleteRecordings(sessionId: string): Promise<void>;
  /** Remove the session's entry from the review index (D1). */
  deleteIndexEntry(sessionId: string): Promise<void>;
}

/** What a deleted session must also clean up elsewhere, run before its own storage goes. */
export function sessionCleanups(stores: OutsideStores): SessionCleanup[] {
  return [
    { name: "recordings", run: (id) => stores.deleteRecordings(id) },
    { name: "review index", run: (id) => stores.deleteIndexEntry(id) },
  ];
}

export interface DeletionSteps {
  /** Refuse new connections and turns, close the sockets, cut turns in flight and wait (bounded) for them to settle. */
  stopLive(): Promise<void>;
  /** Let the session be used again after a failed cleanup. */
  resume(): void;
  /** Delete the conversation's rows (messages, turns, segments, interruptions, recovery rows, recording rows). */
  deleteRows(): void;
  /** Delete the alarm and everything stored, then write the tombstone. */
  deleteStorage(): Promise<void>;
}

export type DeletionResult = { ok: true } | { ok: false; failed: string; message: string };

export async function deleteSession(sessionId: string, steps: DeletionSteps, cleanups: readonly SessionCleanup[]): Promise<DeletionResult> {
  await steps.stopLive();
  for (const c of cleanups) {
    try {
      await c.run(sessionId);
    } catch (err) {
      steps.resume();
      return { ok: false, failed: c.name, message: err instanceof Error ? err.message : String(err) };
    }
  }
  steps.deleteRows();
  await steps.deleteStorage();
  return { ok: true };
}

export interface TombstoneStorage {
  kv: { get<T = unknown>(key: string): T | undefined };
}

export function isDeleted(storage: TombstoneStorage): boolean {
  return storage.kv.get(TOMBSTONE_KEY) !== undefined;
}
