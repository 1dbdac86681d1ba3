import { describe, expect, it } from "vitest";
import { float32ToInt16, int16ToFloat32, pcm16FromBytes, rmsDbfs, SILENCE_DBFS } from "../../../../shared/audio/pcm.ts";

describe("pcm helpers", () => {
  it("pcm16FromBytes rejects an odd byte length", () => {
    expect(() => pcm16FromBytes(new Uint8Array(3))).toThrow(/even number of bytes, got 3/);
  });

  it("pcm16FromBytes decodes little-endian and aliases aligned input", () => {
    const bytes = new Uint8Array([0x01, 0x00, 0xff, 0xff, 0x00, 0x80]);
    const pcm = pcm16FromBytes(bytes);
    expect(Array.from(pcm)).toEqual([1, -1, -32768]);
    expect(pcm.buffer).toBe(bytes.buffer);
    expect(Array.from(pcm16FromBytes(bytes.buffer))).toEqual([1, -1, -32768]);
    const odd = new Uint8Array(7);
    odd.set(bytes, 1);
    expect(Array.from(pcm16FromBytes(odd.subarray(1)))).toEqual([1, -1, -32768]);
  });

  it("float conversion clamps out-of-range values and maps NaN to 0", () => {
    const out = float32ToInt16(new Float32Array([0, 0.5, 1, 2, -1, -2, NaN]));
    expect(Array.from(out)).toEqual([0, 16384, 32767, 32767, -32768, -32768, 0]);
    const back = int16ToFloat32(new Int16Array([-32768, 0, 16384]));
    expect(Array.from(back)).toEqual([-1, 0, 0.5]);
  });

  it("rmsDbfs: full-scale sine is about -3 dBFS, silence is SILENCE_DBFS, DC offset is ignored", () => {
    const sine = new Int16Array(1600);
    for (let i = 0; i < sine.length; i++) sine[i] = Math.round(32767 * Math.sin((2 * Math.PI * 440 * i) / 16000));
    expect(rmsDbfs(sine)).toBeCloseTo(-3.01, 1);
    expect(rmsDbfs(new Int16Array(320))).toBe(SILENCE_DBFS);
    expect(rmsDbfs(new Int16Array(320).fill(5000))).toBe(SILENCE_DBFS);
    expect(rmsDbfs(sine, 0, 0)).toBe(SILENCE_DBFS);
  });
});
