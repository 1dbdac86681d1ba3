// What the simulated listener actually heard of each reply: per segment, which samples came out of
// the speaker (a rewind on resume plays some twice, a skip would leave a hole), so "words lost"
// counts the reply's words whose audio was never played; plus each reply's progress (for the
// scenario triggers) and when it was last audible (for time-to-silence).
import { SAMPLE_RATE, timeWords, voicedSpan, type TimedWord } from "./speech-timing.ts";

interface TrackedSegment {
  samples: number;
  words: TimedWord[];
  played: Uint8Array;
}

/** A word counts as heard when at least this share of its estimated span was played. */
const HEARD_SHARE = 0.5;

export class PlaybackTracker {
  private readonly replies = new Map<string, Map<number, TrackedSegment>>();
  private readonly lastAudible = new Map<string, number>();

  /** A segment's audio arrived: its words are placed over its voiced span. Returns them. */
  addSegment(replyId: string, index: number, samples: Float32Array, text: string): TimedWord[] {
    const words = timeWords(text, voicedSpan(samples));
    let segs = this.replies.get(replyId);
    if (!segs) this.replies.set(replyId, (segs = new Map()));
    segs.set(index, { samples: samples.length, words, played: new Uint8Array(samples.length) });
    return words;
  }

  segmentSamples(replyId: string, index: number): number {
    return this.replies.get(replyId)?.get(index)?.samples ?? 0;
  }

  /** Segment samples [from, to) were played; the last of them at session sample `clockEnd` - 1. */
  markPlayed(replyId: string, index: number, from: number, to: number, clockEnd: number): void {
    const seg = this.replies.get(replyId)?.get(index);
    if (!seg) return;
    seg.played.fill(1, Math.max(0, from), Math.min(seg.samples, to));
    if (to > from) this.lastAudible.set(replyId, Math.max(this.lastAudible.get(replyId) ?? 0, clockEnd));
  }

  /** Session sample just after the reply's last audible sample (undefined if never audible). */
  lastAudibleClock(replyId: string): number | undefined {
    return this.lastAudible.get(replyId);
  }

  /** Milliseconds of the reply played so far: earlier segments in full, plus the position in the current one. */
  progressMs(replyId: string, segment: number, playedMs: number): number {
    let samples = 0;
    for (const [index, seg] of this.replies.get(replyId) ?? []) if (index < segment) samples += seg.samples;
    return (samples * 1000) / SAMPLE_RATE + playedMs;
  }

  /**
   * Words of the reply never heard: words of received segments with less than half their span
   * played, plus the planned words that never arrived in a segment at all.
   */
  wordsLost(replyId: string, plannedWords: number): { lost: number; words: string[] } {
    const words: string[] = [];
    let received = 0;
    for (const seg of this.replies.get(replyId)?.values() ?? []) {
      for (const w of seg.words) {
        received++;
        let played = 0;
        for (let i = w.from; i < w.to; i++) played += seg.played[i]!;
        if (played < HEARD_SHARE * (w.to - w.from)) words.push(w.word);
      }
    }
    return { lost: words.length + Math.max(0, plannedWords - received), words };
  }
}
