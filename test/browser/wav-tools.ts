// Build fake-microphone WAVs for the browser tests from the speech fixtures or from speech made
// with flite at test time (written to test/artifacts/, which git ignores), e.g. a pause, then
// speech to talk over a reply.
import { readFileSync, writeFileSync } from "node:fs";
import { Flite } from "../../local-ai/engines/flite.ts";

export interface Pcm16 {
  sampleRate: number;
  samples: Int16Array;
}

/** Read a mono PCM16 WAV file. */
export function readWav(path: string): Pcm16 {
  return parseWav(readFileSync(path), path);
}

/** Parse mono PCM16 WAV bytes (walks the RIFF chunks). */
export function parseWav(bytes: Uint8Array, path = "WAV"): Pcm16 {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.toString("ascii", 0, 4) !== "RIFF" || buf.toString("ascii", 8, 12) !== "WAVE") throw new Error(`${path}: not a WAV`);
  let off = 12;
  let rate = 0;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    const size = view.getUint32(off + 4, true);
    if (id === "fmt ") {
      if (view.getUint16(off + 8, true) !== 1 || view.getUint16(off + 10, true) !== 1 || view.getUint16(off + 22, true) !== 16) {
        throw new Error(`${path}: expected mono PCM16`);
      }
      rate = view.getUint32(off + 12, true);
    } else if (id === "data") {
      const n = Math.floor(Math.min(size, buf.length - off - 8) / 2);
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = view.getInt16(off + 8 + i * 2, true);
      return { sampleRate: rate, samples };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

/** Speech synthesized by flite (16 kHz), with its near-silent start and end trimmed (as the fixtures are). */
export async function fliteSpeech(text: string, voice: string): Promise<Pcm16> {
  const flite = new Flite({ voice });
  try {
    const pcm = parseWav(await flite.synthesize(text), `flite "${text}"`);
    const loud = (x: number) => Math.abs(x) > 64; // about -54 dBFS
    const first = pcm.samples.findIndex(loud);
    const last = pcm.samples.findLastIndex(loud);
    return { sampleRate: pcm.sampleRate, samples: first < 0 ? new Int16Array(0) : pcm.samples.slice(first, last + 1) };
  } finally {
    flite.close();
  }
}

export function durationMs(pcm: Pcm16): number {
  return (pcm.samples.length * 1000) / pcm.sampleRate;
}

export function silence(sampleRate: number, ms: number): Pcm16 {
  return { sampleRate, samples: new Int16Array(Math.round((sampleRate * ms) / 1000)) };
}

export function concatWav(parts: Pcm16[]): Pcm16 {
  const rate = parts[0]!.sampleRate;
  if (parts.some((p) => p.sampleRate !== rate)) throw new Error("sample rates differ");
  const out = new Int16Array(parts.reduce((n, p) => n + p.samples.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p.samples, o);
    o += p.samples.length;
  }
  return { sampleRate: rate, samples: out };
}

export function writeWav(path: string, pcm: Pcm16): void {
  const n = pcm.samples.length;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write("RIFF", 0, "ascii");
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write("WAVE", 8, "ascii");
  buf.write("fmt ", 12, "ascii");
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(pcm.sampleRate, 24);
  buf.writeUInt32LE(pcm.sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36, "ascii");
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) buf.writeInt16LE(pcm.samples[i]!, 44 + i * 2);
  writeFileSync(path, buf);
}
