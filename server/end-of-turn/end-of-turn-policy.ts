// At the pause mark, what is known about the utterance decides how much total silence ends it.
// Pure. A result at or below the silence already waited (the pause mark) means "end the turn now".

export type Completeness = "complete" | "incomplete" | "unknown";
/** Who judged: the smart-turn model, the words of a partial transcript, or nobody (no judge, an error, too slow). */
export type VerdictSource = "smart-turn" | "transcript" | "none";

/** The timings of the end-of-turn decision; the session's full group (judge, model, switches) is EndOfTurnConfig in server/config.ts, which extends this one and holds the defaults. */
export interface EndOfTurnOptions {
  /** When the judge is asked and a speculative reply starts: this much silence after speech (ms), default 200 (SMART_TURN_PAUSE_MS; WORDS_PAUSE_MS when words are judged). */
  pauseMs: number;
  /** Total silence that ends a turn judged complete (ms), default pauseMs. */
  completeSilenceMs: number;
  /** Longest wait, for an utterance judged unfinished (someone thinking mid-sentence), and the cap on every other wait (ms), default 1800. */
  maxSilenceMs: number;
  /** Smart-turn probability at or above which the utterance is complete (0..1), default 0.5. */
  smartTurnThreshold: number;
  /** A smart-turn answer later than this is ignored: the learned silence decides (ms), default 400. */
  smartTurnTimeoutMs: number;
}

/** A transcript that reads as complete shortens the wait to at most this: words miss intonation, so never all the way to the mark. */
export const TRANSCRIPT_COMPLETE_MAX_SILENCE_MS = 400;

/**
 * Flux, assisted: the least silence after which Parley ends a turn whose words read as finished but
 * that Flux has not ended yet. Longer than the transcript path's 400 ms: Flux hears intonation and is
 * the better judge of the ambiguous endings; Parley only cuts its slow tail short.
 */
export const FLUX_FORCE_MIN_SILENCE_MS = 600;

/** Flux, assisted: total silence after which Parley forces the end of turn, or null to leave the turn to Flux. */
export function fluxForceSilenceMs(
  verdict: Completeness,
  learnedSilenceMs: number,
  o: Pick<EndOfTurnOptions, "maxSilenceMs">,
): number | null {
  if (verdict !== "complete") return null;
  const learned = Number.isFinite(learnedSilenceMs) ? learnedSilenceMs : o.maxSilenceMs;
  return Math.min(o.maxSilenceMs, Math.max(FLUX_FORCE_MIN_SILENCE_MS, learned));
}

/** Total silence (ms after the last speech) that should end this utterance, within [pauseMs, maxSilenceMs]. */
export function silenceToEndMs(verdict: Completeness, source: VerdictSource, learnedSilenceMs: number, o: EndOfTurnOptions): number {
  // A broken estimate must not cut anyone off: wait the longest.
  const learned = Number.isFinite(learnedSilenceMs) ? learnedSilenceMs : o.maxSilenceMs;
  let ms: number;
  if (source === "none" || verdict === "unknown") ms = learned;
  else if (verdict === "incomplete") ms = o.maxSilenceMs;
  else if (source === "smart-turn") ms = o.completeSilenceMs;
  else ms = Math.max(o.completeSilenceMs, Math.min(learned, TRANSCRIPT_COMPLETE_MAX_SILENCE_MS));
  return Math.min(o.maxSilenceMs, Math.max(o.pauseMs, ms));
}

/** Throws a RangeError naming the first option that makes no sense. */
export function validateEndOfTurnOptions(o: EndOfTurnOptions): void {
  for (const k of ["pauseMs", "completeSilenceMs", "maxSilenceMs", "smartTurnTimeoutMs"] as const) {
    if (!Number.isFinite(o[k]) || o[k] <= 0) throw new RangeError(`end of turn ${k} must be a positive number of ms, got ${o[k]}`);
  }
  if (!(o.smartTurnThreshold >= 0 && o.smartTurnThreshold <= 1)) {
    throw new RangeError(`end of turn smartTurnThreshold must be within 0..1, got ${o.smartTurnThreshold}`);
  }
  if (o.maxSilenceMs < o.pauseMs) throw new RangeError(`end of turn maxSilenceMs (${o.maxSilenceMs}) is below pauseMs (${o.pauseMs})`);
}
