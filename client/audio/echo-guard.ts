// Echo guard for barge-in: while the assistant speaks, the microphone also hears the assistant
// (speakers -> room -> mic) wherever the browser's echo cancellation is weak (Safari, Firefox,
// speakerphones, phones). The guard measures how loud that echo is relative to what is being played
// (the echo gain: mic level minus playback level, in dB) and raises the speech threshold to the
// expected echo plus a margin, so only a voice louder than the echo can pause the reply.
//
// The playback reference is the loudest playback level of the last ~200 ms (echo arrives 20-150 ms
// late, after output latency and the room); the caller supplies it per 20 ms frame. The gain is a
// high percentile of recent (mic - reference) differences, learned only while the user is not
// talking. Before it is measured, and for `warmupMs` after each reply starts playing (an echo
// canceller re-converges then), a loud echo (`assumedEchoDb`) is assumed.
// Pure: no DOM, no Web Audio (used by the browser client and by the turn-taking benchmark).
import { withDefaults } from "../../shared/options.ts";

export interface EchoGuardOptions {
  /** Length of one frame (ms), default 20. */
  frameMs: number;
  /** The user's voice must be this far above the expected echo to count as speech while the assistant plays (dB), default 6. */
  marginDb: number;
  /** Echo level relative to the playback level assumed before it is measured, and during each reply's warm-up (dB), default -10. */
  assumedEchoDb: number;
  /** After each reply starts playing, the assumed echo is used when it is louder than the measured one (ms), default 1000. */
  warmupMs: number;
  /** Playback quieter than this teaches nothing about the echo (dBFS), default -50. */
  minReferenceDbfs: number;
  /** Measurements kept: the estimate follows a changing room (ms of playback), default 3000. */
  windowMs: number;
  /** Playback measured before the estimate is trusted (ms), default 500. */
  learnMs: number;
  /** Which percentile of (mic - playback) is taken as the echo gain: high, so echo peaks are covered (0..1), default 0.9. */
  percentile: number;
}

export const DEFAULT_ECHO_GUARD: Readonly<EchoGuardOptions> = Object.freeze({
  frameMs: 20,
  marginDb: 6,
  assumedEchoDb: -10,
  warmupMs: 1000,
  minReferenceDbfs: -50,
  windowMs: 3000,
  learnMs: 500,
  percentile: 0.9,
});

export class EchoGuard {
  readonly options: Readonly<EchoGuardOptions>;
  private readonly diffs: Float64Array;
  private readonly sorted: Float64Array;
  private next = 0;
  private count = 0;
  private gain: number | null = null;
  private dirty = false;
  private warmupLeft = 0;
  /** Echo gain proven by speech the server judged to be echo; decays back (1 dB per second of playback). */
  private provenGain = -Infinity;
  private readonly learnFrames: number;
  private readonly warmupFrames: number;

  constructor(options: Partial<EchoGuardOptions> = {}) {
    const o = withDefaults(DEFAULT_ECHO_GUARD, options);
    if (!(o.frameMs > 0) || !(o.windowMs >= o.frameMs) || !(o.percentile > 0 && o.percentile <= 1)) {
      throw new RangeError("echo guard: frameMs > 0, windowMs >= frameMs and 0 < percentile <= 1 are required");
    }
    this.options = o;
    const n = Math.round(o.windowMs / o.frameMs);
    this.diffs = new Float64Array(n);
    this.sorted = new Float64Array(n);
    this.learnFrames = Math.max(1, Math.round(o.learnMs / o.frameMs));
    this.warmupFrames = Math.round(o.warmupMs / o.frameMs);
  }

  /** A reply started playing: the warm-up begins again. */
  startReply(): void {
    this.warmupLeft = this.warmupFrames;
  }

  /** Call once per frame while playback is audible (counts the warm-up down). */
  tick(): void {
    if (this.warmupLeft > 0) this.warmupLeft--;
    if (this.provenGain > -Infinity) this.provenGain -= this.options.frameMs / 1000;
  }

  get inWarmup(): boolean {
    return this.warmupLeft > 0;
  }

  /** The measured echo gain (dB, mic level minus playback level), or null until enough playback was heard. */
  get measuredGainDb(): number | null {
    if (this.count < this.learnFrames) return null;
    if (this.dirty) {
      const sorted = this.sorted.subarray(0, this.count);
      sorted.set(this.diffs.subarray(0, this.count));
      sorted.sort();
      this.gain = sorted[Math.min(this.count - 1, Math.floor(this.options.percentile * this.count))]!;
      this.dirty = false;
    }
    return this.gain;
  }

  /** The echo gain in use now: the measured one, or the assumed one before it is known and during warm-up if louder. */
  get gainDb(): number {
    const measured = this.measuredGainDb;
    const base = measured === null ? this.options.assumedEchoDb : this.inWarmup ? Math.max(measured, this.options.assumedEchoDb) : measured;
    return Math.max(base, this.provenGain);
  }

  /** Speech judged (by the server, from its words) to be the assistant's own echo reached this gain: never pause for that again. */
  noteEcho(gainDb: number): void {
    if (Number.isFinite(gainDb)) this.provenGain = Math.max(this.provenGain, gainDb);
  }

  /** Learn from a frame in which only the assistant (and the room) is heard. */
  learn(micDbfs: number, referenceDbfs: number): void {
    if (!(referenceDbfs >= this.options.minReferenceDbfs) || !Number.isFinite(micDbfs)) return;
    this.diffs[this.next] = micDbfs - referenceDbfs;
    this.next = (this.next + 1) % this.diffs.length;
    if (this.count < this.diffs.length) this.count++;
    this.dirty = true;
  }

  /** The lowest mic level (dBFS) that counts as the user's voice for this playback reference; -Infinity when nothing plays. */
  thresholdDbfs(referenceDbfs: number): number {
    if (!(referenceDbfs > -120)) return -Infinity;
    return referenceDbfs + this.gainDb + this.options.marginDb;
  }

  /** Forget what was measured (another microphone or output device). */
  reset(): void {
    this.next = 0;
    this.count = 0;
    this.gain = null;
    this.dirty = false;
    this.warmupLeft = 0;
    this.provenGain = -Infinity;
  }
}
