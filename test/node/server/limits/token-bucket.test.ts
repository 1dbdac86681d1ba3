import { describe, expect, it } from "vitest";
import { TokenBucket } from "../../../../server/limits/token-bucket.ts";

describe("token bucket", () => {
  it("allows a burst, then only the sustained rate", () => {
    const b = new TokenBucket(10, 20, 0);
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (b.take(1, 0)) allowed++;
    expect(allowed).toBe(20);
    expect(b.take(1, 50)).toBe(false); // 0.5 tokens refilled
    expect(b.take(1, 100)).toBe(true); // 1 token after 100 ms
    let later = 0;
    for (let i = 0; i < 50; i++) if (b.take(1, 1100)) later++;
    expect(later).toBe(10);
  });

  it("never refills beyond the burst size", () => {
    const b = new TokenBucket(1000, 5, 0);
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (b.take(1, 60_000)) allowed++;
    expect(allowed).toBe(5);
  });
});
