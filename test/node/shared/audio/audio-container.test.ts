import { describe, expect, it } from "vitest";
import { sniffAudio, UnknownAudioError } from "../../../../shared/audio/audio-container.ts";
import { Mp3FormatError } from "../../../../shared/audio/mp3.ts";
import { makeSilentMp3 } from "../../../support/test-audio.ts";
import { AudioFormatError } from "../../../../shared/audio/pcm.ts";
import { encodeWav, WavFormatError } from "../../../../shared/audio/wav.ts";
import { readFixture } from "../../../support/fixtures.ts";

const text = (s: string) => new TextEncoder().encode(s);

function expectUnknown(bytes: Uint8Array, message: RegExp, detected?: RegExp): UnknownAudioError {
  try {
    sniffAudio(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(UnknownAudioError);
    expect(e).toBeInstanceOf(AudioFormatError);
    const err = e as UnknownAudioError;
    expect(err.message).toMatch(message);
    if (detected) expect(err.detected).toMatch(detected);
    return err;
  }
  throw new Error("sniffAudio accepted non-audio bytes");
}

describe("sniffAudio", () => {
  it("identifies a WAV fixture as 16 kHz mono PCM16 with its duration", () => {
    const info = sniffAudio(readFixture("tell-me-a-joke.wav"));
    expect(info).toMatchObject({ container: "wav", codec: "pcm_s16le", sampleRate: 16000, channels: 1 });
    expect(info.durationMs).toBeGreaterThan(1500);
    expect(info.durationMs).toBeLessThan(2100);
  });

  it("identifies raw-frame and ID3-tagged MP3 (like a melotts answer) with duration", () => {
    const mp3 = makeSilentMp3(1500);
    expect(sniffAudio(mp3)).toMatchObject({ container: "mp3", codec: "mp3", sampleRate: 24000, channels: 1 });
    const tagged = new Uint8Array(10 + mp3.length);
    tagged.set([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 0]); // empty ID3v2.3 tag
    tagged.set(mp3, 10);
    const info = sniffAudio(tagged);
    expect(info.container).toBe("mp3");
    expect(info.durationMs).toBeGreaterThanOrEqual(1500);
    expect(info.durationMs).toBeLessThan(1524);
  });

  it("accepts an ArrayBuffer", () => {
    const wav = encodeWav(new Int16Array(1600), 16000);
    expect(sniffAudio(wav.buffer).durationMs).toBe(100);
  });

  it("rejects a Workers AI JSON error body with UnknownAudioError that shows the start of the body", () => {
    const err = expectUnknown(
      text('{"errors":[{"message":"AiError: Capacity temporarily exceeded","code":3040}],"success":false}'),
      /not WAV or MP3 audio \(looks like JSON/,
      /JSON/,
    );
    expect(err.message).toContain('{"errors":[{"message"');
    expectUnknown(text('  \n[{"error": true}]'), /JSON/);
  });

  it("names other containers it does not support", () => {
    expectUnknown(text("OggS\0\x02rest of an ogg page"), /Ogg/, /Ogg/);
    expectUnknown(text("fLaC\0\0\0\x22"), /FLAC/);
    expectUnknown(text("\0\0\0\x20ftypM4A isom"), /MP4/);
    expectUnknown(new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 1, 2]), /WebM/);
    expectUnknown(text("<html><body>502 Bad Gateway</body></html>"), /HTML/);
    expectUnknown(text("RIFF\x10\0\0\0AVI LIST"), /non-WAVE RIFF/);
    const err = expectUnknown(new Uint8Array([1, 2, 3, 0x5c]), /4 bytes starting "\\x01\\x02\\x03\\x5c"/);
    expect(err.detected).toBeNull();
  });

  it("rejects empty input", () => {
    expectUnknown(new Uint8Array(0), /0 bytes/, /empty/);
  });

  it("reports a recognised but broken file with the codec's own error, not UnknownAudioError", () => {
    const wav = encodeWav(new Int16Array(16), 16000);
    new DataView(wav.buffer).setUint16(20, 3, true); // claims IEEE float
    expect(() => sniffAudio(wav)).toThrow(WavFormatError);
    expect(() => sniffAudio(new Uint8Array([0xff, 0xfb, 0, 0, 0, 0]))).toThrow(Mp3FormatError);
    try {
      sniffAudio(wav);
    } catch (e) {
      expect(e).not.toBeInstanceOf(UnknownAudioError);
      expect(e).toBeInstanceOf(AudioFormatError);
    }
  });
});
