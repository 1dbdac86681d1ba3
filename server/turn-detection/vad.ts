// Energy VAD with an adaptive noise floor. Frame-level decisions only; onset debouncing and
// endpointing live in turn-detector.ts. Runs per 20 ms frame inside the Durable Object, so it is
// one pass over the samples and a handful of float ops, with no allocation per frame.
import { rmsDbfs } from "../../shared/audio/pcm.ts";
import { withDefaults } from "../../shared/options.ts";

export interface VadOptions {
  /** Sample rate of the PCM processed (Hz), default 16000. */
  sampleRate: number;
  /** Length of one frame (ms), default 20. */
  frameMs: number;
  /** A frame starts speech when its level is this far above the noise floor (dB), default 12. */
  speechThresholdDb: number;
  /** Once voiced, the thresholds drop by this much (relative and absolute) so speech does not flicker (dB), default 4. */
  hysteresisDb: number;
  /** Absolute level a frame must reach to start speech, whatever the floor (dBFS), default -50: quiet rooms have a very low floor. */
  minSpeechDbfs: number;
  /** Time constant of the floor falling toward a quieter frame (ms), default 80: fast, the floor is a minimum tracker. */
  floorFallMs: number;
  /**
   * The floor rises only toward the quietest frame of the last `floorWindowMs` (minimum statistics),
   * at this rate while unvoiced (slow: a speech tail must not pull it up) (dB per second, default 6)...
   */
  floorRiseDbPerSec: number;
  /**
   * ...and at this rate while voiced. Speech dips between words, so its recent minimum stays near
   * the true floor, but a steady noise that appeared suddenly (a fan switched on) is absorbed within
   * a few seconds instead of reading as never-ending speech. Default 20 dB per second.
   */
  floorRiseInSpeechDbPerSec: number;
  /** The window of that minimum (ms), default 1000. */
  floorWindowMs: number;
  /** Starting floor (dBFS); default null: the first frame sets it (noise already present is then not speech). */
  initialFloorDbfs: number | null;
}

export const DEFAULT_VAD: Readonly<VadOptions> = Object.freeze({
  sampleRate: 16_000,
  frameMs: 20,
  speechThresholdDb: 12,
  hysteresisDb: 4,
  minSpeechDbfs: -50,
  floorFallMs: 80,
  floorRiseDbPerSec: 6,
  floorRiseInSpeechDbPerSec: 20,
  floorWindowMs: 1000,
  initialFloorDbfs: null,
});

// The recent minimum is kept as minima of 100 ms blocks, so a frame costs a few comparisons.
const WINDOW_BLOCK_MS = 100;

export class EnergyVad {
  readonly options: Readonly<VadOptions>;
  readonly frameSamples: number;
  readonly #fallAlpha: number;
  readonly #riseStepDb: number;
  readonly #riseInSpeechStepDb: number;
  readonly #framesPerBlock: number;
  readonly #blockMins: Float64Array;
  #blockIndex = 0;
  #blockFrames = 0;
  #currentBlockMin = Infinity;
  #floorDbfs = NaN;
  #levelDbfs = NaN;
  #voiced = false;

  constructor(options: Partial<VadOptions> = {}) {
    const o = withDefaults(DEFAULT_VAD, options);
    for (const k of ["sampleRate", "frameMs", "floorFallMs", "floorWindowMs"] as const) {
      if (!(o[k] > 0) || !Number.isFinite(o[k])) throw new RangeError(`VAD ${k} must be a positive number, got ${o[k]}`);
    }
    for (const k of ["speechThresholdDb", "hysteresisDb", "floorRiseDbPerSec", "floorRiseInSpeechDbPerSec"] as const) {
      if (!(o[k] >= 0) || !Number.isFinite(o[k])) throw new RangeError(`VAD ${k} must be a non-negative number, got ${o[k]}`);
    }
    if (!Number.isFinite(o.minSpeechDbfs)) throw new RangeError(`VAD minSpeechDbfs must be a number, got ${o.minSpeechDbfs}`);
    this.options = o;
    this.frameSamples = Math.round((o.sampleRate * o.frameMs) / 1000);
    if (this.frameSamples < 1) throw new RangeError("VAD frame holds no samples");
    this.#fallAlpha = 1 - Math.exp(-o.frameMs / o.floorFallMs);
    this.#riseStepDb = (o.floorRiseDbPerSec * o.frameMs) / 1000;
    this.#riseInSpeechStepDb = (o.floorRiseInSpeechDbPerSec * o.frameMs) / 1000;
    this.#framesPerBlock = Math.max(1, Math.round(WINDOW_BLOCK_MS / o.frameMs));
    this.#blockMins = new Float64Array(Math.max(1, Math.ceil(o.floorWindowMs / (this.#framesPerBlock * o.frameMs))));
    this.reset();
  }

  /** Classify samples[offset, offset + frameSamples) and update the floor. Returns true for speech. */
  process(samples: Int16Array, offset = 0): boolean {
    const end = offset + this.frameSamples;
    if (offset < 0 || end > samples.length) {
      throw new RangeError(`VAD frame needs ${this.frameSamples} samples from offset ${offset}, array has ${samples.length}`);
    }
    const level = rmsDbfs(samples, offset, end);
    this.#levelDbfs = level;
    const o = this.options;
    if (Number.isNaN(this.#floorDbfs)) this.#seedFloor(o.initialFloorDbfs ?? level);
    let floor = this.#floorDbfs;

    const voiced = this.#voiced
      ? level >= floor + o.speechThresholdDb - o.hysteresisDb && level >= o.minSpeechDbfs - o.hysteresisDb
      : level >= floor + o.speechThresholdDb && level >= o.minSpeechDbfs;
    this.#voiced = voiced;

    // The floor never rises above the quietest recent frame: otherwise it creeps up between
    // syllables until real speech no longer clears the threshold.
    const windowMin = this.#trackWindowMin(level);
    if (level < floor) floor += (level - floor) * this.#fallAlpha;
    else if (windowMin > floor) floor = Math.min(windowMin, floor + (voiced ? this.#riseInSpeechStepDb : this.#riseStepDb));
    this.#floorDbfs = floor;
    return voiced;
  }

  /** Decision for the last frame processed. */
  get voiced(): boolean {
    return this.#voiced;
  }

  /** Level of the last frame processed (NaN before the first frame). */
  get levelDbfs(): number {
    return this.#levelDbfs;
  }

  /** Current noise-floor estimate (NaN before the first frame unless initialFloorDbfs is set). */
  get noiseFloorDbfs(): number {
    return this.#floorDbfs;
  }

  /** Forget everything, including the floor. */
  reset(): void {
    this.#voiced = false;
    this.#levelDbfs = NaN;
    this.#blockIndex = 0;
    this.#blockFrames = 0;
    this.#currentBlockMin = Infinity;
    this.#floorDbfs = NaN;
    if (this.options.initialFloorDbfs !== null) this.#seedFloor(this.options.initialFloorDbfs);
  }

  #seedFloor(dbfs: number): void {
    this.#floorDbfs = dbfs;
    this.#blockMins.fill(dbfs);
  }

  /** Push a level into the block-minimum ring and return the minimum over the window. */
  #trackWindowMin(level: number): number {
    if (level < this.#currentBlockMin) this.#currentBlockMin = level;
    let min = this.#currentBlockMin;
    const mins = this.#blockMins;
    for (let i = 0; i < mins.length; i++) if (mins[i]! < min) min = mins[i]!;
    if (++this.#blockFrames === this.#framesPerBlock) {
      mins[this.#blockIndex] = this.#currentBlockMin;
      this.#blockIndex = (this.#blockIndex + 1) % mins.length;
      this.#blockFrames = 0;
      this.#currentBlockMin = Infinity;
    }
    return min;
  }
}
