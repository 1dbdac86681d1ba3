// Local speech detection on 20 ms frame energies: an adaptive noise floor plus an onset/hangover
// state machine. Used for barge-in (stop the assistant within 100 ms of the user talking over it)
// and to timestamp the end of the user's speech for the client-side time-to-first-audio figure.
// The server runs its own VAD for turn-taking; this one only has to be quick and not trigger on
// steady background noise. Pure: no DOM.
import { toDbfs } from "./level-meter.ts";

export interface SpeechDetectorOptions {
  frameMs?: number;
  /** Voiced audio needed before "start" fires. Default 80 ms. */
  onsetMs?: number;
  /** Unvoiced audio needed before "end" fires. Default 500 ms. */
  hangoverMs?: number;
  /** Absolute floor: quieter frames never count as speech. Default -50 dBFS. */
  minDbfs?: number;
  /** A voiced frame must be this far above the tracked noise floor. Default 12 dB. */
  snrDb?: number;
}

export type SpeechEvent =
  | { type: "start"; /** frame index of the first voiced frame of the onset */ frame: number }
  | { type: "end"; /** frame index just after the last voiced frame */ frame: number };

export class SpeechDetector {
  readonly frameMs: number;
  private readonly onsetFrames: number;
  private readonly hangoverFrames: number;
  private readonly minDbfs: number;
  private readonly snrDb: number;
  private floorDb = -70;
  private frame = 0;
  private voicedRun = 0;
  private gapRun = 0;
  private onsetStart = -1;
  private silentRun = 0;
  private lastVoiced = -1;
  private active = false;
  private lastWasVoiced = false;

  constructor(options: SpeechDetectorOptions = {}) {
    this.frameMs = options.frameMs ?? 20;
    this.onsetFrames = Math.max(1, Math.round((options.onsetMs ?? 80) / this.frameMs));
    this.hangoverFrames = Math.max(1, Math.round((options.hangoverMs ?? 500) / this.frameMs));
    this.minDbfs = options.minDbfs ?? -50;
    this.snrDb = options.snrDb ?? 12;
  }

  get speaking(): boolean {
    return this.active;
  }

  get noiseFloorDb(): number {
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

  /** Is a frame at this level voiced, given the current noise floor? */
  isVoiced(rms: number): boolean {
    const db = toDbfs(rms);
    return db > this.minDbfs && db > this.floorDb + this.snrDb;
  }

  /** Feed one frame's RMS (linear). Returns an event when speech starts or ends. */
  push(rms: number): SpeechEvent | null {
    const index = this.frame++;
    const db = toDbfs(rms);
    const voiced = this.isVoiced(rms);
    this.lastWasVoiced = voiced;
    // Noise floor: falls quickly, rises slowly, and does not learn from speech.
    if (!voiced) {
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
      if (!this.active && this.voicedRun >= this.onsetFrames) {
        this.active = true;
        event = { type: "start", frame: this.onsetStart };
      }
    } else {
      // One unvoiced frame inside an onset is tolerated (plosives, short pauses).
      this.gapRun++;
      if (this.gapRun > 1) this.voicedRun = 0;
      this.silentRun++;
      if (this.active && this.silentRun >= this.hangoverFrames) {
        this.active = false;
        event = { type: "end", frame: this.lastVoiced + 1 };
      }
    }
    return event;
  }

  reset(): void {
    this.frame = 0;
    this.voicedRun = 0;
    this.gapRun = 0;
    this.silentRun = 0;
    this.onsetStart = -1;
    this.lastVoiced = -1;
    this.active = false;
  }
}
