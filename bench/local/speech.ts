// Speech for bench:local: flite renders (in-process WASI), espeak-ng when its Debian CLI is
// installed, and where the speech in a clip starts and ends.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { float32ToInt16 } from "../../shared/audio/pcm.ts";
import { decodeWav } from "../../local-ai/audio.ts";
import { Resampler } from "../../shared/audio/resampler.ts";

export const SAMPLE_RATE = 16000;
/** 10 ms analysis frames. */
const FRAME = 160;

/**
 * First and last voiced sample of a clip: the first/last 10 ms frame whose RMS is above -50 dBFS and
 * within 35 dB of the clip's loudest frame (flite and espeak leave 0.1-0.3 s of near silence around
 * the speech). `end` is the sample after the last voiced frame.
 */
export function speechBounds(pcm: Int16Array): { start: number; end: number } {
  const db: number[] = [];
  for (let i = 0; i + FRAME <= pcm.length; i += FRAME) {
    let sum = 0;
    for (let j = i; j < i + FRAME; j++) sum += pcm[j]! * pcm[j]!;
    db.push(10 * Math.log10(sum / FRAME / (32768 * 32768) + 1e-12));
  }
  const peak = Math.max(...db);
  const voiced = (d: number) => d > Math.max(-50, peak - 35);
  const first = db.findIndex(voiced);
  const last = db.findLastIndex(voiced);
  if (first < 0) return { start: 0, end: 0 };
  return { start: first * FRAME, end: (last + 1) * FRAME };
}

/** 16 kHz mono PCM16 of a WAV. */
export function wavPcm(wav: Uint8Array): Int16Array {
  const d = decodeWav(wav);
  const samples = d.sampleRate === SAMPLE_RATE ? d.samples : Resampler.convert(d.samples, d.sampleRate, SAMPLE_RATE);
  return float32ToInt16(samples);
}

/** espeak-ng's version line if its CLI is installed (Debian `espeak-ng`), else undefined. */
export function espeakVersion(): string | undefined {
  const r = spawnSync("espeak-ng", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * `text` spoken by espeak-ng (voice en-us+klatt: PocketSphinx recognises espeak's default voice very
 * badly), resampled from 22.05 to 16 kHz.
 */
export function espeak(text: string, voice = "en-us+klatt"): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), "parley-espeak-"));
  try {
    const out = join(dir, "out.wav");
    const r = spawnSync("espeak-ng", ["-v", voice, "-w", out, text], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`espeak-ng failed: ${r.stderr}`);
    return wavPcm(new Uint8Array(readFileSync(out)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
