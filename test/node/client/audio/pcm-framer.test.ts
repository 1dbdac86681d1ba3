import { describe, expect, it } from "vitest";
import { UPSTREAM_AUDIO } from "../../../../shared/protocol.ts";
import {
  FRAME_BYTES,
  FRAME_SAMPLES,
  PcmFramer,
  UPSTREAM_RATE,
  decodePcm16le,
  encodePcm16le,
  floatToInt16,
} from "../../../../client/audio/pcm-framer.ts";
import { Resampler } from "../../../../shared/audio/resampler.ts";

describe("PCM16 framing", () => {
  it("matches the wire protocol: 20 ms of 16 kHz mono PCM16 = 320 samples = 640 bytes", () => {
    expect(UPSTREAM_RATE).toBe(UPSTREAM_AUDIO.sampleRate);
    expect(FRAME_SAMPLES).toBe((UPSTREAM_AUDIO.sampleRate * UPSTREAM_AUDIO.frameMs) / 1000);
    expect(FRAME_BYTES).toBe(FRAME_SAMPLES * UPSTREAM_AUDIO.bytesPerSample);
    expect(FRAME_BYTES).toBe(640);
  });

  it("emits exact 320-sample frames across arbitrary block sizes, losing and duplicating nothing", () => {
    for (const sizes of [[128], [1], [319], [320], [321], [640], [1000], [3, 500, 17, 128, 44, 999, 1]]) {
      const framer = new PcmFramer();
      const total = 16_000;
      const input = new Float32Array(total);
      for (let i = 0; i < total; i++) input[i] = ((i % 1000) - 500) / 1000; // sample value encodes its index
      const frames = [];
      let off = 0;
      let k = 0;
      while (off < total) {
        const size = sizes[k++ % sizes.length]!;
        frames.push(...framer.push(input.subarray(off, off + size)));
        off += size;
      }
      expect(frames.length).toBe(Math.floor(total / FRAME_SAMPLES));
      expect(framer.buffered).toBe(total % FRAME_SAMPLES);
      const joined = new Float32Array(frames.length * FRAME_SAMPLES);
      frames.forEach((f, i) => {
        expect(f.pcm.byteLength).toBe(640);
        expect(f.startSample).toBe(i * FRAME_SAMPLES);
        joined.set(decodePcm16le(f.pcm), i * FRAME_SAMPLES);
      });
      let maxErr = 0;
      for (let i = 0; i < joined.length; i++) maxErr = Math.max(maxErr, Math.abs(joined[i]! - input[i]!));
      expect(maxErr).toBeLessThan(1 / 32_000);
    }
  });

  it("frames the resampler's output from 128-sample worklet quanta at 44.1 kHz: 50 frames per second", () => {
    const resampler = new Resampler(44_100, 16_000);
    const framer = new PcmFramer();
    const quantum = new Float32Array(128).fill(0.25);
    let frames = 0;
    for (let q = 0; q < Math.ceil(44_100 / 128) * 4; q++) frames += framer.push(resampler.process(quantum)).length;
    // 4 s of input (plus up to one quantum) -> 200 frames, minus at most the kernel look-ahead.
    expect(frames).toBeGreaterThanOrEqual(199);
    expect(frames).toBeLessThanOrEqual(201);
  });

  it("writes little-endian signed 16-bit, clamped and rounded", () => {
    const bytes = new Uint8Array(encodePcm16le(new Float32Array([0, 1, -1, 0.5, 2, -2, Number.NaN, 1 / 32767])));
    const words = Array.from({ length: bytes.length / 2 }, (_, i) => bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
    expect(words).toEqual([0x0000, 0x7fff, 0x8000, 0x4000, 0x7fff, 0x8000, 0x0000, 0x0001]);
    expect(floatToInt16(-0.5)).toBe(-16384);
  });

  it("reports RMS and peak per frame, and flush pads the partial frame with silence", () => {
    const framer = new PcmFramer();
    const [frame] = framer.push(new Float32Array(320).fill(0.5));
    expect(frame!.rms).toBeCloseTo(0.5, 6);
    expect(frame!.peak).toBeCloseTo(0.5, 6);
    framer.push(new Float32Array(100).fill(-0.25));
    const last = framer.flush()!;
    const samples = decodePcm16le(last.pcm);
    expect(samples[99]).toBeCloseTo(-0.25, 3);
    expect(samples[100]).toBe(0);
    expect(framer.flush()).toBeNull();
  });
});
