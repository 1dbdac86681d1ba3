import { describe, expect, it } from "vitest";
import { InputLimiter, type RateLimits } from "../../../../server/limits/input-limiter.ts";

const LIMITS: RateLimits = {
  messagesPerSecond: 10,
  ipMessagesPerSecond: 15,
  sessionMessagesPerSecond: 20,
  audioRealtimeFactor: 1.5,
  ipAudioRealtimeFactor: 2,
  sessionAudioRealtimeFactor: 4,
  turnsPerSecond: 2,
  closeAfterMs: 1_000,
  closeAfterDrops: 1_000_000,
};
const BYTES_PER_SECOND = 32_000;

/** Send `n` messages from `conn` spread evenly over `overMs` starting at `from`; the verdicts. */
function send(l: InputLimiter, conn: string, n: number, from: number, overMs: number) {
  return Array.from({ length: n }, (_, i) => l.admit(conn, "message", 1, from + (overMs * i) / n));
}

describe("input limiter", () => {
  it("lets one connection burst two seconds' worth, then drops and warns once a second", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    l.join("a", "1.1.1.1", 0);
    const v = send(l, "a", 40, 0, 0);
    expect(v.filter((x) => x.ok)).toHaveLength(20);
    const dropped = v.filter((x) => !x.ok);
    expect(dropped.every((x) => !x.ok && x.scope === "connection")).toBe(true);
    expect(dropped.filter((x) => !x.ok && x.warn)).toHaveLength(1);
  });

  it("closes a connection still over its own limit after the grace period, not before", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    l.join("a", "1.1.1.1", 0);
    // 100 messages a second, ten times the limit, for 1.5 s.
    const v = send(l, "a", 150, 0, 1_500);
    const firstClose = v.findIndex((x) => !x.ok && x.close);
    expect(firstClose).toBeGreaterThan(0);
    const firstDrop = v.findIndex((x) => !x.ok);
    // The close comes 1 s (100 messages at 10 ms) after the first drop.
    expect(firstClose - firstDrop).toBeGreaterThanOrEqual(99);
    expect(firstClose - firstDrop).toBeLessThanOrEqual(101);
  });

  it("closes a burst flood after closeAfterDrops dropped inputs, inside the grace period", () => {
    const l = new InputLimiter({ ...LIMITS, closeAfterDrops: 50 }, BYTES_PER_SECOND, 0);
    l.join("a", "1.1.1.1", 0);
    const v = send(l, "a", 100, 0, 10);
    expect(v.findIndex((x) => !x.ok && x.close)).toBe(20 + 49);
  });

  it("forgets a short overrun: going over again after a calm grace period starts a new warning, not a close", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    l.join("a", "1.1.1.1", 0);
    send(l, "a", 25, 0, 0); // 5 dropped at t=0
    // Calm for 3 s (the bucket refills), then over again for half a second.
    const v = send(l, "a", 60, 3_000, 500);
    expect(v.some((x) => !x.ok && x.close)).toBe(false);
    expect(v.filter((x) => !x.ok && x.warn)).toHaveLength(1);
  });

  it("holds several connections of a session to the session's limit together", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    for (const c of ["a", "b", "c", "d"]) l.join(c, `10.0.0.${c.charCodeAt(0)}`, 0);
    // Each sends 8 a second (under its own 10): 32 a second in all, over the session's 20.
    let ok = 0;
    let sessionDrops = 0;
    for (let t = 0; t < 10_000; t += 125) {
      for (const c of ["a", "b", "c", "d"]) {
        const v = l.admit(c, "message", 1, t);
        if (v.ok) ok++;
        else if (v.scope === "session") sessionDrops++;
      }
    }
    // 10 s at 20 a second plus the 40-message burst, not the 320 sent.
    expect(ok).toBeGreaterThanOrEqual(235);
    expect(ok).toBeLessThanOrEqual(245);
    expect(sessionDrops).toBe(320 - ok);
  });

  it("holds connections from one address to the address's limit, and closes those taking more than their share", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    for (const c of ["a", "b", "c"]) l.join(c, "203.0.113.9", 0);
    l.join("other", "198.51.100.1", 0);
    const closed = new Set<string>();
    let otherOk = 0;
    for (let t = 0; t < 5_000; t += 100) {
      // Each of the three sends 9 a second (under 10): 27 from the address, over its 15.
      for (const c of ["a", "b", "c"]) {
        if (closed.has(c)) continue;
        const v = l.admit(c, "message", 1, t);
        if (!v.ok && v.close) {
          closed.add(c);
          l.leave(c);
        }
      }
      if (t % 500 === 0 && l.admit("other", "message", 1, t).ok) otherOk++;
    }
    expect(closed.size).toBeGreaterThan(0);
    // Someone else in the session, on another address, was never held back.
    expect(otherOk).toBe(10);
  });

  it("does not close a quiet connection whose input is dropped because others drain the session", () => {
    const l = new InputLimiter(
      { ...LIMITS, messagesPerSecond: 30, ipMessagesPerSecond: 30, sessionMessagesPerSecond: 12 },
      BYTES_PER_SECOND,
      0,
    );
    l.join("busy1", "1.1.1.1", 0);
    l.join("busy2", "3.3.3.3", 0);
    l.join("quiet", "2.2.2.2", 0);
    const closed = new Set<string>();
    let quietDropped = 0;
    for (let t = 0; t < 5_000; t += 10) {
      // Two connections at 20 a second each (under their own 30) drain the session's 12; one sends 2 a second.
      for (const [c, every] of [
        ["busy1", 50],
        ["busy2", 50],
        ["quiet", 500],
      ] as const) {
        if (closed.has(c) || t % every !== 0) continue;
        const v = l.admit(c, "message", 1, t);
        if (!v.ok && c === "quiet") quietDropped++;
        if (!v.ok && v.close) {
          closed.add(c);
          l.leave(c);
        }
      }
    }
    expect(quietDropped).toBeGreaterThan(0);
    expect(closed.has("quiet")).toBe(false);
    expect(closed.has("busy1") || closed.has("busy2")).toBe(true);
  });

  it("charges audio by bytes: 1.5x real time passes, 3x is dropped", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    l.join("a", "1.1.1.1", 0);
    let dropped = 0;
    // 20 ms frames (640 bytes) at real time for 10 s.
    for (let t = 0; t < 10_000; t += 20) if (!l.admit("a", "audio", 640, t).ok) dropped++;
    expect(dropped).toBe(0);
    const m = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    m.join("a", "1.1.1.1", 0);
    let passed = 0;
    // Three times real time for 10 s: 1.5x sustained plus a 3 s burst gets through.
    for (let t = 0; t < 10_000; t += 20) for (let k = 0; k < 3; k++) if (m.admit("a", "audio", 640, t).ok) passed++;
    expect(passed * 640).toBeGreaterThan(BYTES_PER_SECOND * 17);
    expect(passed * 640).toBeLessThan(BYTES_PER_SECOND * 19);
  });

  it("holds typed turns to a few a second across the session's connections", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    l.join("a", "1.1.1.1", 0);
    l.join("b", "2.2.2.2", 0);
    let ok = 0;
    for (let t = 0; t < 5_000; t += 100) for (const c of ["a", "b"]) if (l.admit(c, "turn", 1, t).ok) ok++;
    // 5 s at 2 a second plus the 4-turn burst, of the 100 tried.
    expect(ok).toBeGreaterThanOrEqual(13);
    expect(ok).toBeLessThanOrEqual(15);
  });

  it("joining twice counts one connection, and one that left is not admitted until it joins again", () => {
    const l = new InputLimiter(LIMITS, BYTES_PER_SECOND, 0);
    l.join("a", "1.1.1.1", 0);
    l.join("a", "1.1.1.1", 0);
    expect(l.connectionCount).toBe(1);
    l.leave("a");
    expect(l.connectionCount).toBe(0);
    expect(() => l.admit("a", "message", 1, 0)).toThrow(/not joined/);
  });
});
