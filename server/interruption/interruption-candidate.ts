// One barge-in candidate: speech heard over the reply (or while it is being prepared), decided
// before acting. Evidence arrives as it happens - how long the speech has lasted, partial and final
// transcripts (classified), the speech ending, time passing - and the first decisive piece settles
// it: `confirmed` (a real interruption) or `resumed` (a backchannel, the reply's own echo, a noise,
// or nothing confirmed in time). Pure: time is passed in, so every race is unit-tested directly.
import type { InterruptionReason } from "../../shared/protocol.ts";
import type { UtteranceClass } from "./utterance-classifier.ts";

export interface CandidateRules {
  minInterruptionMs: number;
  falseInterruptionTimeoutMs: number;
  /** However long the speech goes on, a candidate is decided by then (confirmed if it was speech, else resumed). */
  maxCandidateMs: number;
}

export interface CandidateDecision {
  decision: "confirmed" | "resumed";
  reason: InterruptionReason;
  transcript: string;
  /** Classification of the transcript that decided it, if one did. */
  heard: UtteranceClass | null;
}

export class InterruptionCandidate {
  readonly openedAt: number;
  readonly rules: CandidateRules;
  #speechMs = 0;
  #heard: UtteranceClass | null = null;
  #finalHeard = false;
  #sttUnavailable = false;
  #inFlight = 0;
  #finalsInFlight = 0;
  #utterances = 0;
  #lastActivityAt: number;
  #decision: CandidateDecision | null = null;

  constructor(rules: CandidateRules, openedAt: number) {
    this.rules = rules;
    this.openedAt = openedAt;
    this.#lastActivityAt = openedAt;
  }

  get decision(): CandidateDecision | null {
    return this.#decision;
  }

  get speechMs(): number {
    return this.#speechMs;
  }

  /** Transcriptions started and not answered yet. */
  get transcribing(): boolean {
    return this.#inFlight > 0;
  }

  /** The speech has gone on for `speechMs` (from the echo-aware detector, or the server's VAD while nothing plays). */
  speech(at: number, speechMs: number): CandidateDecision | null {
    if (this.#decision) return null;
    this.#speechMs = Math.max(this.#speechMs, speechMs);
    this.#lastActivityAt = Math.max(this.#lastActivityAt, at);
    return this.#settle();
  }

  /** Voiced audio was heard: the user is still talking, so the false-interruption clock waits. */
  activity(at: number): void {
    this.#lastActivityAt = Math.max(this.#lastActivityAt, at);
  }

  /** A (partial or final) transcription of the candidate's audio started. A final one covers a whole utterance. */
  transcriptionStarted(final: boolean): void {
    this.#inFlight++;
    if (final) {
      this.#finalsInFlight++;
      this.#utterances++;
    }
  }

  transcribed(at: number, heard: UtteranceClass, final: boolean): CandidateDecision | null {
    this.#answered(final);
    if (this.#decision) return null;
    this.#lastActivityAt = Math.max(this.#lastActivityAt, at);
    // A final transcript covers more audio than a partial one, so it wins; among partials, the newest.
    if (final) {
      this.#heard = heard;
      this.#finalHeard = true;
    } else if (!this.#finalHeard) {
      this.#heard = heard;
    }
    return this.#settle();
  }

  transcriptionFailed(at: number, final: boolean): CandidateDecision | null {
    this.#answered(final);
    if (this.#decision) return null;
    this.#sttUnavailable = true;
    this.#lastActivityAt = Math.max(this.#lastActivityAt, at);
    return this.#settle();
  }

  /**
   * The speech stopped. `captured`: the server collected an utterance for it (a final transcript
   * will follow). If nothing was captured and nothing is being transcribed, it was a click or a
   * breath too short to be speech: resume now rather than after the timeout.
   */
  ended(at: number, captured: boolean): CandidateDecision | null {
    if (this.#decision) return null;
    this.#lastActivityAt = Math.max(this.#lastActivityAt, at);
    if (!captured && this.#utterances === 0 && this.#inFlight === 0) return this.#decide("resumed", "noise");
    return null;
  }

  /** The speech was far quieter than the user's own voice: someone or something else (echo, a TV). */
  notTheUser(): CandidateDecision | null {
    if (this.#decision) return null;
    return this.#decide("resumed", "noise");
  }

  /** Time passing: nothing confirmed it within the false-interruption timeout (or the hard cap). */
  tick(now: number): CandidateDecision | null {
    if (this.#decision) return null;
    if (now - this.openedAt >= this.rules.maxCandidateMs) {
      return this.#speechMs >= this.rules.minInterruptionMs && this.#heard?.kind !== "echo" && this.#heard?.kind !== "backchannel"
        ? this.#decide("confirmed", "speech")
        : this.#decide("resumed", "timeout");
    }
    if (this.#inFlight > 0) return null; // a transcript is on its way: wait for it (its own deadline bounds it)
    if (now - this.#lastActivityAt >= this.rules.falseInterruptionTimeoutMs) return this.#decide("resumed", "timeout");
    return null;
  }

  #answered(final: boolean): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (final) this.#finalsInFlight = Math.max(0, this.#finalsInFlight - 1);
  }

  #settle(): CandidateDecision | null {
    const heard = this.#heard;
    const longEnough = this.#speechMs >= this.rules.minInterruptionMs;
    // While the speech goes on: it must have lasted long enough AND its words must take the turn.
    if (heard?.kind === "speech" && (longEnough || this.#finalHeard)) return this.#decide("confirmed", "words", heard);
    // Transcription is failing: the duration alone decides.
    if (this.#sttUnavailable && longEnough) return this.#decide("confirmed", "speech");
    // Every utterance has been transcribed and none takes the turn.
    if (this.#finalHeard && this.#finalsInFlight === 0) {
      if (heard)
        return this.#decide("resumed", heard.kind === "backchannel" ? "backchannel" : heard.kind === "echo" ? "echo" : "noise", heard);
      if (this.#sttUnavailable) return this.#decide("resumed", "noise");
    }
    if (this.#sttUnavailable && this.#finalsInFlight === 0 && this.#utterances > 0 && !longEnough) return this.#decide("resumed", "noise");
    return null;
  }

  #decide(
    decision: CandidateDecision["decision"],
    reason: InterruptionReason,
    heard: UtteranceClass | null = this.#heard,
  ): CandidateDecision {
    this.#decision = { decision, reason, transcript: heard?.text ?? "", heard };
    return this.#decision;
  }
}
