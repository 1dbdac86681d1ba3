// The echo guard's playback reference, shared from the playback worklet to the capture worklet.
import { describe, expect, it } from "vitest";
import {
  blockRms,
  createPlaybackLevels,
  loudestPlaybackLevel,
  recordPlaybackLevel,
  sharedPlaybackLevels,
} from "../../../../client/audio/playback-level.ts";

const QUANTUM_S = 128 / 48_000;

describe("playback level history", () => {
  it("gives the loudest block of the window, aligned in context time", () => {
    const h = createPlaybackLevels();
    for (let i = 0; i < 300; i++) recordPlaybackLevel(h, i * QUANTUM_S, i === 100 ? 0.5 : 0.1);
    const at100 = 100 * QUANTUM_S;
    expect(loudestPlaybackLevel(h, at100 - 0.2, at100)).toBe(0.5);
    expect(loudestPlaybackLevel(h, at100 + 0.001, at100 + 0.2)).toBeCloseTo(0.1, 6); // after it
    expect(loudestPlaybackLevel(h, at100 - 0.3, at100 - 0.001)).toBeCloseTo(0.1, 6); // before it
  });

  it("reads 0 when the assistant was silent or nothing was recorded", () => {
    const h = createPlaybackLevels();
    expect(loudestPlaybackLevel(h, 0, 10)).toBe(0);
    for (let i = 0; i < 10; i++) recordPlaybackLevel(h, i * QUANTUM_S, 0);
    expect(loudestPlaybackLevel(h, 0, 1)).toBe(0);
  });

  it("forgets the oldest blocks past its capacity", () => {
    const h = createPlaybackLevels(8);
    recordPlaybackLevel(h, 0, 0.9);
    for (let i = 1; i <= 8; i++) recordPlaybackLevel(h, i * QUANTUM_S, 0.1);
    expect(loudestPlaybackLevel(h, 0, 1)).toBeCloseTo(0.1, 6);
  });

  it("two copies of the module (two worklet bundles) in one scope share one record", () => {
    const scope = {};
    const writer = sharedPlaybackLevels(scope);
    const reader = sharedPlaybackLevels(scope);
    expect(reader).toBe(writer);
    recordPlaybackLevel(writer, 1, 0.3);
    expect(loudestPlaybackLevel(reader, 0.9, 1.1)).toBeCloseTo(0.3, 6);
  });

  it("something else stored under the key is replaced by a valid record", () => {
    const scope = { __parleyPlaybackLevels: { times: [1], levels: [2], next: 0 } };
    const h = sharedPlaybackLevels(scope);
    expect(h.times).toBeInstanceOf(Float64Array);
    expect(loudestPlaybackLevel(h, 0, 10)).toBe(0);
  });

  it("measures a block's RMS", () => {
    expect(blockRms(new Float32Array([0.5, -0.5, 0.5, -0.5]))).toBeCloseTo(0.5, 6);
    expect(blockRms(new Float32Array(0))).toBe(0);
  });
});
