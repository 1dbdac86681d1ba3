import { describe, expect, it } from "vitest";
import { mp3Frames, parseMp3 } from "../../../../shared/audio/mp3.ts";
import { makeSilentMp3 } from "../../../support/test-audio.ts";
import { encodeWav, parseWav } from "../../../../shared/audio/wav.ts";
import { replyRecording, utteranceRecording, type SentSegment } from "../../../../server/recordings/turn-audio.ts";

/** A WAV segment whose samples count up from `start` (so joins and cuts can be checked sample by sample). */
function wavSegment(ms: number, start: number, rate = 16_000): SentSegment {
  const pcm = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < pcm.length; i++) pcm[i] = (start + i) % 30_000;
  return { bytes: encodeWav(pcm, rate, 1), container: "wav" };
}

/** An MP3 as a TTS model may send it: an ID3v2 tag, a Xing metadata frame, then `ms` of audio frames. */
function taggedMp3(ms: number): Uint8Array {
  const audio = makeSilentMp3(ms);
  const frameBytes = mp3Frames(audio).frames[0]!.length;
  const xing = audio.slice(0, frameBytes);
  xing.set(new TextEncoder().encode("Xing"), 4 + 9); // after MPEG-2 mono side info
  const id3 = new Uint8Array(10 + 20);
  id3.set([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 20]);
  const out = new Uint8Array(id3.length + xing.length + audio.length);
  out.set(id3, 0);
  out.set(xing, id3.length);
  out.set(audio, id3.length + xing.length);
  return out;
}

describe("the user's utterance as a file", () => {
  it("is a 16 kHz mono PCM16 WAV of exactly the samples", () => {
    const pcm = Int16Array.from({ length: 16_000 }, (_, i) => i - 8000);
    const rec = utteranceRecording(pcm)!;
    expect(rec).toMatchObject({ contentType: "audio/wav", extension: "wav", durationMs: 1000 });
    const wav = parseWav(rec.bytes);
    expect({ rate: wav.sampleRate, channels: wav.channels }).toEqual({ rate: 16_000, channels: 1 });
    expect([...wav.pcm]).toEqual([...pcm]);
    expect(utteranceRecording(new Int16Array(0))).toBeNull();
  });
});

describe("the reply as heard", () => {
  it("WAV segments played out are one WAV of all their samples in order", () => {
    const segs = [wavSegment(100, 0), wavSegment(200, 1600), wavSegment(50, 4800)];
    const rec = replyRecording(segs, null)!;
    expect(rec).toMatchObject({ contentType: "audio/wav", durationMs: 350 });
    const pcm = parseWav(rec.bytes).pcm;
    expect(pcm.length).toBe(5600);
    expect(pcm.every((v, i) => v === i)).toBe(true);
  });

  it("a WAV reply stopped 40% into its second segment ends on that sample", () => {
    const segs = [wavSegment(100, 0), wavSegment(200, 1600), wavSegment(50, 4800)];
    const rec = replyRecording(segs, { segment: 1, playedMs: 80 })!;
    expect(rec.durationMs).toBe(180);
    const pcm = parseWav(rec.bytes).pcm;
    expect(pcm.length).toBe(2880);
    expect(pcm[pcm.length - 1]).toBe(2879);
  });

  it("MP3 segments lose their ID3 tags and Xing frames and are joined frame by frame into one stream", () => {
    const segs: SentSegment[] = [
      { bytes: taggedMp3(480), container: "mp3" },
      { bytes: taggedMp3(240), container: "mp3" },
    ];
    // What a player would count in one segment: the Xing frame is metadata, not audio.
    expect(parseMp3(segs[0]!.bytes)).toMatchObject({ frames: 20, vbrHeader: "xing" });
    const rec = replyRecording(segs, null)!;
    expect(rec).toMatchObject({ contentType: "audio/mpeg", extension: "mp3", durationMs: 720 });
    expect(rec.bytes[0]).toBe(0xff);
    const joined = parseMp3(rec.bytes);
    expect(joined).toMatchObject({ frames: 30, vbrHeader: null, junkBytes: 0, durationMs: 720 });
    expect(rec.bytes.byteLength).toBe(30 * 96);
  });

  it("an MP3 reply stopped inside a segment keeps whole frames up to the nearest frame boundary", () => {
    const segs: SentSegment[] = [
      { bytes: makeSilentMp3(480), container: "mp3" },
      { bytes: makeSilentMp3(480), container: "mp3" },
    ];
    // 24 ms frames: 100 ms into the second is 4.17 frames, so 4.
    const rec = replyRecording(segs, { segment: 1, playedMs: 100 })!;
    expect(rec.durationMs).toBe(480 + 96);
    expect(Math.abs(rec.durationMs - 580)).toBeLessThanOrEqual(24);
    expect(parseMp3(rec.bytes).frames).toBe(24);
  });

  it("a stop past the last segment keeps everything; a stop before any audio keeps nothing", () => {
    const segs = [wavSegment(100, 0), wavSegment(100, 1600)];
    expect(replyRecording(segs, { segment: 2, playedMs: 0 })!.durationMs).toBe(200);
    expect(replyRecording(segs, { segment: 0, playedMs: 0 })).toBeNull();
    expect(replyRecording([], null)).toBeNull();
  });

  it("segments after one of another format are left out (one file holds one stream)", () => {
    const segs = [wavSegment(100, 0), wavSegment(100, 0, 24_000), wavSegment(100, 1600)];
    expect(replyRecording(segs, null)!.durationMs).toBe(100);
    const mixed: SentSegment[] = [{ bytes: makeSilentMp3(240), container: "mp3" }, wavSegment(100, 0)];
    expect(replyRecording(mixed, null)!.durationMs).toBe(240);
  });
});
