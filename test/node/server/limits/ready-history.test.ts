import { describe, expect, it } from "vitest";
import type { HistoryMessage } from "../../../../shared/protocol.ts";
import { newestWithin } from "../../../../server/limits/ready-history.ts";

const msg = (id: number, text: string): HistoryMessage => ({
  id,
  role: id % 2 ? "user" : "assistant",
  text,
  status: "complete",
  source: "voice",
  createdAt: id,
});
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).byteLength;

describe("ready history budget", () => {
  it("keeps everything when it fits", () => {
    const h = [msg(1, "hi"), msg(2, "hello")];
    expect(newestWithin(h, 10_000)).toEqual({ kept: h, omitted: 0 });
  });

  it("keeps the newest messages whose JSON fits the budget, counting escaped and multi-byte text as sent", () => {
    // Quotes and control characters grow when escaped; é is two bytes of UTF-8.
    const h = Array.from({ length: 50 }, (_, i) => msg(i + 1, `"\u0001é`.repeat(200)));
    const budget = 20_000;
    const { kept, omitted } = newestWithin(h, budget);
    expect(bytes(kept)).toBeLessThanOrEqual(budget);
    expect(omitted).toBeGreaterThan(0);
    expect(kept.length + omitted).toBe(50);
    // Newest ones, contiguous, and one more would not have fitted.
    expect(kept[kept.length - 1]!.id).toBe(50);
    expect(kept[0]!.id).toBe(omitted + 1);
    expect(bytes(h.slice(omitted - 1))).toBeGreaterThan(budget);
  });

  it("stops at a message too large for the budget rather than skipping over it", () => {
    const h = [msg(1, "old"), msg(2, "x".repeat(5_000)), msg(3, "new")];
    expect(newestWithin(h, 1_000)).toEqual({ kept: [h[2]], omitted: 2 });
  });
});
