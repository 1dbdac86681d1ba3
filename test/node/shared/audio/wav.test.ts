import { describe, expect, it } from "vitest";
import { AudioFormatError, float32ToInt16, pcm16ToBytes } from "../../../../shared/audio/pcm.ts";
import { decodeWav, encodeWav, parseWav, WAV_HEADER_BYTES, WavFormatError } from "../../../../shared/audio/wav.ts";
import { isRiffWave } from "../../../../shared/audio/wav-chunks.ts";
import { readFixture } from "../../../support/fixtures.ts";
import { applyEdgeFades, encodeWav16, extensibleFmt, fmtBody, riff, sine, toneLevel, wavBytes } from "../../../support/test-audio.ts";

function ramp(n: number): Int16Array {
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * 997) % 65536) - 32768;
  return out;
}

const pcmBytes = (pcm: Int16Array) => new Uint8Array(pcm16ToBytes(pcm));

describe("encodeWav", () => {
  it("writes a canonical 44-byte header with the right sizes and rates", () => {
    const pcm = ramp(1000);
    const wav = encodeWav(pcm, 16000);
    const v = new DataView(wav.buffer);
    expect(wav.length).toBe(WAV_HEADER_BYTES + 2000);
    expect(new TextDecoder().decode(wav.subarray(0, 4))).toBe("RIFF");
    expect(v.getUint32(4, true)).toBe(36 + 2000);
    expect(new TextDecoder().decode(wav.subarray(8, 16))).toBe("WAVEfmt ");
    expect(v.getUint16(20, true)).toBe(1); // PCM
    expect(v.getUint16(22, true)).toBe(1);
    expect(v.getUint32(24, true)).toBe(16000);
    expect(v.getUint32(28, true)).toBe(32000); // byte rate
    expect(v.getUint16(32, true)).toBe(2);
    expect(v.getUint16(34, true)).toBe(16);
    expect(new TextDecoder().decode(wav.subarray(36, 40))).toBe("data");
    expect(v.getUint32(40, true)).toBe(2000);
    expect(v.getInt16(44, true)).toBe(pcm[0]);
    expect(v.getInt16(44 + 2 * 999, true)).toBe(pcm[999]);
  });

  it("round-trips mono and stereo through parseWav with the right duration", () => {
    const mono = ramp(16000);
    const parsed = parseWav(encodeWav(mono, 16000));
    expect(parsed).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16, durationMs: 1000 });
    expect(Array.from(parsed.pcm)).toEqual(Array.from(mono));

    const stereo = ramp(4800 * 2);
    const p2 = parseWav(encodeWav(stereo, 48000, 2));
    expect(p2.channels).toBe(2);
    expect(p2.durationMs).toBe(100);
    expect(p2.pcm).toEqual(stereo);
  });

  it("rejects samples that are not whole multi-channel frames and bad rates", () => {
    expect(() => encodeWav(new Int16Array(3), 16000, 2)).toThrow(/whole number of 2-channel frames/);
    expect(() => encodeWav(new Int16Array(2), 0)).toThrow(/sample rate/);
    expect(() => encodeWav(new Int16Array(2), 16000, 0)).toThrow(/channel/);
  });
});

describe("parseWav", () => {
  it("skips LIST and fact chunks and the pad byte after an odd-sized chunk", () => {
    const pcm = ramp(320);
    const wav = riff([
      { id: "fmt ", body: fmtBody(1, 1, 16000, 16) },
      { id: "LIST", body: new TextEncoder().encode("INFOISFT\x05\x00\x00\x00odd!!") }, // 17 bytes: padded
      { id: "fact", body: new Uint8Array([64, 1, 0, 0]) },
      { id: "data", body: pcmBytes(pcm) },
    ]);
    const parsed = parseWav(wav);
    expect(parsed.sampleRate).toBe(16000);
    expect(parsed.durationMs).toBe(20);
    expect(parsed.pcm).toEqual(pcm);
  });

  it("finds fmt after data and accepts WAVE_FORMAT_EXTENSIBLE with a PCM sub-format", () => {
    const pcm = ramp(160);
    const wav = riff([
      { id: "data", body: pcmBytes(pcm) },
      { id: "fmt ", body: fmtBody(0xfffe, 1, 8000, 16, extensibleFmt(1)) }, // SubFormat GUID starts with 0x0001 = PCM
    ]);
    const parsed = parseWav(wav);
    expect(parsed.sampleRate).toBe(8000);
    expect(parsed.pcm).toEqual(pcm);
  });

  it("clamps a streaming header's oversized data length to the bytes present and drops a partial sample", () => {
    const pcm = ramp(100);
    const body = new Uint8Array(201);
    body.set(pcmBytes(pcm));
    const wav = riff([
      { id: "fmt ", body: fmtBody(1, 1, 16000, 16) },
      { id: "data", body, size: 0xffffffff },
    ]);
    const parsed = parseWav(wav.subarray(0, wav.length - 1)); // no pad byte either
    expect(parsed.pcm.length).toBe(100);
    expect(parsed.pcm).toEqual(pcm);
  });

  it("reads correct samples from bytes at an odd offset (copying instead of aliasing)", () => {
    const pcm = ramp(500);
    const wav = encodeWav(pcm, 16000);
    const shifted = new Uint8Array(wav.length + 1);
    shifted.set(wav, 1);
    const parsed = parseWav(shifted.subarray(1));
    expect(parsed.pcm).toEqual(pcm);
    expect(parsed.pcm.buffer).not.toBe(shifted.buffer);
    // Aligned input is aliased, not copied.
    expect(parseWav(wav).pcm.buffer).toBe(wav.buffer);
  });

  it("gives clear errors for non-WAV input and unsupported encodings", () => {
    expect(() => parseWav(new TextEncoder().encode('{"errors":[{"code":3040}]}'))).toThrow(/not a WAV file/);
    expect(() => parseWav(new Uint8Array(4))).toThrow(WavFormatError);
    expect(() =>
      parseWav(
        riff([
          { id: "fmt ", body: fmtBody(1, 1, 16000, 8) },
          { id: "data", body: new Uint8Array(8) },
        ]),
      ),
    ).toThrow(/8-bit PCM/);
    expect(() =>
      parseWav(
        riff([
          { id: "fmt ", body: fmtBody(3, 1, 16000, 32) },
          { id: "data", body: new Uint8Array(8) },
        ]),
      ),
    ).toThrow(/IEEE float/);
    expect(() =>
      parseWav(
        riff([
          { id: "fmt ", body: fmtBody(7, 1, 8000, 8) },
          { id: "data", body: new Uint8Array(8) },
        ]),
      ),
    ).toThrow(/mu-law/);
    expect(() => parseWav(riff([{ id: "fmt ", body: fmtBody(1, 1, 16000, 16) }]))).toThrow(/no data chunk/);
    expect(() => parseWav(riff([{ id: "data", body: new Uint8Array(8) }]))).toThrow(/no fmt chunk/);
    expect(() =>
      parseWav(
        riff([
          { id: "fmt ", body: new Uint8Array(8) },
          { id: "data", body: new Uint8Array(8) },
        ]),
      ),
    ).toThrow(/fmt chunk too short/);
    try {
      parseWav(new Uint8Array(64));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AudioFormatError);
    }
  });

  it("parses the flite fixtures as 16 kHz mono with the documented durations", () => {
    const weather = parseWav(readFixture("what-is-the-weather.wav"));
    expect(weather).toMatchObject({ sampleRate: 16000, channels: 1, bitsPerSample: 16 });
    expect(weather.durationMs).toBeGreaterThan(2000);
    expect(weather.durationMs).toBeLessThan(2600);
    const pause = parseWav(readFixture("two-phrases-with-pause.wav"));
    expect(pause.durationMs).toBeGreaterThan(3000);
    expect(pause.durationMs).toBeLessThan(3600);
  });
});

describe("decodeWav", () => {
  it("reads PCM16 written by the server's encodeWav", () => {
    const pcm = Int16Array.from([0, 1000, -1000, 32767, -32768]);
    const d = decodeWav(encodeWav(pcm, 22050));
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

    expect(
      Array.from(decodeWav(wavBytes({ format: 1, channels: 1, rate: 8000, bits: 8, data: Uint8Array.from([128, 255, 0]) })).samples),
    ).toEqual([0, 127 / 128, -1]);

    const p24 = Uint8Array.from([0x00, 0x00, 0x40, 0x00, 0x00, 0xc0]); // +0.5, -0.5
    expect(Array.from(decodeWav(wavBytes({ format: 1, channels: 1, rate: 16000, bits: 24, data: p24, extensible: true })).samples)).toEqual(
      [0.5, -0.5],
    );

    const f32 = new Uint8Array(new Float32Array([0.25, -0.75]).buffer);
    expect(Array.from(decodeWav(wavBytes({ format: 3, channels: 1, rate: 44100, bits: 32, data: f32 })).samples)).toEqual([0.25, -0.75]);
  });

  it("takes the rest of the file when a streaming writer left the data size unset", () => {
    const wav = encodeWav(Int16Array.from([1, 2, 3, 4]), 16000);
    new DataView(wav.buffer).setUint32(40, 0xffffffff, true);
    expect(decodeWav(wav).samples.length).toBe(4);
  });
});

describe("encodeWav with G.711", () => {
  it("writes mu-law and A-law WAVs that decode back; linear16 is the server's PCM16 WAV", () => {
    const pcm = float32ToInt16(sine(300, 8000, 0.1));
    for (const encoding of ["mulaw", "alaw"] as const) {
      const wav = encodeWav(pcm, 8000, 1, encoding);
      expect(wav.length).toBe(44 + pcm.length);
      const d = decodeWav(wav);
      expect(d.sampleRate).toBe(8000);
      expect(toneLevel(d.samples, 300, 8000)).toBeCloseTo(0.5, 1);
    }
    expect(encodeWav(pcm, 8000, 1, "linear16")).toEqual(encodeWav(pcm, 8000));
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
