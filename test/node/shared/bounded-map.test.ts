import { describe, expect, it } from "vitest";
import { BoundedMap, BoundedSet } from "../../../shared/bounded-map.ts";

describe("BoundedMap", () => {
  it("drops the oldest entries once it holds more than max", () => {
    const m = new BoundedMap<string, number>(3);
    for (const [i, k] of ["a", "b", "c", "d", "e"].entries()) m.set(k, i);
    expect([...m.entries()]).toEqual([
      ["c", 2],
      ["d", 3],
      ["e", 4],
    ]);
  });

  it("rewriting a present key keeps its age; deleting it first makes it the newest", () => {
    const m = new BoundedMap<string, number>(2);
    m.set("a", 1).set("b", 2).set("a", 3);
    m.set("c", 4);
    expect([...m.keys()]).toEqual(["b", "c"]);
    m.delete("b");
    m.set("b", 5);
    m.set("d", 6);
    expect([...m.keys()]).toEqual(["b", "d"]);
  });
});

describe("BoundedSet", () => {
  it("drops the oldest members once it holds more than max, and re-adding keeps a member's age", () => {
    const s = new BoundedSet<string>(2);
    s.add("a").add("b").add("a");
    s.add("c");
    expect([...s]).toEqual(["b", "c"]);
  });
});
