import { describe, expect, it } from "vitest";
import { id3v2Length, Mp3FormatError, parseMp3, readMp3FrameHeader } from "../../../../shared/audio/mp3.ts";
import { makeSilentMp3 } from "../../../support/test-audio.ts";
import { concatArrays } from "../../../../shared/typed-arrays.ts";

/** ID3v2.4 tag with `size` body bytes (filled with fake frame syncs to prove they are skipped). */
function id3(size: number): Uint8Array {
  const tag = new Uint8Array(10 + size);
  tag.set([0x49, 0x44, 0x33, 4, 0, 0], 0);
  tag.set([(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f], 6);
  for (let i = 10; i + 4 <= tag.length; i += 4) tag.set([0xff, 0xfb, 0x90, 0x64], i);
  return tag;
}

const concat = (...parts: Uint8Array[]): Uint8Array => concatArrays(Uint8Array, parts);

describe("makeSilentMp3 / parseMp3", () => {
  it("builds MPEG-2 Layer III 24 kHz mono 32 kbps frames of 96 bytes by default", () => {
    const mp3 = makeSilentMp3(240);
    expect(Array.from(mp3.subarray(0, 4))).toEqual([0xff, 0xf3, 0x44, 0xc4]);
    expect(mp3.length).toBe(10 * 96);
    const h = readMp3FrameHeader(mp3, 0)!;
    expect(h).toMatchObject({
      version: 2,
      sampleRate: 24000,
      channels: 1,
      bitrateKbps: 32,
      frameBytes: 96,
      samplesPerFrame: 576,
      hasCrc: false,
    });
  });

  for (const [sampleRate, version] of [
    [24000, 2],
    [44100, 1],
    [48000, 1],
    [16000, 2],
    [8000, 2.5],
  ] as const) {
    it(`parses its own ${sampleRate} Hz output back to the requested duration within one frame`, () => {
      for (const ms of [1, 999, 1000, 3456]) {
        const info = parseMp3(makeSilentMp3(ms, sampleRate));
        const frameMs = (info.samplesPerFrame * 1000) / sampleRate;
        expect(info.sampleRate).toBe(sampleRate);
        expect(info.version).toBe(version);
        expect(info.channels).toBe(1);
        expect(info.durationMs).toBeGreaterThanOrEqual(ms);
        expect(info.durationMs - ms).toBeLessThan(frameMs + 1e-9);
        expect(info.junkBytes).toBe(0);
        expect(info.vbrHeader).toBeNull();
      }
    });
  }

  it("reports bitrate and frame count for a 2 s clip", () => {
    const info = parseMp3(makeSilentMp3(2000));
    expect(info.frames).toBe(Math.ceil(2000 / 24));
    expect(info.bitrateKbps).toBeCloseTo(32, 5);
  });

  it("accepts ArrayBuffer input and a custom bitrate", () => {
    const mp3 = makeSilentMp3(500, 44100, { bitrateKbps: 128 });
    const info = parseMp3(mp3.buffer);
    expect(info.bitrateKbps).toBeGreaterThan(127);
    expect(info.bitrateKbps).toBeLessThan(128.1);
  });

  it("rejects sample rates and bitrates MP3 does not have", () => {
    expect(() => makeSilentMp3(100, 16001)).toThrow(/16001 Hz/);
    expect(() => makeSilentMp3(100, 44100, { bitrateKbps: 8 })).toThrow(/not a Layer III bitrate/);
    expect(() => makeSilentMp3(-1)).toThrow(RangeError);
  });

  it("skips an ID3v2 tag even when its body contains byte patterns that look like frame syncs", () => {
    const tag = id3(1000);
    expect(id3v2Length(tag)).toBe(1010);
    const info = parseMp3(concat(tag, makeSilentMp3(1000)));
    expect(info.frames).toBe(42);
    expect(info.sampleRate).toBe(24000);
  });

  it("does not count a leading Xing/Info frame as audio and reports its declared frame count", () => {
    const audio = makeSilentMp3(480); // 20 frames
    const info = new Uint8Array(96);
    info.set(audio.subarray(0, 4));
    const x = 4 + 9; // MPEG-2 mono side info is 9 bytes
    info.set([0x49, 0x6e, 0x66, 0x6f, 0, 0, 0, 1, 0, 0, 0, 20], x); // "Info", flags=frames, frames=20
    const parsed = parseMp3(concat(info, audio));
    expect(parsed.vbrHeader).toBe("info");
    expect(parsed.declaredFrames).toBe(20);
    expect(parsed.frames).toBe(20);
    expect(parsed.durationMs).toBe(480);

    info.set([0x58, 0x69, 0x6e, 0x67], x); // "Xing"
    expect(parseMp3(concat(info, audio)).vbrHeader).toBe("xing");
  });

  it("resyncs over junk between frames, stops at an ID3v1 tag, and ignores a truncated last frame", () => {
    const a = makeSilentMp3(240); // 10 frames
    const junk = new Uint8Array(37).fill(0x55);
    const tag = new Uint8Array(128);
    tag.set([0x54, 0x41, 0x47]); // "TAG"
    const parsed = parseMp3(concat(a, junk, a, tag));
    expect(parsed.frames).toBe(20);
    expect(parsed.junkBytes).toBe(37);

    const truncated = parseMp3(a.subarray(0, a.length - 10));
    expect(truncated.frames).toBe(9);
  });

  it("walks every frame of a 1 MB file", () => {
    const big = makeSilentMp3(260_000); // ~1 MB at 32 kbps
    expect(big.length).toBeGreaterThan(1_000_000);
    const info = parseMp3(big);
    expect(info.durationMs).toBeGreaterThanOrEqual(260_000);
    expect(info.frames).toBe(Math.ceil(260_000 / 24));
  });

  it("gives clear errors for non-MP3 bytes, a bare ID3 tag and Layer II audio", () => {
    expect(() => parseMp3(new TextEncoder().encode('{"errors":[{"code":3040,"message":"Capacity"}]}'))).toThrow(
      /no MPEG Layer III frames found/,
    );
    expect(() => parseMp3(id3(20))).toThrow(/only an ID3 tag/);
    expect(() => parseMp3(new Uint8Array(0))).toThrow(Mp3FormatError);
    const layer2 = new Uint8Array(2000);
    for (let i = 0; i < layer2.length; i += 418) layer2.set([0xff, 0xfd, 0x90, 0x04], i); // MPEG-1 Layer II 128k 44.1k
    expect(() => parseMp3(layer2)).toThrow(/Layer I\/II/);
  });

  it("readMp3FrameHeader rejects reserved and invalid fields", () => {
    const ok = [0xff, 0xf3, 0x44, 0xc4];
    const at = (b: number[]) => readMp3FrameHeader(new Uint8Array(b), 0);
    expect(at(ok)).not.toBeNull();
    expect(at([0xff, 0xeb, 0x44, 0xc4])).toBeNull(); // reserved version
    expect(at([0xff, 0xf3, 0xf4, 0xc4])).toBeNull(); // bitrate index 15
    expect(at([0xff, 0xf3, 0x04, 0xc4])).toBeNull(); // free format
    expect(at([0xff, 0xf3, 0x4c, 0xc4])).toBeNull(); // sample-rate index 3
    expect(at([0xff, 0xf3, 0x44, 0xc6])).toBeNull(); // reserved emphasis
    expect(at([0xff, 0xf3, 0x44])).toBeNull(); // short
  });
});
