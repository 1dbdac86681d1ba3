// The sounds a simulated user makes, ready to mix into the microphone: flite speech (cached per
// phrase and voice, normalized to a speaking level, trimmed to its voiced span so the clip's first
// sample is the speech onset) and the synthesized non-speech sounds. Each clip carries its words
// with their estimated positions, for the STT oracle.
import { parseWav } from "../../shared/audio/wav.ts";
import type { Flite } from "../../local-ai/engines/flite.ts";
import type { Phrase, SourceKind, UserVoice } from "./scenarios.ts";
import { click, cough, noiseBurst } from "./sounds.ts";
import { msToSamples, timeWords, voicedSpan, type TimedWord } from "./speech-timing.ts";

/** The user's speaking level at the microphone (active speech, RMS over voiced 10 ms windows). */
export const USER_SPEECH_DBFS = -20;
/** Backchannels are said a little more softly. */
export const BACKCHANNEL_DBFS = -23;

export interface Clip {
  source: SourceKind | "question";
  /** What was said ("" for non-speech). */
  text: string;
  /** Full-scale floats at 16 kHz. */
  samples: Float32Array;
  /** Sample where the sound begins (the onset); the clip is trimmed so this is within 10 ms of its start. */
  onset: number;
  /** Words with their estimated spans, relative to the clip. */
  words: TimedWord[];
  /** The speaker has not finished (the first part of a sentence, before a pause): an end-of-turn judge should wait. */
  unfinished?: boolean;
}

const LEAD_MS = 10;
const TAIL_MS = 50;

/** RMS over the 10 ms windows louder than -50 dBFS (the voiced ones). */
function activeRms(x: Float32Array): number {
  const w = 160;
  let sum = 0;
  let n = 0;
  for (let start = 0; start + w <= x.length; start += w) {
    let s = 0;
    for (let i = start; i < start + w; i++) s += x[i]! * x[i]!;
    if (s / w > 1e-5) {
      sum += s;
      n += w;
    }
  }
  return n ? Math.sqrt(sum / n) : 0;
}

export class ClipLibrary {
  private readonly flite: Flite;
  private readonly speechCache = new Map<string, Promise<Clip>>();

  constructor(flite: Flite) {
    this.flite = flite;
  }

  speech(source: Clip["source"], phrase: Phrase, voice: UserVoice): Promise<Clip> {
    const level = source === "backchannel" ? BACKCHANNEL_DBFS : USER_SPEECH_DBFS;
    const key = `${voice}|${level}|${phrase.say ?? phrase.text}|${phrase.text}`;
    let clip = this.speechCache.get(key);
    if (!clip) {
      clip = this.synthesize(source, phrase, voice, level);
      this.speechCache.set(key, clip);
    }
    return clip;
  }

  private async synthesize(source: Clip["source"], phrase: Phrase, voice: UserVoice, levelDbfs: number): Promise<Clip> {
    const wav = parseWav(await this.flite.synthesize(phrase.say ?? phrase.text, voice));
    if (wav.sampleRate !== 16_000 || wav.channels !== 1)
      throw new Error(`flite ${voice}: expected 16 kHz mono, got ${wav.sampleRate} Hz x ${wav.channels}`);
    const raw = Float32Array.from(wav.pcm, (v) => v / 32768);
    const gain = 10 ** (levelDbfs / 20) / activeRms(raw);
    const span = voicedSpan(raw);
    const from = Math.max(0, span.from - msToSamples(LEAD_MS));
    const to = Math.min(raw.length, span.to + msToSamples(TAIL_MS));
    const samples = raw.slice(from, to).map((v) => v * gain);
    const voiced = { from: span.from - from, to: span.to - from };
    return { source, text: phrase.text, samples, onset: voiced.from, words: timeWords(phrase.text, voiced) };
  }

  /** A synthesized non-speech sound: it holds no words. */
  sound(source: "cough" | "click" | "noise-burst", seed: number): Clip {
    const samples = source === "cough" ? cough(seed) : source === "click" ? click(seed) : noiseBurst(seed);
    return { source, text: "", samples, onset: voicedSpan(samples).from, words: [] };
  }
}
