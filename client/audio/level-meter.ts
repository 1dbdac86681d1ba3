// Input level meter: per-frame RMS -> smoothed 0..1 display level (fast attack, slow release).
// Pure: no DOM.
import { linearToDbfs } from "../../shared/audio/pcm.ts";
import { withDefaults } from "../../shared/options.ts";

/** The client's level for silence: far below the echo guard's "nothing plays" cut-off (-120 dBFS). */
export const MIC_SILENCE_DBFS = -200;

export interface LevelMeterOptions {
  /** Level shown as empty (dBFS), default -60. */
  floorDb: number;
  /** Level shown as full (dBFS), default -6. */
  ceilingDb: number;
  /** Time constant of the level rising toward a louder frame (ms), default 15. */
  attackMs: number;
  /** Time constant of the level falling toward a quieter frame (ms), default 250. */
  releaseMs: number;
}

export const DEFAULT_LEVEL_METER: Readonly<LevelMeterOptions> = Object.freeze({
  floorDb: -60,
  ceilingDb: -6,
  attackMs: 15,
  releaseMs: 250,
});

export class LevelMeter {
  private readonly floorDb: number;
  private readonly ceilingDb: number;
  private readonly attackMs: number;
  private readonly releaseMs: number;
  private db: number;
  private peakHoldDb: number;
  private peakAgeMs = 0;

  constructor(options: Partial<LevelMeterOptions> = {}) {
    const o = withDefaults(DEFAULT_LEVEL_METER, options);
    this.floorDb = o.floorDb;
    this.ceilingDb = o.ceilingDb;
    this.attackMs = o.attackMs;
    this.releaseMs = o.releaseMs;
    this.db = this.floorDb;
    this.peakHoldDb = this.floorDb;
  }

  /** Feed one frame's RMS (linear) lasting `frameMs`; returns the display level 0..1. */
  update(rms: number, frameMs: number): number {
    const target = Math.max(this.floorDb, linearToDbfs(rms, MIC_SILENCE_DBFS));
    const tau = target > this.db ? this.attackMs : this.releaseMs;
    const a = 1 - Math.exp(-frameMs / tau);
    this.db += (target - this.db) * a;
    this.peakAgeMs += frameMs;
    if (this.db >= this.peakHoldDb || this.peakAgeMs > 1000) {
      this.peakHoldDb = this.db;
      this.peakAgeMs = 0;
    }
    return this.level;
  }

  /** Smoothed level in dBFS. */
  get levelDb(): number {
    return this.db;
  }

  /** Smoothed level mapped to 0..1. */
  get level(): number {
    return this.map(this.db);
  }

  /** Recent peak (held for 1 s), 0..1. */
  get peak(): number {
    return this.map(this.peakHoldDb);
  }

  reset(): void {
    this.db = this.floorDb;
    this.peakHoldDb = this.floorDb;
    this.peakAgeMs = 0;
  }

  private map(db: number): number {
    const x = (db - this.floorDb) / (this.ceilingDb - this.floorDb);
    return x < 0 ? 0 : x > 1 ? 1 : x;
  }
}
