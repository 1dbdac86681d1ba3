import { describe, expect, it } from "vitest";
import { Base64Error, base64ToBytes, bytesToBase64 } from "../../../shared/base64.ts";

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

describe("base64", () => {
  it("matches the RFC 4648 test vectors both ways", () => {
    const vectors: [string, string][] = [
      ["", ""],
      ["f", "Zg=="],
      ["fo", "Zm8="],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg=="],
      ["fooba", "Zm9vYmE="],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) {
      expect(bytesToBase64(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(base64ToBytes(encoded))).toBe(plain);
    }
  });

  it("agrees with Node's Buffer for every length around the chunk boundary", () => {
    for (const n of [1, 2, 3, 255, 256, 24575, 24576, 24577, 49152, 49153]) {
      const bytes = randomBytes(n, n);
      const b64 = bytesToBase64(bytes);
      expect(b64).toBe(Buffer.from(bytes).toString("base64"));
      expect(base64ToBytes(b64)).toEqual(bytes);
    }
  });

  it("round-trips 1 MB of all byte values", () => {
    const bytes = randomBytes(1 << 20, 7);
    const b64 = bytesToBase64(bytes);
    const back = base64ToBytes(b64);
    expect(b64.length).toBe(Math.ceil((1 << 20) / 3) * 4);
    expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
    expect(b64).toBe(Buffer.from(bytes).toString("base64"));
  });

  it("accepts missing padding and line-wrapped input", () => {
    expect(new TextDecoder().decode(base64ToBytes("Zm9vYg"))).toBe("foob");
    expect(new TextDecoder().decode(base64ToBytes("Zm9v\r\nYmFy\n"))).toBe("foobar");
    expect(new TextDecoder().decode(base64ToBytes(" Zm9vYmE= "))).toBe("fooba");
  });

  it("rejects malformed base64 with an error naming the problem", () => {
    expect(() => base64ToBytes("Zm9v@mFy")).toThrow(/unexpected "@" at position 4/);
    expect(() => base64ToBytes("Zm9v-_")).toThrow(/base64url/);
    expect(() => base64ToBytes("Zm=9v")).toThrow(/padding in the middle/);
    expect(() => base64ToBytes("Zm9vY")).toThrow(/length 5 is not a valid encoded length/);
    expect(() => base64ToBytes("Zm9v==")).toThrow(/2 padding character\(s\) after 4 characters/);
    expect(() => base64ToBytes('{"errors":[]}')).toThrow(Base64Error);
    expect(() => base64ToBytes("Zm9vYmFy\u00e9Zm9v")).toThrow(/unexpected "é" at position 8/);
    expect(() => base64ToBytes("Zm9\u0176")).toThrow(/unexpected "Ŷ" at position 3/); // 0x176 & 0xff is "v"
    expect(() => base64ToBytes(42 as unknown as string)).toThrow(/must be a string/);
  });
});
