// Pure audio helpers of the offline stand-in (local-ai/audio.ts: what shared/audio/ lacks) and the WER helper.
import { describe, expect, it } from "vitest";
import { float32ToInt16 } from "../../../shared/audio/pcm.ts";
import { encodeWav as encodePcm16Wav } from "../../../shared/audio/wav.ts";
import { AudioFormatError, decodeWav, encodeWav, resample, wavToPcm16Mono } from "../../../local-ai/audio.ts";
import { alawToLinear, linearToAlaw, linearToMulaw, mulawToLinear } from "../../../shared/audio/g711.ts";
import { wordErrorRate, wordErrors } from "../../../local-ai/wer.ts";

function sine(freq: number, rate: number, seconds: number, amp = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Power of `freq` in `x` (single-bin DFT), normalised so a sine of amplitude A gives A. */
function toneLevel(x: Float32Array, freq: number, rate: number): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < x.length; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i]! * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / x.length;
}

/** A WAV built by hand, for formats encodeWav does not write. */
function wavBytes(opts: { format: number; channels: number; rate: number; bits: number; data: Uint8Array; extensible?: boolean; extraChunk?: boolean }): Uint8Array {
  const fmtSize = opts.extensible ? 40 : 16;
  const extra = opts.extraChunk ? 8 + 3 + 1 : 0; // odd-sized LIST chunk + pad byte
  const out = new Uint8Array(12 + 8 + fmtSize + extra + 8 + opts.data.length);
  const dv = new DataView(out.buffer);
  const put = (at: number, s: string) => { for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i); };
  put(0, "RIFF"); dv.setUint32(4, out.length - 8, true); put(8, "WAVE");
  put(12, "fmt "); dv.setUint32(16, fmtSize, true);
  dv.setUint16(20, opts.extensible ? 0xfffe : opts.format, true);
  dv.setUint16(22, opts.channels, true);
  dv.setUint32(24, opts.rate, true);
  dv.setUint32(28, (opts.rate * opts.channels * opts.bits) / 8, true);
  dv.setUint16(32, (opts.channels * opts.bits) / 8, true);
  dv.setUint16(34, opts.bits, true);
  let at = 36;
  if (opts.extensible) { dv.setUint16(36, 22, true); dv.setUint16(38, opts.bits, true); dv.setUint16(44, opts.format, true); at = 12 + 8 + 40; }
  if (opts.extraChunk) { put(at, "LIST"); dv.setUint32(at + 4, 3, true); at += 12; }
  put(at, "data"); dv.setUint32(at + 4, opts.data.length, true);
  out.set(opts.data, at + 8);
  return out;
}

describe("decodeWav", () => {
  it("reads PCM16 written by the server's encodeWav", () => {
    const pcm = Int16Array.from([0, 1000, -1000, 32767, -32768]);
    const d = decodeWav(encodePcm16Wav(pcm, 22050));
    expect(d.sampleRate).toBe(22050);
    expect(d.channels).toBe(1);
    expect(Array.from(d.samples)).toEqual(Array.from(pcm, (s) => Math.fround(s / 32768)));
  });

  it("averages stereo, reads 8/24-bit PCM, float, extensible headers and skips other chunks", () => {
    const stereo = new Uint8Array(8);
    new DataView(stereo.buffer).setInt16(0, 16384, true); // L
    new DataView(stereo.buffer).setInt16(2, 0, true); // R
    new DataView(stereo.buffer).setInt16(4, -16384, true);
    new DataView(stereo.buffer).setInt16(6, -16384, true);
    const s = decodeWav(wavBytes({ format: 1, channels: 2, rate: 48000, bits: 16, data: stereo, extraChunk: true }));
    expect(s.channels).toBe(2);
    expect(Array.from(s.samples)).toEqual([0.25, -0.5]);

    expect(Array.from(decodeWav(wavBytes({ format: 1, channels: 1, rate: 8000, bits: 8, data: Uint8Array.from([128, 255, 0]) })).samples)).toEqual([0, 127 / 128, -1]);

    const p24 = Uint8Array.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
    expect(Array.from(decodeWav(wavBytes({ format: 1, channels: 1, rate: 16000, bits: 24, data: p24, extensible: true })).samples)).toEqual([0.5, -0.5]);

    const f32 = new Uint8Array(new Float32Array([0.25, -0.75]).buffer);
    expect(Array.from(decodeWav(wavBytes({ format: 3, channels: 1, rate: 44100, bits: 32, data: f32 })).samples)).toEqual([0.25, -0.75]);
  });

  it("takes the rest of the file when a streaming writer left the data size unset", () => {
    const wav = encodePcm16Wav(Int16Array.from([1, 2, 3, 4]), 16000);
    new DataView(wav.buffer).setUint32(40, 0xffffffff, true);
    expect(decodeWav(wav).samples.length).toBe(4);
  });

  it("rejects what is not a WAV with a clear message", () => {
    expect(() => decodeWav(new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/expected a WAV .*got MP3/);
    expect(() => decodeWav(new TextEncoder().encode("OggS\0\0\0\0\0\0\0\0"))).toThrow(/expected a WAV .*looks like Ogg/);
    expect(() => decodeWav(new TextEncoder().encode('{"error":"x"}'))).toThrow(AudioFormatError);
    expect(() => decodeWav(wavBytes({ format: 85, channels: 1, rate: 16000, bits: 16, data: new Uint8Array(4) }))).toThrow(/unsupported WAV encoding/);
  });
});

describe("resample", () => {
  it("keeps a tone in band and its level, at the right length", () => {
    const x = sine(1000, 48000, 0.5);
    const y = resample(x, 48000, 16000);
    expect(y.length).toBe(8000);
    expect(toneLevel(y, 1000, 16000)).toBeCloseTo(0.5, 1);
  });

  it("removes content above the new Nyquist instead of aliasing it (48 kHz -> 16 kHz)", () => {
    const x = sine(12000, 48000, 0.5); // would alias to 4 kHz
    const y = resample(x, 48000, 16000);
    expect(toneLevel(y, 4000, 16000)).toBeLessThan(0.01);
  });

  it("upsamples 8 kHz to 16 kHz and is the identity at equal rates", () => {
    const x = sine(440, 8000, 0.25);
    const y = resample(x, 8000, 16000);
    expect(y.length).toBe(4000);
    expect(toneLevel(y, 440, 16000)).toBeCloseTo(0.5, 1);
    expect(resample(x, 8000, 8000)).toEqual(x);
  });

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

describe("G.711", () => {
  it("mu-law and A-law round trips stay within the codec's step size", () => {
    for (const v of [0, 1, -1, 100, -100, 1000, -1000, 8000, -8000, 30000, -30000]) {
      const mu = mulawToLinear(linearToMulaw(v));
      const a = alawToLinear(linearToAlaw(v));
      const tol = Math.max(16, Math.abs(v) / 16);
      expect(Math.abs(mu - v)).toBeLessThanOrEqual(tol);
      expect(Math.abs(a - v)).toBeLessThanOrEqual(tol);
    }
  });

  it("writes mu-law and A-law WAVs that decode back; linear16 is the server's PCM16 WAV", () => {
    const pcm = float32ToInt16(sine(300, 8000, 0.1));
    for (const encoding of ["mulaw", "alaw"] as const) {
      const wav = encodeWav(pcm, 8000, encoding);
      expect(wav.length).toBe(44 + pcm.length);
      const d = decodeWav(wav);
      expect(d.sampleRate).toBe(8000);
      expect(toneLevel(d.samples, 300, 8000)).toBeCloseTo(0.5, 1);
    }
    expect(encodeWav(pcm, 8000)).toEqual(encodePcm16Wav(pcm, 8000));
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
