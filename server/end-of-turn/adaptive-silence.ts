// The silence to wait when nothing better is known, learned per user from their own pauses: a
// slow speaker who stops 700 ms mid-sentence should not be cut off at 500, a brisk one should not
// wait 500 for nothing. Pure; the session keeps its state in SQLite so a returning user starts tuned.
//
// Only pauses the user went on after are observed, and only those between the pause mark and the
// silence in force (longer ones ended the turn): the estimate is biased low, which observeCutOff()
// corrects when the user comes back right after a turn ended.
import { z } from "zod";
import { withDefaults } from "../../shared/options.ts";

export interface AdaptiveSilenceOptions {
  /** Least learned silence (ms), default 300. */
  minMs: number;
  /** Most learned silence (ms), default 1500. */
  maxMs: number;
  /** The silence before any pause has been observed (ms), default 500 (the session passes turnDetection.silenceMs). */
  initialMs: number;
  /** Added to the pause quantile: waiting exactly as long as the user's long pauses would still cut some (ms), default 150. */
  marginMs: number;
  /** Pauses remembered (newest kept), default 20. */
  window: number;
  /** Which quantile of the remembered pauses the user's "long pause" is (0..1), default 0.9. */
  quantile: number;
  /** Until this many pauses are known, the silence may rise above initialMs but not fall below it; default 3. */
  minObservations: number;
  /** Added by each cut-off; one step fades over `window` observed pauses (ms), default 150. */
  cutOffStepMs: number;
}

export const DEFAULT_ADAPTIVE_SILENCE: Readonly<AdaptiveSilenceOptions> = Object.freeze({
  minMs: 300,
  maxMs: 1500,
  initialMs: 500,
  marginMs: 150,
  window: 20,
  quantile: 0.9,
  minObservations: 3,
  cutOffStepMs: 150,
});

/** Longer "pauses" are the user leaving, a stuck stream or a bug, not how they talk. */
export const MAX_OBSERVED_PAUSE_MS = 10_000;

const State = z.object({
  version: z.literal(1),
  pausesMs: z.array(z.number()),
  cutOffBumpMs: z.number().finite().min(0),
});
export type AdaptiveSilenceState = z.infer<typeof State>;

const plausiblePause = (ms: number): boolean => Number.isFinite(ms) && ms > 0 && ms <= MAX_OBSERVED_PAUSE_MS;

export class AdaptiveSilence {
  readonly options: Readonly<AdaptiveSilenceOptions>;
  #pausesMs: number[] = []; // oldest first
  #cutOffBumpMs = 0;

  constructor(options: Partial<AdaptiveSilenceOptions> = {}) {
    const o = withDefaults(DEFAULT_ADAPTIVE_SILENCE, options);
    for (const [k, v] of Object.entries(o)) {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
        throw new RangeError(`adaptive silence ${k} must be a non-negative number, got ${v}`);
    }
    if (o.minMs > o.maxMs) throw new RangeError(`adaptive silence minMs (${o.minMs}) is above maxMs (${o.maxMs})`);
    if (o.quantile > 1) throw new RangeError(`adaptive silence quantile must be within 0..1, got ${o.quantile}`);
    if (o.window < 1 || !Number.isInteger(o.window))
      throw new RangeError(`adaptive silence window must be a whole number ≥ 1, got ${o.window}`);
    this.options = o;
  }

  /** A state from toJSON() (e.g. stored in SQLite); anything unreadable starts fresh. */
  static restore(state: unknown, options: Partial<AdaptiveSilenceOptions> = {}): AdaptiveSilence {
    const s = new AdaptiveSilence(options);
    const parsed = State.safeParse(state);
    if (!parsed.success) return s;
    s.#pausesMs = parsed.data.pausesMs.filter(plausiblePause).slice(-s.options.window);
    s.#cutOffBumpMs = Math.min(parsed.data.cutOffBumpMs, s.#maxBumpMs());
    return s;
  }

  /**
   * The silence to wait now: the 90th percentile of the last 20 pauses plus a margin. A quantile
   * over a window, rather than an average, because what matters is the user's long pauses, and a
   * window forgets old habits and a single odd gap at a known rate.
   */
  get silenceMs(): number {
    const o = this.options;
    let base = o.initialMs;
    if (this.#pausesMs.length > 0) {
      const learned = quantile(this.#pausesMs, o.quantile) + o.marginMs;
      // A few short pauses are not yet evidence that the user is brisk; a few long ones are enough to wait longer.
      base = this.#pausesMs.length < o.minObservations ? Math.max(o.initialMs, learned) : learned;
    }
    return Math.round(Math.min(o.maxMs, Math.max(o.minMs, base + this.#cutOffBumpMs)));
  }

  /** How many pauses are remembered. */
  get observations(): number {
    return this.#pausesMs.length;
  }

  /** A gap inside an utterance after which the user went on. Returns false (and ignores it) when implausible. */
  observePause(pauseMs: number): boolean {
    if (!plausiblePause(pauseMs)) return false;
    this.#pausesMs.push(pauseMs);
    if (this.#pausesMs.length > this.options.window) this.#pausesMs.shift();
    this.#cutOffBumpMs = Math.max(0, this.#cutOffBumpMs - this.options.cutOffStepMs / this.options.window);
    return true;
  }

  /** The user started again right after a turn ended early: they had not finished. Waits longer from now on. */
  observeCutOff(): void {
    this.#cutOffBumpMs = Math.min(this.#cutOffBumpMs + this.options.cutOffStepMs, this.#maxBumpMs());
  }

  toJSON(): AdaptiveSilenceState {
    return { version: 1, pausesMs: [...this.#pausesMs], cutOffBumpMs: this.#cutOffBumpMs };
  }

  // More would only take longer to fade: the silence is capped at maxMs anyway.
  #maxBumpMs(): number {
    return this.options.maxMs - this.options.minMs;
  }
}

/** Linear-interpolated quantile (q in 0..1) of a non-empty list. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}
