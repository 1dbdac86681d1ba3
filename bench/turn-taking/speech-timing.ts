// Where speech is in a clip, and where each of its words is, without a forced aligner: the voiced
// span is found from 10 ms energies, and words are placed in it assuming a uniform number of
// characters per second. Used by the STT oracle (which words a slice of audio holds) and by the
// words-lost count (which words of the reply were never played). Pure.

export const SAMPLE_RATE = 16_000;
const WINDOW_SAMPLES = SAMPLE_RATE / 100;

export interface SampleSpan {
  /** First sample (inclusive). */
  from: number;
  /** Last sample (exclusive). */
  to: number;
}

export interface TimedWord extends SampleSpan {
  word: string;
}

/**
 * The span from the first to the last 10 ms window louder than both `floorDbfs` and `belowPeakDb` under
 * the loudest window (samples in full-scale units, -1..1): a breath or a lead-in hiss before the speech
 * does not count. Empty (from = to = 0) when nothing is that loud.
 */
export function voicedSpan(samples: ArrayLike<number>, floorDbfs = -50, belowPeakDb = 25): SampleSpan {
  const energies: number[] = [];
  for (let start = 0; start < samples.length; start += WINDOW_SAMPLES) {
    const end = Math.min(samples.length, start + WINDOW_SAMPLES);
    let sum = 0;
    for (let i = start; i < end; i++) sum += samples[i]! * samples[i]!;
    energies.push(sum / (end - start));
  }
  const threshold = Math.max(10 ** (floorDbfs / 10), Math.max(0, ...energies) * 10 ** (-belowPeakDb / 10)); // mean squares
  const first = energies.findIndex((e) => e > threshold);
  if (first < 0) return { from: 0, to: 0 };
  const last = energies.findLastIndex((e) => e > threshold);
  return { from: first * WINDOW_SAMPLES, to: Math.min(samples.length, (last + 1) * WINDOW_SAMPLES) };
}

/** The words of `text` laid over `span`, each in proportion to its characters (spaces count as one). */
export function timeWords(text: string, span: SampleSpan): TimedWord[] {
  const words = text.split(/\s+/).filter(Boolean);
  const totalChars = words.reduce((n, w) => n + w.length, 0) + Math.max(0, words.length - 1);
  if (totalChars === 0) return [];
  const perChar = (span.to - span.from) / totalChars;
  const out: TimedWord[] = [];
  let at = 0;
  for (const word of words) {
    out.push({ word, from: Math.round(span.from + at * perChar), to: Math.round(span.from + (at + word.length) * perChar) });
    at += word.length + 1;
  }
  return out;
}

export function midpoint(s: SampleSpan): number {
  return (s.from + s.to) / 2;
}

export const msToSamples = (ms: number): number => Math.round((ms * SAMPLE_RATE) / 1000);
export const samplesToMs = (samples: number): number => (samples * 1000) / SAMPLE_RATE;
