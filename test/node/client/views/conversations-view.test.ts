// The conversations page's pure parts: how durations and start times read, the page's path, and the
// owner token this browser keeps (and sends when it creates a session).
import { describe, expect, it } from "vitest";
import {
  forgetOwnerToken,
  rememberOperatorKey,
  rememberOwnerToken,
  storedOperatorKey,
  storedOwnerToken,
} from "../../../../client/connection/key-store.ts";
import { isConversationsPath } from "../../../../client/connection/session-url.ts";
import { formatDuration, formatStarted } from "../../../../client/views/format.ts";

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (k: string) => items.get(k) ?? null,
    setItem: (k: string, v: string) => void items.set(k, v),
    removeItem: (k: string) => void items.delete(k),
  };
}

describe("conversations page", () => {
  it("formats durations in seconds, minutes and hours", () => {
    expect(formatDuration(0)).toBe("0 s");
    expect(formatDuration(44_600)).toBe("45 s");
    expect(formatDuration(185_000)).toBe("3 min 05 s");
    expect(formatDuration(3_725_000)).toBe("1 h 02 min");
    expect(formatDuration(Number.NaN)).toBe("–");
  });

  it("shows the time alone for today's conversations, the date with it for older ones", () => {
    const now = new Date(2026, 10, 29, 18, 0).getTime();
    const today = formatStarted(new Date(2026, 10, 29, 9, 5).getTime(), now, "en-GB");
    expect(today).toBe("09:05");
    expect(formatStarted(new Date(2026, 10, 2, 9, 5).getTime(), now, "en-GB")).toMatch(/2 Nov 2026/);
  });

  it("lives at /conversations", () => {
    expect(isConversationsPath("/conversations")).toBe(true);
    expect(isConversationsPath("/conversations/")).toBe(true);
    expect(isConversationsPath("/conversations/x")).toBe(false);
    expect(isConversationsPath("/s/abc")).toBe(false);
  });

  it("keeps a well-formed owner token only, and forgets it on request", () => {
    const storage = memoryStorage();
    expect(storedOwnerToken(storage)).toBeNull();
    rememberOwnerToken(storage, "o.not-an-owner-token");
    expect(storedOwnerToken(storage)).toBeNull();
    const token = `u.${"a".repeat(26)}.${"B".repeat(43)}`;
    rememberOwnerToken(storage, token);
    rememberOwnerToken(storage, null);
    expect(storedOwnerToken(storage)).toBe(token);
    forgetOwnerToken(storage);
    expect(storedOwnerToken(storage)).toBeNull();
  });

  it("keeps the operator key typed in this tab (the review pages it opens read with it) only while well-formed, and drops it when cleared", () => {
    const storage = memoryStorage();
    expect(storedOperatorKey(storage)).toBeNull();
    rememberOperatorKey(storage, "  o.an-owner-key-is-no-operator-key ");
    expect(storedOperatorKey(storage)).toBeNull();
    const key = `op.${"A".repeat(43)}`;
    rememberOperatorKey(storage, ` ${key} `);
    expect(storedOperatorKey(storage)).toBe(key);
    rememberOperatorKey(storage, "  ");
    expect(storedOperatorKey(storage)).toBeNull();
    expect(storage.getItem("parley.operatorKey")).toBeNull();
  });
});
