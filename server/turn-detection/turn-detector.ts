// Endpointing on top of the energy VAD: decides when a user turn starts and ends and hands back
// the utterance audio. One instance per session; fed every upstream audio frame.
import { EnergyVad, type VadOptions } from "./vad.ts";
import { withDefaults } from "../../shared/options.ts";

export interface TurnDetectionOptions {
  /** Level above the adaptive noise floor that counts as speech (dB), default 12. */
  speechThresholdDb: number;
  /** Voiced time needed before a turn "starts" (ms), default 160: filters clicks and coughs. */
  minSpeechMs: number;
  /** Trailing silence that ends a turn on its own (ms), default 500; setSilenceMs() changes it at runtime. */
  silenceMs: number;
  /** Hands-free: a gap this long inside speech emits "pause", so a judge can end the turn early (ms), default 250; 0 = off. */
  pauseMs: number;
  /** Commit at this cap even while still speaking (ms), default 30000. */
  maxUtteranceMs: number;
  /** Audio kept from before the speech start, so first syllables are not cut (ms), default 300. */
  preRollMs: number;
}

export const DEFAULT_TURN_DETECTION: Readonly<TurnDetectionOptions> = Object.freeze({
  speechThresholdDb: 12,
  minSpeechMs: 160,
  silenceMs: 500,
  pauseMs: 250,
  maxUtteranceMs: 30_000,
  preRollMs: 300,
});

export type TurnEvent =
  | { type: "speech-start"; atMs: number } // atMs: stream time (ms of audio received so far)
  | {
      /**
       * Hands-free: the speech stopped pauseMs ago and the turn has not ended. Once per gap; only
       * when pauseMs is shorter than the silence that ends the turn.
       */
      type: "pause";
      atMs: number;
      /** Unvoiced ms so far in this gap. */
      silenceMs: number;
      /** The utterance so far, trimmed as a turn-end would be now: if the turn ends without more speech, its audio is equal. Owned by the receiver. */
      audio: Int16Array<ArrayBuffer>;
      speechMs: number;
      levelDbfs: number;
    }
  | {
      /** Speech came back in the same utterance after a "pause"; pauseMs is how long the gap lasted. */
      type: "resume";
      atMs: number;
      pauseMs: number;
    }
  | {
      type: "turn-end";
      /** "end-of-turn": ended by endTurn() during the trailing silence (a judge decided the utterance was complete). */
      reason: "silence" | "max-length" | "commit" | "end-of-turn";
      /** Pre-roll + speech + at most TRAILING_SILENCE_KEPT_MS of trailing silence. Owned by the receiver. */
      audio: Int16Array<ArrayBuffer>;
      /** From the first to the end of the last voiced frame (pauses inside the turn included). */
      speechMs: number;
      /** Silence waited after the last voiced frame before deciding (0 for commit and max-length). */
      endpointingMs: number;
      /** Mean level of its voiced frames (dBFS): how loud the speaker was. */
      levelDbfs: number;
      atMs: number;
    };

export type TurnEndEvent = Extract<TurnEvent, { type: "turn-end" }>;
export type TurnPauseEvent = Extract<TurnEvent, { type: "pause" }>;
export type TurnResumeEvent = Extract<TurnEvent, { type: "resume" }>;

/** Trailing silence left on a turn's audio: protects soft word endings, while whisper tends to invent words in long silence. */
export const TRAILING_SILENCE_KEPT_MS = 200;

// Matches UPSTREAM_AUDIO in shared/protocol.ts (not imported: this module stays dependency-free).
const SAMPLE_RATE_HZ = 16_000;
const FRAME_MS = 20;
const FRAME_SAMPLES = (SAMPLE_RATE_HZ * FRAME_MS) / 1000;
const SAMPLES_PER_MS = SAMPLE_RATE_HZ / 1000;
/** An unvoiced gap this long abandons a turn that has not reached minSpeechMs yet. */
const ONSET_MAX_GAP_MS = 100;
/** Initial utterance buffer; grows by doubling up to the cap, shrinks back after long turns. */
const INITIAL_BUFFER_MS = 4_000;

// "held": push-to-talk with the button down; every frame is kept, the VAD only marks where speech is.
type Phase = "idle" | "onset" | "speech" | "held";
type Mode = "hands-free" | "push-to-talk";

export class TurnDetector {
  readonly options: Readonly<TurnDetectionOptions>;
  readonly #vad: EnergyVad;
  readonly #minSpeechFrames: number;
  readonly #minSoundDbfs: number;
  #silenceMs: number;
  #silenceFrames: number;
  readonly #pauseFrames: number; // 0: no pause events
  readonly #maxUtteranceFrames: number;
  readonly #onsetMaxGapFrames = ONSET_MAX_GAP_MS / FRAME_MS;
  readonly #tailSamples = TRAILING_SILENCE_KEPT_MS * SAMPLES_PER_MS;
  readonly #capSamples: number;
  readonly #initialBufferSamples: number;

  // Re-framing of arbitrary-length input into 20 ms frames.
  readonly #frame = new Int16Array(FRAME_SAMPLES);
  #frameFill = 0;
  #streamSamples = 0;

  // Ring of the most recent preRollMs of audio, copied in front of an utterance when speech begins.
  readonly #ring: Int16Array;
  readonly #ringFramesCap: number;
  #ringNext = 0; // frame slot written next
  #ringFrames = 0;

  // The utterance being collected (pre-roll first).
  #buf: Int16Array<ArrayBuffer>;
  #bufLen = 0;
  #preRollSamples = 0;
  #phase: Phase = "idle";
  #voicedFrames = 0;
  #unvoicedRun = 0;
  #firstVoicedStart = 0;
  #lastVoicedEnd = 0;
  #loudestDbfs = -Infinity;
  #voicedDbSum = 0;
  #pauseEmitted = false; // a "pause" went out for the current gap

  constructor(
    options: Partial<TurnDetectionOptions> = {},
    vadOptions: Partial<Omit<VadOptions, "speechThresholdDb" | "sampleRate" | "frameMs">> = {},
  ) {
    const o = withDefaults(DEFAULT_TURN_DETECTION, options);
    for (const k of ["speechThresholdDb", "minSpeechMs", "silenceMs", "pauseMs", "maxUtteranceMs", "preRollMs"] as const) {
      if (typeof o[k] !== "number" || !Number.isFinite(o[k]) || o[k] < 0) {
        throw new RangeError(`turn detection ${k} must be a non-negative number of ${k.endsWith("Db") ? "dB" : "ms"}, got ${o[k]}`);
      }
    }
    if (o.silenceMs === 0) throw new RangeError("turn detection silenceMs must be > 0");
    if (o.maxUtteranceMs < FRAME_MS) throw new RangeError(`turn detection maxUtteranceMs must be at least ${FRAME_MS}`);
    this.options = o;
    this.#vad = new EnergyVad({ ...vadOptions, speechThresholdDb: o.speechThresholdDb, sampleRate: SAMPLE_RATE_HZ, frameMs: FRAME_MS });
    this.#minSpeechFrames = Math.max(1, Math.ceil(o.minSpeechMs / FRAME_MS));
    this.#minSoundDbfs = this.#vad.options.minSpeechDbfs;
    this.#silenceMs = o.silenceMs;
    this.#silenceFrames = silenceFramesFor(o.silenceMs);
    this.#pauseFrames = Math.ceil(o.pauseMs / FRAME_MS);
    this.#maxUtteranceFrames = Math.max(1, Math.floor(o.maxUtteranceMs / FRAME_MS));
    this.#ringFramesCap = Math.ceil(o.preRollMs / FRAME_MS);
    this.#ring = new Int16Array(this.#ringFramesCap * FRAME_SAMPLES);
    this.#capSamples = (this.#maxUtteranceFrames + this.#ringFramesCap) * FRAME_SAMPLES;
    // Room for the pre-roll plus at least one frame from the start, so onset never has to grow it.
    this.#initialBufferSamples = Math.min(
      this.#capSamples,
      Math.max(INITIAL_BUFFER_MS * SAMPLES_PER_MS, this.#ring.length + FRAME_SAMPLES),
    );
    this.#buf = new Int16Array(this.#initialBufferSamples);
  }

  /** Feed PCM16 samples of any length (the detector re-frames internally into 20 ms frames). */
  push(samples: Int16Array, mode: Mode): TurnEvent[] {
    const events: TurnEvent[] = [];
    let i = 0;
    const n = samples.length;
    if (this.#frameFill > 0) {
      const take = Math.min(FRAME_SAMPLES - this.#frameFill, n);
      this.#frame.set(samples.subarray(0, take), this.#frameFill);
      this.#frameFill += take;
      i = take;
      if (this.#frameFill < FRAME_SAMPLES) return events;
      this.#frameFill = 0;
      this.#processFrame(this.#frame, 0, mode, events);
    }
    // Whole frames straight from the input, without copying into #frame.
    for (; i + FRAME_SAMPLES <= n; i += FRAME_SAMPLES) this.#processFrame(samples, i, mode, events);
    if (i < n) {
      this.#frame.set(samples.subarray(i), 0);
      this.#frameFill = n - i;
    }
    return events;
  }

  /** End the turn now (push-to-talk release or explicit commit). Returns null if nothing voiced was buffered. */
  commit(): TurnEndEvent | null {
    // A partial frame (< 20 ms) is dropped: too short to matter and not classified.
    this.#streamSamples += this.#frameFill;
    this.#frameFill = 0;
    if (this.#phase === "held") {
      if (this.#voicedFrames === 0) {
        // Nothing stood out from the noise floor. That floor may itself be speech (the button was
        // pressed mid-sentence on a fresh connection), so a press with real sound in it is kept whole.
        if (this.#loudestDbfs < this.#minSoundDbfs) {
          this.#clearTurn();
          return null;
        }
        this.#firstVoicedStart = 0;
        this.#lastVoicedEnd = this.#bufLen;
      }
      return this.#endTurn("commit", 0);
    }
    if (this.#phase === "idle") return null;
    return this.#endTurn("commit", 0);
  }

  /**
   * End the utterance now because its trailing silence has run long enough for a judge (the
   * end-of-turn policy). Only while speech has stopped: null when idle, at an onset, while
   * push-to-talk is held, or while the last frame was voiced.
   */
  endTurn(): TurnEndEvent | null {
    if (this.#phase !== "speech" || this.#unvoicedRun === 0) return null;
    return this.#endTurn("end-of-turn", this.#unvoicedRun * FRAME_MS);
  }

  /** Silence since the last voiced frame of the current utterance (ms of audio; 0 when idle or mid-speech). */
  get trailingSilenceMs(): number {
    return this.#phase === "speech" ? this.#unvoicedRun * FRAME_MS : 0;
  }

  /** The silence that ends a turn on its own, now (options.silenceMs is the configured one). */
  get silenceMs(): number {
    return this.#silenceMs;
  }

  /**
   * Change the silence that ends the current and later turns on its own (the fallback, or the
   * longest wait). If the current gap already reaches it, the next frame ends the turn.
   */
  setSilenceMs(ms: number): void {
    if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0)
      throw new RangeError(`turn detection silenceMs must be a number of ms > 0, got ${ms}`);
    this.#silenceMs = ms;
    this.#silenceFrames = silenceFramesFor(ms);
  }

  /** Drop buffered audio (e.g. after a typed turn). The noise floor is kept: it describes the room, not the turn. */
  reset(): void {
    this.#streamSamples += this.#frameFill;
    this.#frameFill = 0;
    this.#clearTurn();
    this.#ringFrames = 0;
  }

  /**
   * Drop the utterance collected so far but keep the last preRollMs of audio, so speech that begins
   * now still gets its first syllables. Used when the client hears the user start talking over the
   * reply: what the server collected before was the reply's own echo, not the user.
   */
  restart(): void {
    this.#clearTurn();
  }

  /** The utterance collected so far (pre-roll + speech), copied; null when no speech has started. */
  snapshot(): Int16Array<ArrayBuffer> | null {
    if (!this.inSpeech) return null;
    return this.#buf.slice(0, this.#trimmedEnd());
  }

  /** From the first to the end of the last voiced frame of the current utterance (0 when idle). */
  get speechMs(): number {
    return this.#phase === "idle" ? 0 : (this.#lastVoicedEnd - this.#firstVoicedStart) / SAMPLES_PER_MS;
  }

  /** Something is being collected (a possible onset, speech, or a push-to-talk press). */
  get busy(): boolean {
    return this.#phase !== "idle";
  }

  /** The last frame was voiced. */
  get lastFrameVoiced(): boolean {
    return this.#vad.voiced;
  }

  get inSpeech(): boolean {
    return this.#phase === "speech" || (this.#phase === "held" && this.#voicedFrames >= this.#minSpeechFrames);
  }

  /** Stream time: ms of audio received so far. */
  get streamMs(): number {
    return (this.#streamSamples + this.#frameFill) / SAMPLES_PER_MS;
  }

  /** Current VAD noise floor, for metrics and debugging. */
  get noiseFloorDbfs(): number {
    return this.#vad.noiseFloorDbfs;
  }

  #processFrame(src: Int16Array, offset: number, mode: Mode, events: TurnEvent[]): void {
    this.#streamSamples += FRAME_SAMPLES;
    const voiced = this.#vad.process(src, offset);

    if (mode === "push-to-talk" && (this.#phase === "idle" || this.#phase === "held")) {
      this.#processHeldFrame(src, offset, voiced, events);
      return;
    }

    if (this.#phase === "idle") {
      if (voiced) {
        // Candidate onset: pre-roll from the ring, then this frame.
        this.#bufLen = 0;
        this.#copyRingToBuffer();
        this.#preRollSamples = this.#bufLen;
        this.#firstVoicedStart = this.#bufLen;
        this.#append(src, offset);
        this.#lastVoicedEnd = this.#bufLen;
        this.#voicedFrames = 1;
        this.#voicedDbSum = this.#vad.levelDbfs;
        this.#unvoicedRun = 0;
        this.#phase = "onset";
        this.#maybeStartSpeech(events);
      }
      this.#pushRing(src, offset);
      return;
    }

    this.#append(src, offset);
    this.#pushRing(src, offset);
    if (voiced) {
      if (this.#pauseEmitted) {
        events.push({ type: "resume", atMs: this.#streamSamples / SAMPLES_PER_MS, pauseMs: this.#unvoicedRun * FRAME_MS });
        this.#pauseEmitted = false;
      }
      this.#voicedFrames++;
      this.#voicedDbSum += this.#vad.levelDbfs;
      this.#unvoicedRun = 0;
      this.#lastVoicedEnd = this.#bufLen;
    } else {
      this.#unvoicedRun++;
    }

    if (this.#phase === "onset") {
      if (voiced) this.#maybeStartSpeech(events);
      else if (this.#unvoicedRun > this.#onsetMaxGapFrames) this.#clearTurn(); // a click or a cough
      if (this.#phase === "onset" && this.#utteranceFrames() >= this.#maxUtteranceFrames) this.#clearTurn();
      return;
    }

    if (mode === "hands-free" && this.#unvoicedRun >= this.#silenceFrames) {
      events.push(this.#endTurn("silence", this.#unvoicedRun * FRAME_MS));
    } else if (this.#utteranceFrames() >= this.#maxUtteranceFrames) {
      events.push(this.#endTurn("max-length", 0));
    } else if (mode === "hands-free" && this.#pauseFrames > 0 && this.#unvoicedRun >= this.#pauseFrames && !this.#pauseEmitted) {
      // Reached only while the gap is shorter than the silence that ends the turn (checked above).
      this.#pauseEmitted = true;
      events.push({
        type: "pause",
        atMs: this.#streamSamples / SAMPLES_PER_MS,
        silenceMs: this.#unvoicedRun * FRAME_MS,
        audio: this.#buf.slice(0, this.#trimmedEnd()),
        speechMs: (this.#lastVoicedEnd - this.#firstVoicedStart) / SAMPLES_PER_MS,
        levelDbfs: this.#voicedDbSum / this.#voicedFrames,
      });
    }
  }

  /** Push-to-talk: the press delimits the turn; voiced frames only mark where to trim and when speech starts. */
  #processHeldFrame(src: Int16Array, offset: number, voiced: boolean, events: TurnEvent[]): void {
    if (this.#phase === "idle") {
      this.#bufLen = 0;
      this.#preRollSamples = 0;
      this.#phase = "held";
    }
    this.#append(src, offset);
    this.#pushRing(src, offset);
    this.#loudestDbfs = Math.max(this.#loudestDbfs, this.#vad.levelDbfs);
    if (voiced) {
      if (this.#voicedFrames === 0) this.#firstVoicedStart = this.#bufLen - FRAME_SAMPLES;
      this.#voicedFrames++;
      this.#voicedDbSum += this.#vad.levelDbfs;
      this.#lastVoicedEnd = this.#bufLen;
      if (this.#voicedFrames === this.#minSpeechFrames) events.push({ type: "speech-start", atMs: this.#streamSamples / SAMPLES_PER_MS });
    }
    if (this.#bufLen / FRAME_SAMPLES >= this.#maxUtteranceFrames) {
      if (this.#voicedFrames > 0) events.push(this.#endTurn("max-length", 0));
      else this.#clearTurn();
    }
  }

  #maybeStartSpeech(events: TurnEvent[]): void {
    if (this.#voicedFrames >= this.#minSpeechFrames) {
      this.#phase = "speech";
      events.push({ type: "speech-start", atMs: this.#streamSamples / SAMPLES_PER_MS });
    }
  }

  #utteranceFrames(): number {
    return (this.#bufLen - this.#preRollSamples) / FRAME_SAMPLES;
  }

  /** End of the audio handed out: the last voiced frame plus at most TRAILING_SILENCE_KEPT_MS. */
  #trimmedEnd(): number {
    return Math.min(this.#bufLen, this.#lastVoicedEnd + this.#tailSamples);
  }

  #endTurn(reason: TurnEndEvent["reason"], endpointingMs: number): TurnEndEvent {
    const end = this.#trimmedEnd();
    // Held (push-to-talk) audio has no ring pre-roll in front: keep preRollMs before the first voiced frame instead.
    const start = this.#phase === "held" ? Math.max(0, this.#firstVoicedStart - this.#ring.length) : 0;
    const event: TurnEndEvent = {
      type: "turn-end",
      reason,
      audio: this.#buf.slice(start, end),
      speechMs: (this.#lastVoicedEnd - this.#firstVoicedStart) / SAMPLES_PER_MS,
      endpointingMs,
      levelDbfs: this.#voicedFrames > 0 ? this.#voicedDbSum / this.#voicedFrames : this.#loudestDbfs,
      atMs: this.#streamSamples / SAMPLES_PER_MS,
    };
    this.#clearTurn();
    // The ring holds audio already handed out in this turn; reusing it as pre-roll would repeat it.
    this.#ringFrames = 0;
    return event;
  }

  #clearTurn(): void {
    this.#phase = "idle";
    this.#bufLen = 0;
    this.#preRollSamples = 0;
    this.#voicedFrames = 0;
    this.#unvoicedRun = 0;
    this.#firstVoicedStart = 0;
    this.#lastVoicedEnd = 0;
    this.#loudestDbfs = -Infinity;
    this.#voicedDbSum = 0;
    this.#pauseEmitted = false;
    // Give back memory after a long turn.
    if (this.#buf.length > this.#initialBufferSamples) this.#buf = new Int16Array(this.#initialBufferSamples);
  }

  #append(src: Int16Array, offset: number): void {
    const need = this.#bufLen + FRAME_SAMPLES;
    if (need > this.#buf.length) {
      // Never beyond the cap: callers end or drop the turn before it is reached.
      const grown = new Int16Array(Math.min(this.#capSamples, Math.max(need, this.#buf.length * 2)));
      grown.set(this.#buf.subarray(0, this.#bufLen));
      this.#buf = grown;
    }
    this.#buf.set(src.subarray(offset, offset + FRAME_SAMPLES), this.#bufLen);
    this.#bufLen = need;
  }

  #pushRing(src: Int16Array, offset: number): void {
    if (this.#ringFramesCap === 0) return;
    this.#ring.set(src.subarray(offset, offset + FRAME_SAMPLES), this.#ringNext * FRAME_SAMPLES);
    this.#ringNext = (this.#ringNext + 1) % this.#ringFramesCap;
    if (this.#ringFrames < this.#ringFramesCap) this.#ringFrames++;
  }

  #copyRingToBuffer(): void {
    // Oldest frame first.
    const first = (this.#ringNext - this.#ringFrames + this.#ringFramesCap) % Math.max(1, this.#ringFramesCap);
    for (let k = 0; k < this.#ringFrames; k++) {
      const slot = (first + k) % this.#ringFramesCap;
      this.#buf.set(this.#ring.subarray(slot * FRAME_SAMPLES, (slot + 1) * FRAME_SAMPLES), this.#bufLen);
      this.#bufLen += FRAME_SAMPLES;
    }
  }
}

function silenceFramesFor(silenceMs: number): number {
  return Math.max(1, Math.ceil(silenceMs / FRAME_MS));
}
