import { describe, expect, it } from "vitest";
import { textOf } from "../../../../server/storage/sql-values.ts";

describe("textOf", () => {
  it("reads a text column as stored, and a number or null as String() writes them", () => {
    expect(textOf("t-1")).toBe("t-1");
    expect(textOf(42)).toBe("42");
    expect(textOf(null)).toBe("null");
  });

  it("refuses a BLOB instead of turning it into [object ArrayBuffer]", () => {
    expect(() => textOf(new ArrayBuffer(4))).toThrow(TypeError);
  });
});
