import { describe, expect, it } from "vitest";
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from "../../../../shared/audio/g711.ts";

describe("G.711", () => {
  it("mu-law and A-law round trips stay within the codec's step size", () => {
    for (const v of [0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 30000, -30000]) {
      const mu = mulawToLinear(linearToMulaw(v));
      const a = alawToLinear(linearToAlaw(v));
      const tol = Math.max(16, Math.abs(v) / 16);
      expect(Math.abs(mu - v)).toBeLessThanOrEqual(tol);
      expect(Math.abs(a - v)).toBeLessThanOrEqual(tol);
    }
  });
});
