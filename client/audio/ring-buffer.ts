// Playback jitter buffer: a growable float ring holding decoded reply audio, tagged per segment.
// The playback worklet calls read() once per render quantum; segments play back to back with no
// gap, a start-up prebuffer absorbs jitter when audio arrives in pieces, an underrun is counted
// only when audio of the same reply resumes after the buffer ran dry (a real gap mid-reply),
// stop() fades out over a few milliseconds (no click) and drops everything queued, and pause()
// fades out and holds the position (audio keeps queueing) until resume() fades back in, a little
// before where it paused so the word that was cut is heard whole.
// Pure: no DOM, no Web Audio, so it is unit-tested in Node.
import { BoundedSet } from "../../shared/bounded-map.ts";
import { withDefaults } from "../../shared/options.ts";

/** Reply ids each per-reply set below remembers; the oldest are forgotten. */
const REPLIES_REMEMBERED = 64;

export interface PlaybackPosition {
  replyId: string;
  segment: number;
  /** Milliseconds of this segment played so far. */
  playedMs: number;
}

export type PlaybackEvent =
  /** First sample of a segment played, `offset` samples into this read() block. */
  | { type: "segment-start"; replyId: string; segment: number; offset: number; firstOfReply: boolean }
  | { type: "segment-end"; replyId: string; segment: number; playedMs: number; offset: number }
  /** The buffer ran dry before the reply was marked ended (may turn out to be the natural end). */
  | { type: "starved"; replyId: string; offset: number }
  /** Audio of the same reply resumed after running dry: a gap the listener heard. */
  | { type: "underrun"; replyId: string; gapMs: number }
  /** The reply played to its end. */
  | ({ type: "finished"; offset: number } & PlaybackPosition)
  /** stop() completed: where playback was cut. */
  | ({ type: "stopped"; offset: number } & PlaybackPosition)
  /** pause() completed (faded out): where playback is held. */
  | ({ type: "paused"; offset: number } & PlaybackPosition)
  /** resume() started playing again from here (after the rewind). */
  | ({ type: "resumed"; offset: number } & PlaybackPosition);

export interface RingBufferOptions {
  /** Initial capacity (samples; rounded up to a power of two; grows as needed), default null: 10 s at the sample rate. */
  initialCapacity: number | null;
  /** Audio to collect before starting a reply when it arrives in pieces (ms), default 60. */
  prebufferMs: number;
  /** Fade-out on stop and pause, fade-in on resume (ms), default 8. */
  fadeMs: number;
  /** Most audio that resume() may replay from before the pause point (ms), default 500. */
  maxRewindMs: number;
}

export const DEFAULT_RING_BUFFER: Readonly<RingBufferOptions> = Object.freeze({
  initialCapacity: null,
  prebufferMs: 60,
  fadeMs: 8,
  maxRewindMs: 500,
});

interface QueuedSegment {
  replyId: string;
  segment: number;
  /** Absolute sample indices [start, end) in the stream written so far. */
  start: number;
  end: number;
  /** All of the segment's audio has been pushed. */
  complete: boolean;
  started: boolean;
}

type Mode = "idle" | "playing" | "starved";

export interface PlaybackStats {
  /** Samples output from the buffer (not silence). */
  playedSamples: number;
  underruns: number;
  /** Total silence inserted by underruns, in samples. */
  gapSamples: number;
  segmentsPlayed: number;
  repliesFinished: number;
  repliesStopped: number;
}

export class PlaybackRingBuffer {
  readonly sampleRate: number;
  private ring: Float32Array;
  private readIdx = 0;
  private writeIdx = 0;
  private queue: QueuedSegment[] = [];
  private readonly ended = new BoundedSet<string>(REPLIES_REMEMBERED);
  private readonly startedReplies = new BoundedSet<string>(REPLIES_REMEMBERED);
  /** Replies cut by stop(): late audio for them is discarded. */
  private readonly dropped = new BoundedSet<string>(REPLIES_REMEMBERED);
  private mode: Mode = "idle";
  private starvedReply: string | null = null;
  private starvedSamples = 0;
  private last: PlaybackPosition | null = null;
  private readonly prebuffer: number;
  private readonly fadeLength: number;
  /** Samples kept behind the read position so resume() can replay a little. */
  private readonly keepBehind: number;
  private stopping = false;
  private pausing = false;
  /** Paused: output silence, hold the position, keep queueing. */
  private holding = false;
  private resumeRewind: number | null = null;
  /** Output gain (0..1) and the fade in progress: samples left and direction. */
  private gain = 1;
  private fadeLeft = 0;
  private fadeDir: -1 | 0 | 1 = 0;
  readonly stats: PlaybackStats = {
    playedSamples: 0,
    underruns: 0,
    gapSamples: 0,
    segmentsPlayed: 0,
    repliesFinished: 0,
    repliesStopped: 0,
  };

  constructor(sampleRate: number, options: Partial<RingBufferOptions> = {}) {
    const o = withDefaults(DEFAULT_RING_BUFFER, options);
    this.sampleRate = sampleRate;
    let cap = 1024;
    while (cap < (o.initialCapacity ?? sampleRate * 10)) cap *= 2;
    this.ring = new Float32Array(cap);
    this.prebuffer = Math.round((o.prebufferMs * sampleRate) / 1000);
    this.fadeLength = Math.max(1, Math.round((o.fadeMs * sampleRate) / 1000));
    this.keepBehind = Math.round((o.maxRewindMs * sampleRate) / 1000);
  }

  /** Paused (or fading out to a pause). */
  get paused(): boolean {
    return this.holding || this.pausing;
  }

  /** Samples queued and not yet played. */
  get bufferedSamples(): number {
    return this.writeIdx - this.readIdx;
  }

  get bufferedMs(): number {
    return (this.bufferedSamples * 1000) / this.sampleRate;
  }

  get capacity(): number {
    return this.ring.length;
  }

  /** Is a reply audible right now (or about to be, or waiting on more audio)? */
  get active(): boolean {
    return this.mode !== "idle" || this.queue.length > 0;
  }

  /** Where playback is: the segment playing now, or the last one played. */
  get position(): PlaybackPosition | null {
    const seg = this.queue[0];
    if (seg && seg.started) return { replyId: seg.replyId, segment: seg.segment, playedMs: this.ms(this.readIdx - seg.start) };
    return this.last ? { ...this.last } : null;
  }

  /**
   * Queue audio for a reply segment. A segment may arrive in several pieces (complete=false on all
   * but the last); pieces of the segment at the tail of the queue are appended to it.
   */
  push(replyId: string, segment: number, samples: Float32Array, complete = true): void {
    if (this.dropped.has(replyId)) return;
    const tail = this.queue[this.queue.length - 1];
    const continues = !!tail && tail.replyId === replyId && tail.segment === segment && !tail.complete;
    if (samples.length === 0) {
      if (continues && complete) tail.complete = true;
      return;
    }
    const n = samples.length;
    this.ensureSpace(n);
    const cap = this.ring.length;
    let w = this.writeIdx % cap;
    const first = Math.min(n, cap - w);
    this.ring.set(first === n ? samples : samples.subarray(0, first), w);
    if (first < n) this.ring.set(samples.subarray(first), 0);
    w = this.writeIdx;
    this.writeIdx += n;
    if (continues) {
      tail.end = this.writeIdx;
      tail.complete = complete;
    } else {
      this.queue.push({ replyId, segment, start: w, end: this.writeIdx, complete, started: false });
    }
  }

  /** No more audio will come for this reply: when the buffer drains, it has finished. */
  endReply(replyId: string): void {
    this.ended.add(replyId);
  }

  /**
   * Fade out and drop everything queued. The `stopped` event comes from the read() that completes the
   * fade (a few ms). Returns false when nothing was playing or queued.
   */
  stop(): boolean {
    this.pausing = false;
    this.resumeRewind = null;
    if (!this.active) {
      this.holding = false;
      return false;
    }
    if (!this.stopping) {
      this.stopping = true;
      this.fadeOut();
    }
    return true;
  }

  /**
   * Fade out and hold the position; audio keeps queueing. A `paused` event comes from the read()
   * that completes the fade (at once when nothing is audible). Also holds a reply that has not
   * started yet. Returns false when already paused or stopping.
   */
  pause(): boolean {
    if (this.stopping || this.holding || this.pausing) return false;
    this.resumeRewind = null;
    if (this.mode === "playing") {
      this.pausing = true;
      this.fadeOut();
    } else {
      this.holding = true;
      this.pendingPausedEvent = true;
    }
    return true;
  }

  /**
   * Play on after pause(), `rewindMs` before the pause point (within the segment playing, at most
   * maxRewindMs), fading in. Returns false when not paused.
   */
  resume(rewindMs = 0): boolean {
    if (this.pausing) {
      // Changed its mind mid-fade: fade straight back in from the current gain, no rewind.
      this.pausing = false;
      this.fadeIn();
      return true;
    }
    if (!this.holding) return false;
    this.resumeRewind = Math.max(0, Math.round((rewindMs * this.sampleRate) / 1000));
    return true;
  }

  /** Fill `out` with the next samples (silence when there is nothing to play). */
  read(out: Float32Array): PlaybackEvent[] {
    const events: PlaybackEvent[] = [];
    const L = out.length;
    let i = 0;
    while (i < L) {
      if (this.stopping && (this.gain <= 0 || this.mode !== "playing" || this.holding)) {
        this.completeStop(events, i);
        continue;
      }
      if (this.pausing && (this.gain <= 0 || this.mode !== "playing")) {
        this.pausing = false;
        this.holding = true;
        this.pendingPausedEvent = true;
      }
      if (this.holding) {
        if (this.pendingPausedEvent) {
          this.pendingPausedEvent = false;
          const at = this.heldPosition();
          if (at) events.push({ type: "paused", offset: i, ...at });
        }
        if (this.resumeRewind === null) {
          out.fill(0, i);
          break;
        }
        this.startResume(events, i);
        continue;
      }
      if (this.mode !== "playing" && !this.tryStart(events, i)) {
        out.fill(0, i);
        if (this.mode === "starved") this.starvedSamples += L - i;
        break;
      }
      const seg = this.queue[0]!;
      if (!seg.started) {
        seg.started = true;
        const firstOfReply = !this.startedReplies.has(seg.replyId);
        this.startedReplies.add(seg.replyId);
        events.push({ type: "segment-start", replyId: seg.replyId, segment: seg.segment, offset: i, firstOfReply });
      }
      let take = Math.min(seg.end - this.readIdx, L - i);
      // A fade-out ends exactly where the gain reaches zero.
      if (this.fadeDir < 0) take = Math.min(take, this.fadeLeft);
      if (take > 0) {
        this.copyOut(out, i, take);
        i += take;
        this.readIdx += take;
        this.stats.playedSamples += take;
      }
      if (this.readIdx >= seg.end) {
        if (!seg.complete && this.queue.length === 1) {
          // The rest of this segment has not arrived yet.
          this.starve(seg, events, i);
          continue;
        }
        this.queue.shift();
        this.stats.segmentsPlayed++;
        this.last = { replyId: seg.replyId, segment: seg.segment, playedMs: this.ms(seg.end - seg.start) };
        events.push({ type: "segment-end", replyId: seg.replyId, segment: seg.segment, playedMs: this.last.playedMs, offset: i });
        const next = this.queue[0];
        if (!next) {
          if (this.ended.has(seg.replyId)) this.finish(events, i);
          else this.starve(seg, events, i);
        } else if (next.replyId !== seg.replyId && this.ended.has(seg.replyId)) {
          this.stats.repliesFinished++;
          events.push({ type: "finished", offset: i, ...this.last });
        }
      }
    }
    return events;
  }

  private pendingPausedEvent = false;

  /** Where a pause holds: the segment playing, or the head of the queue when nothing started yet. */
  private heldPosition(): PlaybackPosition | null {
    const seg = this.queue[0];
    if (seg && !seg.started) return { replyId: seg.replyId, segment: seg.segment, playedMs: 0 };
    return this.position;
  }

  private startResume(events: PlaybackEvent[], offset: number): void {
    const seg = this.queue[0];
    const rewind = this.resumeRewind ?? 0;
    this.resumeRewind = null;
    this.holding = false;
    if (seg && seg.started && this.mode === "playing") {
      const back = Math.min(rewind, this.readIdx - seg.start, this.keepBehind);
      this.readIdx -= back;
    }
    this.gain = 0;
    this.fadeIn();
    const at = this.heldPosition();
    if (at) events.push({ type: "resumed", offset, ...at });
  }

  private fadeOut(): void {
    this.fadeDir = -1;
    this.fadeLeft = Math.max(1, Math.round(this.gain * this.fadeLength));
  }

  private fadeIn(): void {
    this.fadeDir = 1;
    this.fadeLeft = Math.max(1, Math.round((1 - this.gain) * this.fadeLength));
  }

  private tryStart(events: PlaybackEvent[], offset: number): boolean {
    const head = this.queue[0];
    if (this.mode === "starved" && this.starvedReply !== null) {
      const resumesSameReply = head !== undefined && head.replyId === this.starvedReply;
      if (!resumesSameReply && this.ended.has(this.starvedReply)) {
        this.finish(events, offset);
      } else if (!resumesSameReply && head !== undefined) {
        // A different reply arrived: the starved one was abandoned upstream (not a gap we caused).
        this.mode = "idle";
        this.starvedReply = null;
      }
    }
    if (!head) return false;
    const available = this.writeIdx - this.readIdx;
    const ready = available >= this.prebuffer || head.complete || this.ended.has(head.replyId);
    if (!ready || available <= 0) return false;
    if (this.mode === "starved" && this.starvedReply === head.replyId) {
      this.stats.underruns++;
      this.stats.gapSamples += this.starvedSamples;
      events.push({ type: "underrun", replyId: head.replyId, gapMs: this.ms(this.starvedSamples) });
    }
    this.mode = "playing";
    this.starvedReply = null;
    this.starvedSamples = 0;
    return true;
  }

  private starve(seg: QueuedSegment, events: PlaybackEvent[], offset: number): void {
    this.mode = "starved";
    this.starvedReply = seg.replyId;
    this.starvedSamples = 0;
    events.push({ type: "starved", replyId: seg.replyId, offset });
  }

  private finish(events: PlaybackEvent[], offset: number): void {
    this.mode = "idle";
    this.starvedReply = null;
    this.starvedSamples = 0;
    this.stats.repliesFinished++;
    if (this.last) events.push({ type: "finished", offset, ...this.last });
  }

  private completeStop(events: PlaybackEvent[], offset: number): void {
    const pos = this.heldPosition();
    this.stopping = false;
    this.pausing = false;
    this.holding = false;
    this.pendingPausedEvent = false;
    this.resumeRewind = null;
    this.gain = 1;
    this.fadeLeft = 0;
    this.fadeDir = 0;
    this.readIdx = this.writeIdx;
    this.mode = "idle";
    this.starvedReply = null;
    this.starvedSamples = 0;
    this.stats.repliesStopped++;
    for (const seg of this.queue) this.dropped.add(seg.replyId);
    if (pos) this.dropped.add(pos.replyId);
    this.queue = [];
    if (pos) {
      events.push({ type: "stopped", offset, ...pos });
    }
    this.last = null;
  }

  private copyOut(out: Float32Array, at: number, n: number): void {
    const cap = this.ring.length;
    const r = this.readIdx % cap;
    const first = Math.min(n, cap - r);
    out.set(this.ring.subarray(r, r + first), at);
    if (first < n) out.set(this.ring.subarray(0, n - first), at + first);
    if (this.fadeDir !== 0) {
      // Linear ramp of the gain toward 0 (fade-out) or 1 (fade-in), one step per sample.
      const step = this.fadeDir / this.fadeLength;
      const ramped = Math.min(n, this.fadeLeft);
      for (let k = 0; k < ramped; k++) {
        this.gain = Math.min(1, Math.max(0, this.gain + step));
        out[at + k]! *= this.gain;
      }
      this.fadeLeft -= ramped;
      if (this.fadeLeft <= 0) {
        this.gain = this.fadeDir < 0 ? 0 : 1;
        this.fadeDir = 0;
      }
      if (this.gain !== 1) for (let k = ramped; k < n; k++) out[at + k]! *= this.gain;
    }
  }

  private ensureSpace(n: number): void {
    // The last keepBehind samples already played stay intact for a rewind on resume.
    const from = Math.max(0, this.readIdx - this.keepBehind);
    const need = this.writeIdx - from + n;
    if (need <= this.ring.length) return;
    let cap = this.ring.length;
    while (cap < need) cap *= 2;
    const grown = new Float32Array(cap);
    const old = this.ring;
    const oldCap = old.length;
    for (let idx = from; idx < this.writeIdx; idx++) grown[idx % cap] = old[idx % oldCap]!;
    this.ring = grown;
  }

  private ms(samples: number): number {
    return (samples * 1000) / this.sampleRate;
  }
}
