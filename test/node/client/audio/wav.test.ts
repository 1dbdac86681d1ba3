import { describe, expect, it } from "vitest";
import { applyEdgeFades, encodeWav16, isWav, parseWav } from "../../../../client/audio/wav.ts";

describe("WAV reader", () => {
  it("round-trips 16-bit mono and mixes stereo float to mono", () => {
    const src = new Float32Array([0, 0.5, -0.5, 0.25]);
    const wav = encodeWav16(src, 24_000);
    expect(isWav(wav)).toBe(true);
    const decoded = parseWav(wav);
    expect(decoded.sampleRate).toBe(24_000);
    expect(Array.from(decoded.samples).map((x) => Math.round(x * 1000) / 1000)).toEqual([0, 0.5, -0.5, 0.25]);

    // Stereo float32 with a LIST chunk before data and a streaming (0xFFFFFFFF) data size.
    const frames = 3;
    const buf = new ArrayBuffer(12 + 8 + 16 + 8 + 4 + 8 + frames * 8);
    const v = new DataView(buf);
    const put = (o: number, s: string) => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
    put(0, "RIFF");
    v.setUint32(4, 0xffffffff, true);
    put(8, "WAVE");
    put(12, "fmt ");
    v.setUint32(16, 16, true);
    v.setUint16(20, 3, true);
    v.setUint16(22, 2, true);
    v.setUint32(24, 48_000, true);
    v.setUint32(28, 48_000 * 8, true);
    v.setUint16(32, 8, true);
    v.setUint16(34, 32, true);
    put(36, "LIST");
    v.setUint32(40, 4, true);
    put(44, "INFO");
    put(48, "data");
    v.setUint32(52, 0xffffffff, true);
    [
      [1, 0],
      [0.5, 0.5],
      [-1, 1],
    ].forEach(([l, r], i) => {
      v.setFloat32(56 + i * 8, l!, true);
      v.setFloat32(60 + i * 8, r!, true);
    });
    const stereo = parseWav(buf);
    expect(stereo.channels).toBe(2);
    expect(Array.from(stereo.samples)).toEqual([0.5, 0.5, 0]);
  });

  it("rejects what it cannot read", () => {
    expect(() => parseWav(new ArrayBuffer(8))).toThrow(/RIFF/);
  });

  it("edge fades start and end at ~0 and leave the middle alone", () => {
    const x = applyEdgeFades(new Float32Array(1000).fill(1), 100);
    expect(x[0]).toBeLessThan(0.001);
    expect(x[999]).toBeLessThan(0.001);
    expect(x[500]).toBe(1);
  });
});
