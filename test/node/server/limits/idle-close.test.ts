import { describe, expect, it } from "vitest";
import { IdleWatch } from "../../../../server/limits/idle-close.ts";

describe("IdleWatch", () => {
  it("expires idleCloseMs after the last activity, not before", () => {
    const w = new IdleWatch(600_000, 1_000);
    w.touch(5_000);
    expect(w.nextCheckAt()).toBe(605_000);
    expect(w.expired(604_999, false)).toBe(false);
    expect(w.expired(605_000, false)).toBe(true);
  });

  it("a busy session counts as active now: the idle time starts again when it is done", () => {
    const w = new IdleWatch(600_000, 0);
    expect(w.expired(700_000, true)).toBe(false);
    expect(w.nextCheckAt()).toBe(1_300_000);
    expect(w.expired(1_299_999, false)).toBe(false);
    expect(w.expired(1_300_000, false)).toBe(true);
  });

  it("an activity reported late never moves the last activity back", () => {
    const w = new IdleWatch(1_000, 0);
    w.touch(5_000);
    w.touch(4_000);
    expect(w.nextCheckAt()).toBe(6_000);
  });

  it("0 turns idle closing off", () => {
    const w = new IdleWatch(0, 0);
    expect(w.nextCheckAt()).toBeNull();
    expect(w.expired(Number.MAX_SAFE_INTEGER, false)).toBe(false);
  });
});
