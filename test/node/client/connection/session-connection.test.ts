// The client's side of a deleted session: a socket closed with the session-deleted code is not
// reconnected (any other close is), an export keeps the server's file name, a deleted session's key is forgotten.
// The connection module reads the page's location: DOM types for this file.
/// <reference lib="dom" />
import { afterEach, describe, expect, it, vi } from "vitest";
import { CLOSE_CODES } from "../../../../shared/protocol.ts";
import { SessionConnection } from "../../../../client/connection/session-connection.ts";
import type { ConnectionStatus } from "../../../../client/connection/connection-status.ts";
import { attachmentName } from "../../../../client/connection/session-api.ts";
import { forgetOwnerKey, ownerKeyFor, rememberOwnerKey } from "../../../../client/connection/key-store.ts";

/** A WebSocket that opens at once and closes when the test says. */
class FakeSocket extends EventTarget {
  static made: FakeSocket[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  binaryType = "blob";
  constructor(readonly url: string) {
    super();
    FakeSocket.made.push(this);
    setTimeout(() => {
      this.readyState = 1;
      this.dispatchEvent(new Event("open"));
    }, 0);
  }
  send(): void {}
  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.serverClose(code, reason);
  }
  serverClose(code: number, reason: string): void {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event("close"), { code, reason, wasClean: true }));
  }
}

async function closedWith(code: number): Promise<{ statuses: ConnectionStatus[]; sockets: number }> {
  FakeSocket.made = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  const statuses: ConnectionStatus[] = [];
  const conn = new SessionConnection(
    { host: "parley.test", sessionId: "abcdefghijklmnopqrstuvwxyz", key: `o.${"A".repeat(43)}`, mode: "hands-free", secure: false },
    { status: (s) => statuses.push(s), message: () => {}, segment: () => {}, protocolError: () => {} },
  );
  await vi.waitFor(() => expect(FakeSocket.made[0]?.readyState).toBe(1));
  FakeSocket.made[0]!.serverClose(code, "test");
  // partysocket waits 0.5–1 s (minReconnectionDelay) before it reconnects.
  await new Promise((r) => setTimeout(r, 1_500));
  const sockets = FakeSocket.made.length;
  conn.close();
  return { statuses, sockets };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("a deleted session on the client", () => {
  it("a socket closed with the session-deleted code is not reconnected and the status is not-found", async () => {
    const { statuses, sockets } = await closedWith(CLOSE_CODES.sessionDeleted);
    expect(statuses).toContain("not-found");
    expect(sockets).toBe(1);
  });

  it("a socket dropped any other way is reconnected", async () => {
    const { statuses, sockets } = await closedWith(1006);
    expect(statuses).not.toContain("not-found");
    expect(sockets).toBe(2);
  });

  it("an export is saved under the file name the server gave it", () => {
    expect(attachmentName('attachment; filename="parley-abcdefgh-2026-11-20.vtt"')).toBe("parley-abcdefgh-2026-11-20.vtt");
    expect(attachmentName('attachment; filename="../../etc/passwd"')).toBeNull();
    expect(attachmentName(null)).toBeNull();
  });

  it("a deleted session's owner key is forgotten, others are kept", () => {
    const data = new Map<string, string>();
    const storage = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    const key = `o.${"B".repeat(43)}`;
    rememberOwnerKey(storage, "a".repeat(26), key);
    rememberOwnerKey(storage, "b".repeat(26), key);
    forgetOwnerKey(storage, "a".repeat(26));
    expect(ownerKeyFor(storage, "a".repeat(26))).toBeNull();
    expect(ownerKeyFor(storage, "b".repeat(26))).toBe(key);
  });
});
