// Everything that reached one session's microphone, on the session's sample clock (sample 0 = the
// first sample the client sent): the exact PCM sent, which user sounds were mixed in where (with
// their words), and which reply audio was played when (its echo is in the microphone too, later by
// the echo delay). The STT oracle reads it to say what an utterance the server sends holds.
import type { Clip } from "./clips.ts";
import { midpoint, type SampleSpan, type TimedWord } from "./speech-timing.ts";

export const FRAME_SAMPLES = 320;
/** Samples hashed to find a piece of audio in the recording. */
const KEY_SAMPLES = 32;

export interface PlacedWord {
  word: string;
  /** Session sample of the word's middle. */
  at: number;
}

/** A user word with where it ends too (what a streaming recognizer needs to know when it can be heard). */
export interface SpokenWord extends PlacedWord {
  /** Session sample just after the word. */
  end: number;
}

/** Reply audio played back to back: segment samples [segFrom, segTo) at session samples [clock, clock + segTo - segFrom). */
interface PlayedRun {
  clock: number;
  replyId: string;
  segment: number;
  segFrom: number;
  segTo: number;
}

/** FNV-1a over `n` PCM16 samples. */
function hashSamples(x: ArrayLike<number>, at: number, n: number): number {
  let h = 0x811c9dc5;
  for (let i = at; i < at + n; i++) {
    const v = x[i]! & 0xffff;
    h = Math.imul(h ^ (v & 0xff), 0x01000193);
    h = Math.imul(h ^ (v >>> 8), 0x01000193);
  }
  return h >>> 0;
}

export class SessionTape {
  readonly sessionId: string;
  readonly echoDb: number;
  readonly echoDelaySamples: number;
  private readonly frames: Int16Array[] = [];
  /** Hash of each frame's first KEY_SAMPLES samples -> frame numbers. */
  private readonly frameIndex = new Map<number, number[]>();
  private readonly userWords: SpokenWord[] = [];
  private readonly clips: { clip: Clip; at: number }[] = [];
  private readonly runs: PlayedRun[] = [];
  private readonly segmentWords = new Map<string, TimedWord[]>();

  constructor(sessionId: string, echo: { levelDb: number; delaySamples: number }) {
    this.sessionId = sessionId;
    this.echoDb = echo.levelDb;
    this.echoDelaySamples = echo.delaySamples;
  }

  get samples(): number {
    return this.frames.length * FRAME_SAMPLES;
  }

  /** A 20 ms frame as it was sent (copied). */
  recordFrame(frame: Int16Array): void {
    if (frame.length !== FRAME_SAMPLES) throw new Error(`frames are ${FRAME_SAMPLES} samples`);
    const f = this.frames.length;
    this.frames.push(frame.slice());
    const h = hashSamples(frame, 0, KEY_SAMPLES);
    const list = this.frameIndex.get(h);
    if (list) list.push(f);
    else this.frameIndex.set(h, [f]);
  }

  /** A user sound starts at session sample `at`. */
  placeClip(clip: Clip, at: number): void {
    for (const w of clip.words) this.userWords.push({ word: w.word, at: at + midpoint(w), end: at + w.to });
    this.clips.push({ clip, at });
  }

  /** Every user word placed so far, in time order. */
  spokenWords(): SpokenWord[] {
    return [...this.userWords].sort((a, b) => a.at - b.at);
  }

  /**
   * What an ideal end-of-turn classifier (smart-turn) says about `utterance`: located by exact samples,
   * it ends in the user's last clip so far; finished when that clip is a finished sentence and its last
   * word is heard (the word's middle is in the audio). Unlocatable audio or no speech at all: finished.
   */
  judgeEnd(utterance: Int16Array): { complete: boolean; located: boolean; clipText: string | null } {
    const { pieces } = this.locate(utterance);
    const last = pieces[pieces.length - 1];
    if (!last) return { complete: true, located: false, clipText: null };
    const end = last.to;
    let c: { clip: Clip; at: number } | undefined;
    for (const x of this.clips) if (x.at + x.clip.onset < end && (!c || x.at > c.at)) c = x;
    if (!c) return { complete: true, located: true, clipText: null };
    const lastWord = c.clip.words[c.clip.words.length - 1];
    const heardAll = lastWord === undefined || c.at + midpoint(lastWord) < end;
    return { complete: heardAll && c.clip.unfinished !== true, located: true, clipText: c.clip.text };
  }

  /** The words of a reply segment with their positions in its audio. */
  describeSegment(replyId: string, segment: number, words: TimedWord[]): void {
    this.segmentWords.set(`${replyId}#${segment}`, words);
  }

  /** Segment samples [segFrom, segTo) were played starting at session sample `clock`. */
  notePlayed(clock: number, replyId: string, segment: number, segFrom: number, segTo: number): void {
    if (segTo <= segFrom) return;
    const last = this.runs[this.runs.length - 1];
    if (
      last &&
      last.replyId === replyId &&
      last.segment === segment &&
      last.segTo === segFrom &&
      last.clock + (last.segTo - last.segFrom) === clock
    ) {
      last.segTo = segTo;
      return;
    }
    this.runs.push({ clock, replyId, segment, segFrom, segTo });
  }

  private sample(i: number): number {
    return this.frames[Math.floor(i / FRAME_SAMPLES)]![i % FRAME_SAMPLES]!;
  }

  /** How many samples from utterance[u] equal the recording from `rec` on. */
  private matchLength(utterance: Int16Array, u: number, rec: number): number {
    const max = Math.min(utterance.length - u, this.samples - rec);
    let n = 0;
    while (n < max && utterance[u + n] === this.sample(rec + n)) n++;
    return n;
  }

  /**
   * Where the pieces of `utterance` are in the recording (session samples), by exact sample match.
   * Several pieces when the server joined separate stretches; samples found nowhere are counted.
   */
  locate(utterance: Int16Array): { pieces: SampleSpan[]; unmatchedSamples: number } {
    const pieces: SampleSpan[] = [];
    let matched = 0;
    let previousEnd = 0;
    let u = 0;
    while (u + KEY_SAMPLES <= utterance.length) {
      let found: { at: number; rec: number; length: number } | undefined;
      // A frame start of the recording at any of the next FRAME_SAMPLES positions, then extended both ways.
      for (let q = u; q < Math.min(u + FRAME_SAMPLES, utterance.length - KEY_SAMPLES + 1) && !found; q++) {
        for (const f of this.frameIndex.get(hashSamples(utterance, q, KEY_SAMPLES)) ?? []) {
          const rec = f * FRAME_SAMPLES;
          const forward = this.matchLength(utterance, q, rec);
          if (forward < KEY_SAMPLES) continue;
          let back = 0;
          while (q - back > previousEnd && rec - back > 0 && utterance[q - back - 1] === this.sample(rec - back - 1)) back++;
          found = { at: q - back, rec: rec - back, length: back + forward };
          break;
        }
      }
      if (!found) {
        u += FRAME_SAMPLES;
        continue;
      }
      pieces.push({ from: found.rec, to: found.rec + found.length });
      matched += found.length;
      u = previousEnd = found.at + found.length;
    }
    return { pieces, unmatchedSamples: utterance.length - matched };
  }

  /** User words whose middle lies in `span`. */
  userWordsIn(span: SampleSpan): PlacedWord[] {
    return this.userWords.filter((w) => w.at >= span.from && w.at < span.to);
  }

  /** Reply words whose echo's middle reached the microphone in `span`. */
  echoWordsIn(span: SampleSpan): PlacedWord[] {
    const out: PlacedWord[] = [];
    for (const run of this.runs) {
      const words = this.segmentWords.get(`${run.replyId}#${run.segment}`) ?? [];
      for (const w of words) {
        const mid = midpoint(w);
        if (mid < run.segFrom || mid >= run.segTo) continue;
        const at = run.clock + (mid - run.segFrom) + this.echoDelaySamples;
        if (at >= span.from && at < span.to) out.push({ word: w.word, at });
      }
    }
    return out;
  }
}
