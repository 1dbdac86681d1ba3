// One bounded record per reply replaces the client's parallel per-reply collections.
import { describe, expect, it } from "vitest";
import { ReplyTracker } from "../../../../client/session/reply-tracker.ts";

describe("ReplyTracker", () => {
  it("keeps one record per reply and drops the oldest past its capacity", () => {
    const t = new ReplyTracker(3);
    const first = t.ensure("r1");
    first.segmentTexts.set(0, "Hello.");
    expect(t.ensure("r1")).toBe(first);
    for (const id of ["r2", "r3", "r4", "r5"]) t.ensure(id);
    expect(t.size).toBe(3);
    expect(t.get("r1")).toBeUndefined();
    expect(t.get("r2")).toBeUndefined();
    expect(t.all().map((r) => r.replyId)).toEqual(["r3", "r4", "r5"]);
    expect(t.all().map((r) => r.stats.replyId)).toEqual(["r3", "r4", "r5"]);
  });

  it("a reply cut here stays cut; unknown replies are not cut", () => {
    const t = new ReplyTracker();
    expect(t.isCut("r1")).toBe(false);
    expect(t.get("r1")).toBeUndefined(); // asking creates nothing
    t.cut("r1");
    expect(t.isCut("r1")).toBe(true);
    t.ensure("r1");
    expect(t.isCut("r1")).toBe(true);
  });

  it("a turn's end is taken once, at its reply's first audio", () => {
    const t = new ReplyTracker();
    t.turnEnded("r1", 1_000);
    expect(t.takeTurnEnd("r1")).toBe(1_000);
    expect(t.takeTurnEnd("r1")).toBeNull();
  });

  it("an end the server gave no reply id for goes to the next reply that starts, once", () => {
    const t = new ReplyTracker();
    t.turnEnded(undefined, 2_000);
    t.ensure("r7");
    expect(t.takeTurnEnd("r7")).toBe(2_000);
    expect(t.takeTurnEnd("r8")).toBeNull();
  });

  it("clear forgets every record and a pending end", () => {
    const t = new ReplyTracker();
    t.cut("r1");
    t.turnEnded(undefined, 5);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.isCut("r1")).toBe(false);
    expect(t.takeTurnEnd("r1")).toBeNull();
  });
});
