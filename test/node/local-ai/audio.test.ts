// The offline stand-in's audio input (local-ai/audio.ts: what shared/audio/ lacks) and the WER helper.
import { describe, expect, it } from "vitest";
import { AudioFormatError, float32ToInt16 } from "../../../shared/audio/pcm.ts";
import { encodeWav as encodePcm16Wav } from "../../../shared/audio/wav.ts";
import { decodeWav, wavToPcm16Mono } from "../../../local-ai/audio.ts";
import { wordErrorRate, wordErrors } from "../../../local-ai/wer.ts";
import { sine, wavBytes } from "../../support/test-audio.ts";

describe("decodeWav", () => {
  it("rejects what is not a WAV with a clear message", () => {
    expect(() => decodeWav(new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/expected a WAV .*got MP3/);
    expect(() => decodeWav(new TextEncoder().encode("OggS\0\0\0\0\0\0\0\0"))).toThrow(/expected a WAV .*looks like Ogg/);
    expect(() => decodeWav(new TextEncoder().encode('{"error":"x"}'))).toThrow(AudioFormatError);
    expect(() => decodeWav(wavBytes({ format: 85, channels: 1, rate: 16000, bits: 16, data: new Uint8Array(4) }))).toThrow(
      /unsupported WAV encoding/,
    );
  });
});

describe("any WAV to PocketSphinx input", () => {
  it("wavToPcm16Mono converts any WAV to 16 kHz mono PCM16", () => {
    const x = float32ToInt16(sine(500, 44100, 1));
    const r = wavToPcm16Mono(encodePcm16Wav(x, 44100));
    expect(r.sourceRate).toBe(44100);
    expect(r.durationSec).toBeCloseTo(1, 3);
    expect(r.pcm.length).toBe(16000);
  });

  it("wavToPcm16Mono passes 16 kHz mono PCM16 (what the server sends) through sample for sample", () => {
    const x = Int16Array.from([0, 1, -1, 32767, -32768, 12345]);
    const r = wavToPcm16Mono(encodePcm16Wav(x, 16000));
    expect(Array.from(r.pcm)).toEqual(Array.from(x));
    expect(r.durationSec).toBeCloseTo(6 / 16000, 9);
  });
});

describe("word error rate", () => {
  it("counts substitutions, insertions and deletions per reference word", () => {
    expect(wordErrorRate("what is the weather", "What is the weather?")).toBe(0);
    expect(wordErrors("set a timer for ten minutes", "set timer for ten minutes")).toEqual({ errors: 1, words: 6 });
    expect(wordErrorRate("tell me a joke", "tell me a bad joke")).toBe(0.25);
    expect(wordErrorRate("", "")).toBe(0);
  });
});
