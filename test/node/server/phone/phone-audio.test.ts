// The phone path's audio: G.711 μ-law against the ITU-T tables, 8 <-> 16 kHz resampling, Twilio's
// 20 ms framing both ways.
import { describe, expect, it } from "vitest";
import { decodeMulaw, encodeMulaw, linearToMulaw, mulawToLinear } from "../../../../shared/audio/g711.ts";
import { encodeWav } from "../../../../shared/audio/wav.ts";
import { Resampler } from "../../../../shared/audio/resampler.ts";
import { float32ToInt16, int16ToFloat32, rmsDbfs } from "../../../../shared/audio/pcm.ts";
import { InboundAudio } from "../../../../server/phone/inbound-audio.ts";
import { MULAW_SILENCE, mulawFrames, phoneFrames } from "../../../../server/phone/outbound-audio.ts";

function sine(hz: number, rate: number, ms: number, amplitude = 8000): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  return Int16Array.from({ length: n }, (_, i) => Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * amplitude));
}

/** Level of `hz` in `pcm` (a single-bin DFT, amplitude relative to full scale). */
function toneAmplitude(pcm: Int16Array, hz: number, rate: number, from = 0, to = pcm.length): number {
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += pcm[i]! * Math.cos((2 * Math.PI * hz * i) / rate);
    im += pcm[i]! * Math.sin((2 * Math.PI * hz * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / (to - from);
}

describe("G.711 μ-law", () => {
  it("decodes to the ITU-T table values", () => {
    // G.711 Table 2a (μ-law): code words are transmitted inverted.
    expect(mulawToLinear(0x00)).toBe(-32124);
    expect(mulawToLinear(0x80)).toBe(32124);
    expect(mulawToLinear(0x7e)).toBe(-8);
    expect(mulawToLinear(0xfe)).toBe(8);
    expect(mulawToLinear(0x7f)).toBe(0);
    expect(mulawToLinear(0xff)).toBe(0);
    expect(mulawToLinear(0x70)).toBe(-120);
    expect(mulawToLinear(0x0f)).toBe(-16764);
  });

  it("encodes silence as 0xFF, full scale at the table's ends, and every code word back to itself", () => {
    expect(linearToMulaw(0)).toBe(0xff);
    expect(linearToMulaw(32767)).toBe(0x80);
    expect(linearToMulaw(-32768)).toBe(0x00);
    for (let b = 0; b < 256; b++) if (b !== 0x7f) expect(linearToMulaw(mulawToLinear(b))).toBe(b); // 0x7F is "-0": 0 encodes as 0xFF
    expect(MULAW_SILENCE).toBe(linearToMulaw(0));
  });

  it("round-trips PCM16 within half a quantization step, and the array codecs agree with the scalar ones", () => {
    const pcm = Int16Array.from({ length: 4001 }, (_, i) => Math.round(-32000 + i * 16));
    const back = decodeMulaw(encodeMulaw(pcm));
    for (let i = 0; i < pcm.length; i++) {
      const v = pcm[i]!;
      // Step size doubles per segment: 8 near zero, 1024 in the top segment (plus the clip at 32635).
      const step = Math.max(8, 2 ** Math.ceil(Math.log2((Math.abs(v) + 132) / 16)));
      expect(Math.abs(back[i]! - v)).toBeLessThanOrEqual(step / 2 + Math.max(0, Math.abs(v) - 32124) + 1);
      expect(back[i]).toBe(mulawToLinear(linearToMulaw(v)));
    }
  });
});

describe("8 kHz <-> 16 kHz", () => {
  it("the caller's μ-law becomes 20 ms frames of 16 kHz PCM with the tone intact and nothing lost between payloads", () => {
    const tone = sine(440, 8000, 1000);
    const mulaw = encodeMulaw(tone);
    const inbound = new InboundAudio();
    const frames: Int16Array[] = [];
    for (let i = 0; i < mulaw.length; i += 160) frames.push(...inbound.push(mulaw.subarray(i, i + 160)));
    expect(frames.every((f) => f.length === 320)).toBe(true);
    // The resampler's latency (a few ms) stays buffered: all but the last frame are out.
    expect(frames.length).toBeGreaterThanOrEqual(49);
    const up = Int16Array.from(frames.flatMap((f) => [...f]));
    expect(toneAmplitude(up, 440, 16000, 800, up.length - 800) / 8000).toBeCloseTo(1, 1);
    // No energy mirrored above 4 kHz (the 8 kHz signal's image at 16 kHz - 440 Hz = 7560 Hz).
    expect(toneAmplitude(up, 7560, 16000, 800, up.length - 800)).toBeLessThan(80);
  });

  it("a round trip 8 -> 16 -> 8 kHz keeps a speech-band signal within 0.5 dB", () => {
    const x = sine(1000, 8000, 500);
    const up = float32ToInt16(Resampler.convert(int16ToFloat32(x), 8000, 16000));
    expect(up.length).toBe(x.length * 2);
    const back = float32ToInt16(Resampler.convert(int16ToFloat32(up), 16000, 8000));
    expect(back.length).toBe(x.length);
    expect(Math.abs(rmsDbfs(back, 200, 3800) - rmsDbfs(x, 200, 3800))).toBeLessThan(0.5);
  });

  it("a reply segment's WAV (any rate, stereo too) becomes 160-byte μ-law frames of the same duration; MP3 is refused", () => {
    const wav16k = encodeWav(sine(300, 16000, 1010), 16000);
    const a = phoneFrames(wav16k, "wav");
    expect(a.frames.every((f) => f.length === 160)).toBe(true);
    expect(a.frames.length).toBe(Math.ceil(8080 / 160));
    expect(a.durationMs).toBeCloseTo(1010, 0);
    const decoded = decodeMulaw(Uint8Array.from(a.frames.flatMap((f) => [...f])));
    expect(toneAmplitude(decoded, 300, 8000, 400, 7600) / 8000).toBeCloseTo(1, 1);

    const stereo = new Int16Array(1600 * 2);
    for (let i = 0; i < 1600; i++) stereo[2 * i] = stereo[2 * i + 1] = i % 2 ? 4000 : -4000;
    expect(phoneFrames(encodeWav(stereo, 8000, 2), "wav").frames).toHaveLength(10);
    expect(() => phoneFrames(new Uint8Array([0xff, 0xfb, 0x90, 0x00]), "mp3")).toThrow(/PHONE_TTS_MODEL/);
  });

  it("pads a segment's last frame with μ-law silence", () => {
    const frames = mulawFrames(new Int16Array(170).fill(1000));
    expect(frames).toHaveLength(2);
    expect(frames[1]![9]).toBe(linearToMulaw(1000));
    expect([...frames[1]!.subarray(10)].every((b) => b === MULAW_SILENCE)).toBe(true);
  });
});
