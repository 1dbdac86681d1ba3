// The assistant's voice: one AudioWorkletNode holding the jitter buffer for the whole session.
// Decoded segments are pushed in order; stop() resolves with where playback was cut, pause() with
// where it is held (resume() plays on from a little before).
import type { SegmentEvent } from "../../shared/protocol.ts";
import { decodeSegment } from "./decoder.ts";
import { Resampler } from "../../shared/audio/resampler.ts";
import { BoundedSet } from "../../shared/bounded-map.ts";
import type { PlaybackEvent, PlaybackPosition, PlaybackStats } from "./ring-buffer.ts";
import workletUrl from "./playback-worklet.ts?worker&url";
import { PLAYBACK_PROCESSOR, type MainToPlayback, type PlaybackToMain } from "./worklet-messages.ts";

export interface PlaybackHandlers {
  /** A ring-buffer event, with the AudioContext time at which it is heard. */
  event(event: PlaybackEvent, heardAt: number): void;
  progress(position: PlaybackPosition | null, stats: PlaybackStats, active: boolean): void;
  decodeError(header: SegmentEvent, error: unknown): void;
}

/** Where a pause holds playback, and the AudioContext time (s) at which it went silent. */
export interface PausedPlayback {
  position: PlaybackPosition;
  heardAt: number;
}

/** A stop or pause not acknowledged by the worklet by then resolves anyway (nothing was playing). */
const ACK_TIMEOUT_MS = 150;
/** Dropped reply ids remembered (late audio for them is discarded); the oldest are forgotten. */
const DROPPED_REPLIES_KEPT = 64;

export class Playback {
  private node: AudioWorkletNode | null = null;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly dropped = new BoundedSet<string>(DROPPED_REPLIES_KEPT);
  /** Replies with audio in the worklet (pushed, not yet finished or stopped). */
  private readonly inRing = new Set<string>();
  private stopWaiters: Array<(pos: PlaybackPosition | null) => void> = [];
  private pauseWaiters: Array<(paused: PausedPlayback | null) => void> = [];
  private activeValue = false;
  private pausedValue = false;
  /** The reply whose segment is playing (started and not finished or stopped). */
  private playingReply: string | null = null;
  stats: PlaybackStats = { playedSamples: 0, underruns: 0, gapSamples: 0, segmentsPlayed: 0, repliesFinished: 0, repliesStopped: 0 };
  position: PlaybackPosition | null = null;

  constructor(
    private readonly ctx: AudioContext,
    private readonly handlers: PlaybackHandlers,
  ) {}

  async init(): Promise<void> {
    if (this.node) return;
    await this.ctx.audioWorklet.addModule(workletUrl);
    const node = new AudioWorkletNode(this.ctx, PLAYBACK_PROCESSOR, {
      numberOfInputs: 0,
      numberOfOutputs: 1,
      outputChannelCount: [1],
    });
    node.port.onmessage = (e: MessageEvent<PlaybackToMain>) => this.onMessage(e.data);
    node.connect(this.ctx.destination);
    this.node = node;
    // Build the resampling kernels for the usual TTS rates and warm the JIT now, so the first
    // reply's first sentence is not decoded by cold code (that cost ~40 ms of time to first audio).
    for (const rate of [16_000, 22_050, 24_000, 44_100, 48_000]) {
      if (rate !== this.ctx.sampleRate) Resampler.convert(new Float32Array(4096), rate, this.ctx.sampleRate);
    }
  }

  /** Is reply audio playing or queued? */
  get active(): boolean {
    return this.activeValue;
  }

  /** Held by pause() until resume() or stop(). */
  get paused(): boolean {
    return this.pausedValue;
  }

  /** The reply being heard right now: playing, not paused. */
  get audibleReplyId(): string | null {
    return this.pausedValue ? null : this.playingReply;
  }

  /** Does the worklet hold audio of this reply (playing, paused or queued)? */
  holds(replyId: string): boolean {
    return this.inRing.has(replyId) || this.chains.has(replyId);
  }

  get sampleRate(): number {
    return this.ctx.sampleRate;
  }

  /**
   * Decode and queue a segment. Segments of one reply are queued strictly in arrival order; each
   * is pushed in pieces as it is decoded, so playback starts before the whole sentence is decoded.
   */
  enqueue(header: SegmentEvent, bytes: ArrayBuffer): void {
    const replyId = header.replyId;
    if (this.dropped.has(replyId)) return;
    const prev = this.chains.get(replyId) ?? Promise.resolve();
    const next = prev.then(async () => {
      if (this.dropped.has(replyId)) return;
      try {
        await decodeSegment(this.ctx, header, bytes, (samples, last) => {
          if (this.dropped.has(replyId)) return;
          if (samples.length === 0 && !last) return;
          this.activeValue = true;
          this.inRing.add(replyId);
          this.post({ type: "push", replyId, segment: header.index, samples, complete: last }, [samples.buffer as ArrayBuffer]);
        });
      } catch (err) {
        this.handlers.decodeError(header, err);
      }
    });
    this.chains.set(replyId, next);
  }

  /** No more segments for this reply (after those already enqueued). */
  endReply(replyId: string): void {
    const chain = this.chains.get(replyId) ?? Promise.resolve();
    chain
      .then(() => {
        this.chains.delete(replyId);
        this.post({ type: "end", replyId });
      })
      .catch((err: unknown) => console.error(`[parley] couldn't end reply ${replyId}`, err));
  }

  /**
   * Stop now (8 ms fade) and drop everything queued, including segments of these replies still
   * being decoded or arriving later. Resolves with where playback was cut (null if nothing played).
   */
  stop(replyIds: Iterable<string> = []): Promise<PlaybackPosition | null> {
    for (const id of replyIds) this.dropped.add(id);
    for (const id of this.chains.keys()) this.dropped.add(id);
    if (this.position) this.dropped.add(this.position.replyId);
    // A stop also ends any hold (in the worklet too, even with nothing queued).
    this.pausedValue = false;
    this.resolvePause(null);
    return this.request(this.stopWaiters, { type: "stop" }, () => (this.activeValue ? this.position : null));
  }

  /**
   * Hold playback (8 ms fade); audio keeps queueing. Resolves with where it is held and when it went
   * silent, or null when there was nothing to hold (a reply that has not started stays held).
   */
  pause(): Promise<PausedPlayback | null> {
    this.pausedValue = true;
    return this.request(this.pauseWaiters, { type: "pause" }, () => null);
  }

  /** Post a command and wait for the worklet's answer (resolved through `waiters`), or `onTimeout` after ACK_TIMEOUT_MS. */
  private request<T>(waiters: ((value: T) => void)[], message: MainToPlayback, onTimeout: () => T): Promise<T> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(onTimeout()), ACK_TIMEOUT_MS);
      const done = (value: T) => {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve(value);
      };
      waiters.push(done);
      this.post(message);
    });
  }

  /** Play on after pause(), `rewindMs` before the pause point, fading in. */
  resume(rewindMs: number): void {
    this.pausedValue = false;
    this.resolvePause(null);
    this.post({ type: "resume", rewindMs });
  }

  /** New conversation: nothing held, forget the per-reply decode chains (dropped replies stay dropped). */
  reset(): void {
    this.chains.clear();
    this.pausedValue = false;
    this.resolvePause(null);
    // A stop with nothing playing also releases a hold.
    this.post({ type: "stop" });
  }

  private post(message: MainToPlayback, transfer: Transferable[] = []): void {
    this.node?.port.postMessage(message, transfer);
  }

  private onMessage(m: PlaybackToMain): void {
    if (m.type === "progress") {
      this.stats = m.stats;
      this.position = m.position;
      this.activeValue = m.active;
      this.handlers.progress(m.position, m.stats, m.active);
      if (!m.active) this.resolveStop(null);
      return;
    }
    const ev = m.event;
    if (ev.type === "segment-start") this.activeValue = true;
    if (ev.type === "segment-start" || ev.type === "segment-end") {
      this.position = { replyId: ev.replyId, segment: ev.segment, playedMs: ev.type === "segment-end" ? ev.playedMs : 0 };
    }
    if (ev.type === "segment-start") this.playingReply = ev.replyId;
    if (ev.type === "finished") {
      this.activeValue = false;
      this.inRing.delete(ev.replyId);
      if (this.playingReply === ev.replyId) this.playingReply = null;
    }
    const latency = (this.ctx as AudioContext & { outputLatency?: number }).outputLatency ?? 0;
    const heardAt = m.time + (Number.isFinite(latency) ? latency : 0);
    if (ev.type === "stopped") {
      this.activeValue = false;
      this.pausedValue = false;
      this.playingReply = null;
      this.inRing.clear();
      this.resolvePause(null);
      this.resolveStop({ replyId: ev.replyId, segment: ev.segment, playedMs: ev.playedMs });
    }
    if (ev.type === "paused") this.resolvePause({ position: { replyId: ev.replyId, segment: ev.segment, playedMs: ev.playedMs }, heardAt });
    this.handlers.event(ev, heardAt);
  }

  private resolvePause(paused: PausedPlayback | null): void {
    const waiters = this.pauseWaiters;
    this.pauseWaiters = [];
    for (const w of waiters) w(paused);
  }

  private resolveStop(pos: PlaybackPosition | null): void {
    const waiters = this.stopWaiters;
    this.stopWaiters = [];
    for (const w of waiters) w(pos);
  }
}
