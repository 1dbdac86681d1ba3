// Build fake-microphone WAVs for the browser tests from the speech fixtures or from speech made
// with flite at test time (written to test/artifacts/, which git ignores), e.g. a pause, then
// speech to talk over a reply.
import { readFileSync, writeFileSync } from "node:fs";
import { Flite } from "../../local-ai/engines/flite.ts";
import { encodeWav, parseWav as parsePcm16Wav, type ParsedWav } from "../../shared/audio/wav.ts";
import { concatArrays } from "../../shared/typed-arrays.ts";

export interface Pcm16 {
  sampleRate: number;
  samples: Int16Array;
}

/** Read a mono PCM16 WAV file. */
export function readWav(path: string): Pcm16 {
  return parseWav(readFileSync(path), path);
}

/** Parse mono PCM16 WAV bytes. */
export function parseWav(bytes: Uint8Array, path = "WAV"): Pcm16 {
  let wav: ParsedWav;
  try {
    wav = parsePcm16Wav(bytes);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (wav.channels !== 1) throw new Error(`${path}: expected mono PCM16`);
  return { sampleRate: wav.sampleRate, samples: wav.pcm };
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
  return {
    sampleRate: rate,
    samples: concatArrays(
      Int16Array,
      parts.map((p) => p.samples),
    ),
  };
}

export function writeWav(path: string, pcm: Pcm16): void {
  writeFileSync(path, encodeWav(pcm.samples, pcm.sampleRate));
}
