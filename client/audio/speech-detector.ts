// Local speech detection on 20 ms frame energies: an adaptive noise floor, an echo guard while the
// assistant plays, and an onset/silence state machine. Used for barge-in (pause the assistant
// within ~100 ms of the user talking over it, report how long that speech lasts) and to timestamp
// the end of the user's speech for the client-side time-to-first-audio figure. The server runs its
// own VAD for turn-taking and decides what an interruption is; this one has to be quick, ignore
// steady background noise, and not mistake the assistant's own voice for the user's.
// Pure: no DOM.
import { EchoGuard, type EchoGuardOptions } from "./echo-guard.ts";
import { linearToDbfs } from "../../shared/audio/pcm.ts";
import { MIC_SILENCE_DBFS } from "./level-meter.ts";
import { withDefaults } from "../../shared/options.ts";

/** Speech counts as still going on (for "sustained") until this long after its last voiced frame. */
const SUSTAIN_GAP_MS = 200;

// Named as the server's VAD and turn detector name the same ideas (server/turn-detection/): speechThresholdDb,
// minSpeechDbfs, minSpeechMs, silenceMs.
export interface SpeechDetectorOptions {
  /** Length of one frame pushed (ms), default 20. */
  frameMs: number;
  /** Voiced audio needed before "start" fires (ms), default 80. */
  minSpeechMs: number;
  /** Unvoiced audio needed before "end" fires (ms), default 500. */
  silenceMs: number;
  /** Absolute floor: quieter frames never count as speech (dBFS), default -50. */
  minSpeechDbfs: number;
  /** A voiced frame must be this far above the tracked noise floor (dB), default 12. */
  speechThresholdDb: number;
  /** Speech this long (from its first voiced frame) fires "sustained" once (ms), default 500; 0 = never. */
  sustainMs: number;
  /** The echo guard's options (its frameMs is this detector's), default DEFAULT_ECHO_GUARD. */
  echo: Partial<EchoGuardOptions>;
}

export const DEFAULT_SPEECH_DETECTOR: Readonly<SpeechDetectorOptions> = Object.freeze({
  frameMs: 20,
  minSpeechMs: 80,
  silenceMs: 500,
  minSpeechDbfs: -50,
  speechThresholdDb: 12,
  sustainMs: 500,
  echo: {},
});

export type SpeechEvent =
  | { type: "start"; /** frame index of the first voiced frame of the onset */ frame: number }
  /** The speech has lasted `speechMs` since its first voiced frame (once per speech). */
  | { type: "sustained"; frame: number; speechMs: number }
  | { type: "end"; /** frame index just after the last voiced frame */ frame: number };

export class SpeechDetector {
  readonly frameMs: number;
  private readonly minSpeechFrames: number;
  private readonly silenceFrames: number;
  private readonly minSpeechDbfs: number;
  private readonly speechThresholdDb: number;
  private sustainFrames: number;
  readonly echo: EchoGuard;
  private floorDb = -70;
  private sustainedFired = false;
  /** Mic and playback levels of the last second, for learning from speech judged to be echo afterwards. */
  private readonly recentMic = new Float64Array(50);
  private readonly recentRef = new Float64Array(50);
  private frame = 0;
  private voicedRun = 0;
  private gapRun = 0;
  private onsetStart = -1;
  private speechStart = -1;
  private silentRun = 0;
  private lastVoiced = -1;
  private active = false;
  private lastWasVoiced = false;

  constructor(options: Partial<SpeechDetectorOptions> = {}) {
    const o = withDefaults(DEFAULT_SPEECH_DETECTOR, options);
    this.frameMs = o.frameMs;
    this.minSpeechFrames = Math.max(1, Math.round(o.minSpeechMs / this.frameMs));
    this.silenceFrames = Math.max(1, Math.round(o.silenceMs / this.frameMs));
    this.minSpeechDbfs = o.minSpeechDbfs;
    this.speechThresholdDb = o.speechThresholdDb;
    this.sustainFrames = this.framesFor(o.sustainMs);
    this.echo = new EchoGuard({ ...o.echo, frameMs: this.frameMs });
  }

  /** Change when "sustained" fires (the server's minInterruptionMs). */
  setSustainMs(ms: number): void {
    this.sustainFrames = this.framesFor(ms);
  }

  private framesFor(ms: number): number {
    return ms > 0 ? Math.max(1, Math.round(ms / this.frameMs)) : Infinity;
  }

  get speaking(): boolean {
    return this.active;
  }

  get noiseFloorDbfs(): number {
    return this.floorDb;
  }

  /** Was the last frame pushed voiced? */
  get lastFrameVoiced(): boolean {
    return this.lastWasVoiced;
  }

  /** Frames seen so far. */
  get frames(): number {
    return this.frame;
  }

  /** Is a frame at this level voiced, given the noise floor and (while the assistant plays) the expected echo? */
  isVoiced(rms: number, playbackRms = 0): boolean {
    const db = linearToDbfs(rms, MIC_SILENCE_DBFS);
    return (
      db > this.minSpeechDbfs &&
      db > this.floorDb + this.speechThresholdDb &&
      db > this.echo.thresholdDbfs(linearToDbfs(playbackRms, MIC_SILENCE_DBFS))
    );
  }

  /**
   * Feed one frame's RMS (linear) and the playback reference: the loudest playback RMS of the last
   * ~200 ms (0 when the assistant is silent). Returns an event when speech starts, has lasted
   * sustainMs, or ends.
   */
  push(rms: number, playbackRms = 0): SpeechEvent | null {
    const index = this.frame++;
    const db = linearToDbfs(rms, MIC_SILENCE_DBFS);
    const refDb = linearToDbfs(playbackRms, MIC_SILENCE_DBFS);
    const playing = playbackRms > 0;
    const voiced = this.isVoiced(rms, playbackRms);
    this.lastWasVoiced = voiced;
    const slot = index % this.recentMic.length;
    this.recentMic[slot] = db;
    this.recentRef[slot] = refDb;
    if (playing) {
      this.echo.tick();
      // What the mic hears while only the assistant talks is its echo (the user's own speech would
      // inflate the estimate and make barge-in harder, so learning stops while they talk).
      if (!this.active && this.voicedRun === 0) this.echo.learn(db, refDb);
    }
    // Noise floor: falls quickly, rises slowly, and does not learn from speech or from echo.
    if (!voiced && !playing) {
      const rate = db < this.floorDb ? 0.3 : 0.02;
      this.floorDb += (Math.max(-90, db) - this.floorDb) * rate;
      this.floorDb = Math.min(this.floorDb, -25);
    }
    let event: SpeechEvent | null = null;
    if (voiced) {
      if (this.voicedRun === 0) this.onsetStart = index;
      this.voicedRun++;
      this.gapRun = 0;
      this.silentRun = 0;
      this.lastVoiced = index;
      if (!this.active && this.voicedRun >= this.minSpeechFrames) {
        this.active = true;
        this.sustainedFired = false;
        this.speechStart = this.onsetStart;
        event = { type: "start", frame: this.onsetStart };
      }
    } else {
      // One unvoiced frame inside an onset is tolerated (plosives, short pauses).
      this.gapRun++;
      if (this.gapRun > 1) this.voicedRun = 0;
      this.silentRun++;
      if (this.active && this.silentRun >= this.silenceFrames) {
        this.active = false;
        event = { type: "end", frame: this.lastVoiced + 1 };
      }
    }
    // Sustained means still talking: not in the trailing silence after a short "uh-huh" that already ended.
    const stillTalking = this.silentRun * this.frameMs < SUSTAIN_GAP_MS;
    if (!event && this.active && stillTalking && !this.sustainedFired && index - this.speechStart + 1 >= this.sustainFrames) {
      this.sustainedFired = true;
      event = { type: "sustained", frame: index, speechMs: (index - this.speechStart + 1) * this.frameMs };
    }
    return event;
  }

  /**
   * The server judged the last speech to be the assistant's own echo: learn from its frames, so an
   * echo louder than measured so far stops pausing the reply.
   */
  learnEcho(): void {
    if (this.speechStart < 0) return;
    const first = Math.max(this.speechStart, this.frame - this.recentMic.length);
    // The loudest the echo came relative to the playback reference, while there was playback.
    let gain = -Infinity;
    for (let i = first; i < this.frame; i++) {
      const slot = i % this.recentMic.length;
      const ref = this.recentRef[slot]!;
      if (ref >= this.echo.options.minReferenceDbfs) gain = Math.max(gain, this.recentMic[slot]! - ref);
    }
    this.echo.noteEcho(gain);
  }

  /** Frame index where the current (or last) speech began. */
  get speechStartFrame(): number {
    return this.speechStart;
  }

  /** Forget the current speech (not the noise floor or the echo measurement). */
  reset(): void {
    this.sustainedFired = false;
    this.frame = 0;
    this.voicedRun = 0;
    this.gapRun = 0;
    this.silentRun = 0;
    this.onsetStart = -1;
    this.speechStart = -1;
    this.lastVoiced = -1;
    this.active = false;
  }
}
