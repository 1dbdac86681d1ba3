import { describe, expect, it } from "vitest";
import { FadingPieceWriter, resampleInPieces } from "../../../../client/audio/segment-pieces.ts";
import { LevelMeter, MIC_SILENCE_DBFS } from "../../../../client/audio/level-meter.ts";
import { linearToDbfs } from "../../../../shared/audio/pcm.ts";
import { Resampler } from "../../../../shared/audio/resampler.ts";
import { SpeechDetector } from "../../../../client/audio/speech-detector.ts";
import { decodeWav } from "../../../../shared/audio/wav.ts";
import { isRiffWave } from "../../../../shared/audio/wav-chunks.ts";
import { applyEdgeFades, encodeWav16 } from "../../../support/test-audio.ts";

const dbToRms = (db: number) => 10 ** (db / 20);

describe("SpeechDetector (local barge-in detection)", () => {
  it("fires start within 100 ms of speech onset over background noise, and end after the hangover", () => {
    const d = new SpeechDetector({ minSpeechMs: 80, silenceMs: 400 });
    // 2 s of -60 dBFS noise: no events.
    for (let i = 0; i < 100; i++) expect(d.push(dbToRms(-60 + (i % 3)))).toBeNull();
    expect(d.noiseFloorDbfs).toBeLessThan(-55);
    // Speech at -25 dBFS.
    let startAt = -1;
    for (let i = 0; i < 50; i++) {
      const e = d.push(dbToRms(-25));
      if (e?.type === "start") {
        startAt = i;
        expect(e.frame).toBe(100);
      }
    }
    expect(startAt).toBeGreaterThanOrEqual(0);
    expect((startAt + 1) * 20).toBeLessThanOrEqual(100);
    expect(d.speaking).toBe(true);
    let end = null;
    let endAt = -1;
    for (let i = 0; i < 40 && !end; i++) {
      end = d.push(dbToRms(-60));
      endAt = i;
    }
    expect(end).toEqual({ type: "end", frame: 150 });
    expect((endAt + 1) * 20).toBe(400);
  });

  it("a short 'uh-huh' is never sustained, even though its hangover outlasts sustainMs; speech that goes on is", () => {
    const d = new SpeechDetector({ minSpeechMs: 80, silenceMs: 500, sustainMs: 500 });
    for (let i = 0; i < 50; i++) d.push(dbToRms(-60));
    const events: string[] = [];
    // 300 ms of speech, then silence: active for 800 ms in all (the hangover), never sustained.
    for (let i = 0; i < 15; i++) events.push(d.push(dbToRms(-25))?.type ?? "");
    for (let i = 0; i < 30; i++) events.push(d.push(dbToRms(-60))?.type ?? "");
    expect(events.filter(Boolean)).toEqual(["start", "end"]);
    // 300 ms of speech, a 100 ms breath, more speech: sustained at 500 ms from its first voiced frame.
    const more: string[] = [];
    for (let i = 0; i < 15; i++) more.push(d.push(dbToRms(-25))?.type ?? "");
    for (let i = 0; i < 5; i++) more.push(d.push(dbToRms(-60))?.type ?? "");
    for (let i = 0; i < 10; i++) more.push(d.push(dbToRms(-25))?.type ?? "");
    expect(more.filter(Boolean)).toEqual(["start", "sustained"]);
    expect(more.indexOf("sustained")).toBe(24);
  });

  it("ignores a single click and adapts to steady loud noise", () => {
    const d = new SpeechDetector();
    for (let i = 0; i < 50; i++) d.push(dbToRms(-60));
    expect(d.push(dbToRms(-10))).toBeNull(); // one 20 ms click
    for (let i = 0; i < 10; i++) expect(d.push(dbToRms(-60))).toBeNull();
    // A fan at -40 dBFS that slowly rises: the floor follows, no speech.
    for (let i = 0; i < 500; i++) d.push(dbToRms(-60 + Math.min(20, i * 0.05)));
    expect(d.speaking).toBe(false);
  });
});

describe("LevelMeter", () => {
  it("maps dBFS to 0..1 with fast attack and slow release", () => {
    const m = new LevelMeter({ floorDb: -60, ceilingDb: 0 });
    expect(m.level).toBe(0);
    for (let i = 0; i < 5; i++) m.update(dbToRms(-30), 20);
    expect(m.level).toBeCloseTo(0.5, 2);
    m.update(0, 20);
    expect(m.level).toBeGreaterThan(0.4); // release is slow
    expect(linearToDbfs(0, MIC_SILENCE_DBFS)).toBe(-200);
  });
});

describe("WAV reader", () => {
  it("round-trips 16-bit mono and mixes stereo float to mono", () => {
    const src = new Float32Array([0, 0.5, -0.5, 0.25]);
    const wav = encodeWav16(src, 24_000);
    expect(isRiffWave(wav)).toBe(true);
    const decoded = decodeWav(wav);
    expect(decoded.sampleRate).toBe(24_000);
    expect(Array.from(decoded.samples).map((x) => Math.round(x * 1000) / 1000)).toEqual([0, 0.5, -0.5, 0.25]);

    // Stereo float32 with a LIST chunk before data and a streaming (0xFFFFFFFF) data size.
    const frames = 3;
    const buf = new ArrayBuffer(12 + 8 + 16 + 8 + 4 + 8 + frames * 8);
    const v = new DataView(buf);
    const put = (o: number, s: string) => s.split("").forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
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
    const stereo = decodeWav(buf);
    expect(stereo.channels).toBe(2);
    expect(Array.from(stereo.samples)).toEqual([0.5, 0.5, 0]);
  });

  it("rejects what it cannot read", () => {
    expect(() => decodeWav(new ArrayBuffer(8))).toThrow(/RIFF/);
  });

  it("edge fades start and end at ~0 and leave the middle alone", () => {
    const x = applyEdgeFades(new Float32Array(1000).fill(1), 100);
    expect(x[0]).toBeLessThan(0.001);
    expect(x[999]).toBeLessThan(0.001);
    expect(x[500]).toBe(1);
  });
});

describe("Segment decoding in pieces", () => {
  it("pieces join into exactly the one-shot resample, faded at the segment's two ends only", () => {
    const input = new Float32Array(16_000 * 2).map((_, i) => 0.5 * Math.sin(i * 0.05));
    const pieces: { n: number; last: boolean }[] = [];
    const chunks: Float32Array[] = [];
    const writer = new FadingPieceWriter(132, (samples, last) => {
      pieces.push({ n: samples.length, last });
      chunks.push(samples);
    });
    resampleInPieces(input, 16_000, 44_100, writer);
    const joined = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      joined.set(c, o);
      o += c.length;
    }
    const expected = applyEdgeFades(Resampler.convert(input, 16_000, 44_100), 132);
    expect(joined.length).toBe(expected.length);
    let maxDiff = 0;
    for (let i = 0; i < joined.length; i++) maxDiff = Math.max(maxDiff, Math.abs(joined[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
    // The first piece is small (about 100 ms) so playback can start early; only the last is final.
    expect(pieces[0]!.n).toBeLessThan(44_100 * 0.11);
    expect(pieces.filter((p) => p.last)).toHaveLength(1);
    expect(pieces[pieces.length - 1]!.last).toBe(true);
  });
});
