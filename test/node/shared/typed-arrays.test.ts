import { describe, expect, it } from "vitest";
import { concatArrays } from "../../../shared/typed-arrays.ts";

describe("concatArrays", () => {
  it("joins chunks in order", () => {
    expect(Array.from(concatArrays(Int16Array, [new Int16Array([1, 2]), new Int16Array(0), new Int16Array([3])]))).toEqual([1, 2, 3]);
  });
});
