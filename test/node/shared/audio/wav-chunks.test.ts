// The shared RIFF/WAVE chunk walk (shared/audio/wav-chunks.ts) under shared/audio/wav.ts: what its
// readers rely on.
import { describe, expect, it } from "vitest";
import { isRiffWave, pcmSampleReader, readWavChunks, WAVE_FORMAT, WavChunkError } from "../../../../shared/audio/wav-chunks.ts";
import { extensibleFmt, fmtBody, riff } from "../../../support/test-audio.ts";

const audio = (n: number) => Uint8Array.from({ length: n }, (_, i) => i + 1);
const fmt16 = { id: "fmt ", body: fmtBody(WAVE_FORMAT.PCM, 2, 44100, 16) };

describe("readWavChunks", () => {
  it("reads the fmt fields and returns the data chunk as a view of the input", () => {
    const wav = riff([fmt16, { id: "data", body: audio(8) }]);
    const w = readWavChunks(wav);
    expect(w).toMatchObject({ format: WAVE_FORMAT.PCM, channels: 2, sampleRate: 44100, blockAlign: 4, bitsPerSample: 16 });
    expect(Array.from(w.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(w.data.buffer).toBe(wav.buffer);
    expect(w.data.byteOffset).toBe(wav.length - 8);
  });

  it("works on a view that starts inside a larger buffer", () => {
    const wav = riff([fmt16, { id: "data", body: audio(4) }]);
    const padded = new Uint8Array(wav.length + 3);
    padded.set(wav, 3);
    const w = readWavChunks(padded.subarray(3));
    expect(w.sampleRate).toBe(44100);
    expect(Array.from(w.data)).toEqual([1, 2, 3, 4]);
  });

  it("skips LIST and fact chunks and the pad byte after an odd-sized chunk", () => {
    const wav = riff([
      { id: "LIST", body: new TextEncoder().encode("INFOodd") }, // 7 bytes: padded
      fmt16,
      { id: "fact", body: new Uint8Array([2, 0, 0, 0]) },
      { id: "data", body: audio(4) },
    ]);
    expect(Array.from(readWavChunks(wav).data)).toEqual([1, 2, 3, 4]);
  });

  it("resolves WAVE_FORMAT_EXTENSIBLE to its sub-format, and keeps 0xFFFE when there is none", () => {
    const ext = riff([
      { id: "fmt ", body: fmtBody(WAVE_FORMAT.EXTENSIBLE, 1, 48000, 24, extensibleFmt(WAVE_FORMAT.IEEE_FLOAT)) },
      { id: "data", body: audio(6) },
    ]);
    expect(readWavChunks(ext)).toMatchObject({ format: WAVE_FORMAT.IEEE_FLOAT, bitsPerSample: 24, sampleRate: 48000 });
    const bare = riff([
      { id: "fmt ", body: fmtBody(WAVE_FORMAT.EXTENSIBLE, 1, 48000, 16) },
      { id: "data", body: audio(2) },
    ]);
    expect(readWavChunks(bare).format).toBe(WAVE_FORMAT.EXTENSIBLE);
  });

  it("finds a fmt chunk after the data chunk; the last fmt chunk wins", () => {
    const after = riff([
      { id: "data", body: audio(4) },
      { id: "fmt ", body: fmtBody(WAVE_FORMAT.PCM, 1, 8000, 16) },
    ]);
    expect(readWavChunks(after)).toMatchObject({ sampleRate: 8000, channels: 1 });
    expect(Array.from(readWavChunks(after).data)).toEqual([1, 2, 3, 4]);
    const twice = riff([fmt16, { id: "fmt ", body: fmtBody(WAVE_FORMAT.MULAW, 1, 8000, 8) }, { id: "data", body: audio(2) }]);
    expect(readWavChunks(twice)).toMatchObject({ format: WAVE_FORMAT.MULAW, sampleRate: 8000 });
  });

  it("stops at the data chunk once fmt is known: what follows is not read as chunks", () => {
    const wav = riff([fmt16, { id: "data", body: audio(4) }, { id: "fmt ", body: new Uint8Array(4) }]);
    expect(Array.from(readWavChunks(wav).data)).toEqual([1, 2, 3, 4]);
  });

  it("clamps a streaming (0xFFFFFFFF) or overrunning data size to the bytes present", () => {
    const streamed = riff([fmt16, { id: "data", body: audio(5), size: 0xffffffff }]);
    expect(Array.from(readWavChunks(streamed).data)).toEqual([1, 2, 3, 4, 5, 0]); // the pad byte is in the file
    const overrun = riff([fmt16, { id: "data", body: audio(6), size: 1000 }]);
    expect(readWavChunks(overrun).data.length).toBe(6);
  });

  it("a data size of 0 runs to the end of the file, or with zeroSizeData 'empty' is empty and the walk goes on", () => {
    const streamed = riff([fmt16, { id: "data", body: audio(4), size: 0 }]);
    expect(Array.from(readWavChunks(streamed).data)).toEqual([1, 2, 3, 4]);
    expect(readWavChunks(streamed, { zeroSizeData: "empty" }).data.length).toBe(0);
    const emptyThenFmt = riff([{ id: "data", body: new Uint8Array(0) }, fmt16]);
    expect(readWavChunks(emptyThenFmt, { zeroSizeData: "empty" })).toMatchObject({ sampleRate: 44100, data: new Uint8Array(0) });
    expect(() => readWavChunks(emptyThenFmt)).toThrow(/no fmt chunk/); // "rest": the fmt chunk's bytes are audio
  });

  it("rejects a missing header, a short fmt chunk and a missing fmt or data chunk", () => {
    expect(() => readWavChunks(new TextEncoder().encode('{"error":"not audio"}'))).toThrow(/not a WAV file: missing RIFF\/WAVE header$/);
    expect(() => readWavChunks(new Uint8Array(4))).toThrow(WavChunkError);
    expect(() => readWavChunks(riff([], "RF64"))).toThrow(/RF64 is not supported/);
    expect(() =>
      readWavChunks(
        riff([
          { id: "fmt ", body: new Uint8Array(14) },
          { id: "data", body: audio(2) },
        ]),
      ),
    ).toThrow("WAV fmt chunk too short (14 bytes)");
    const cut = riff([fmt16]).subarray(0, 12 + 8 + 10); // fmt claims 16 bytes, the file ends after 10
    expect(() => readWavChunks(cut)).toThrow("WAV fmt chunk too short (16 bytes)");
    expect(() => readWavChunks(riff([{ id: "data", body: audio(2) }]))).toThrow("WAV has no fmt chunk");
    expect(() => readWavChunks(riff([fmt16, { id: "LIST", body: audio(4) }]))).toThrow("WAV has no data chunk");
  });

  it("throws the caller's error class", () => {
    class MyError extends Error {}
    expect(() => readWavChunks(new Uint8Array(0), { error: MyError })).toThrow(MyError);
    expect(() => readWavChunks(riff([fmt16]), { error: MyError })).toThrow(MyError);
  });

  it("isRiffWave checks the 12-byte header only", () => {
    expect(isRiffWave(riff([]))).toBe(true);
    expect(isRiffWave(riff([]).subarray(0, 11))).toBe(false);
    expect(isRiffWave(riff([], "RF64"))).toBe(false);
  });
});

describe("pcmSampleReader", () => {
  const read = (format: number, bits: number, bytes: number[], offset = 0) => {
    const r = pcmSampleReader(format, bits)!;
    return r(new DataView(Uint8Array.from(bytes).buffer), offset);
  };

  it("reads 8-bit unsigned, 16/24/32-bit signed PCM to -1..1", () => {
    expect([0, 255, 128].map((b) => read(WAVE_FORMAT.PCM, 8, [b]))).toEqual([-1, 127 / 128, 0]);
    expect(read(WAVE_FORMAT.PCM, 16, [0x00, 0x80])).toBe(-1);
    expect(read(WAVE_FORMAT.PCM, 16, [9, 0x00, 0x40], 1)).toBe(0.5);
    expect(read(WAVE_FORMAT.PCM, 24, [0x00, 0x00, 0xc0])).toBe(-0.5);
    expect(read(WAVE_FORMAT.PCM, 24, [0xff, 0xff, 0x7f])).toBe(8388607 / 8388608);
    expect(read(WAVE_FORMAT.PCM, 32, [0, 0, 0, 0x80])).toBe(-1);
  });

  it("reads 32/64-bit float as is", () => {
    expect(read(WAVE_FORMAT.IEEE_FLOAT, 32, [...new Uint8Array(new Float32Array([0.25]).buffer)])).toBe(0.25);
    expect(read(WAVE_FORMAT.IEEE_FLOAT, 64, [...new Uint8Array(new Float64Array([-0.1]).buffer)])).toBe(-0.1);
  });

  it("is undefined for other encodings", () => {
    expect(pcmSampleReader(WAVE_FORMAT.PCM, 12)).toBeUndefined();
    expect(pcmSampleReader(WAVE_FORMAT.IEEE_FLOAT, 16)).toBeUndefined();
    expect(pcmSampleReader(WAVE_FORMAT.MULAW, 8)).toBeUndefined();
    expect(pcmSampleReader(WAVE_FORMAT.EXTENSIBLE, 16)).toBeUndefined();
  });
});
