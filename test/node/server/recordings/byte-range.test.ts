import { describe, expect, it } from "vitest";
import { byteRange, contentRange } from "../../../../server/recordings/byte-range.ts";
import { DAY_MS, expiryCutoff, nextExpiryAt } from "../../../../server/recordings/retention.ts";

describe("a recording's Range header", () => {
  it("answers one byte range: first-last (clamped to the end), first-, and the last N bytes", () => {
    expect(byteRange("bytes=10-99", 1000)).toEqual({ kind: "partial", offset: 10, length: 90 });
    expect(byteRange("bytes=900-5000", 1000)).toEqual({ kind: "partial", offset: 900, length: 100 });
    expect(byteRange("bytes=999-", 1000)).toEqual({ kind: "partial", offset: 999, length: 1 });
    expect(byteRange("bytes=-50", 1000)).toEqual({ kind: "partial", offset: 950, length: 50 });
    expect(byteRange("bytes=-5000", 1000)).toEqual({ kind: "partial", offset: 0, length: 1000 });
    expect(contentRange(10, 90, 1000)).toBe("bytes 10-99/1000");
  });

  it("a range starting at or past the end, or an empty suffix, is unsatisfiable", () => {
    expect(byteRange("bytes=1000-", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(byteRange("bytes=1000-2000", 1000)).toEqual({ kind: "unsatisfiable" });
    expect(byteRange("bytes=-0", 1000)).toEqual({ kind: "unsatisfiable" });
  });

  it("no header, another unit, several ranges, a reversed or malformed one: the whole file", () => {
    for (const h of [null, "items=0-5", "bytes=0-5,10-20", "bytes=50-10", "bytes=-", "bytes=abc", ""])
      expect(byteRange(h, 1000), String(h)).toEqual({ kind: "whole" });
  });
});

describe("recording retention", () => {
  it("expires recordings older than the retention, and wakes as the oldest left expires; 0 days keeps them", () => {
    expect(expiryCutoff(100 * DAY_MS, 30)).toBe(70 * DAY_MS);
    expect(expiryCutoff(100 * DAY_MS, 0)).toBeNull();
    expect(nextExpiryAt(5 * DAY_MS, 30)).toBe(35 * DAY_MS);
    expect(nextExpiryAt(null, 30)).toBeNull();
    expect(nextExpiryAt(5 * DAY_MS, 0)).toBeNull();
  });
});
