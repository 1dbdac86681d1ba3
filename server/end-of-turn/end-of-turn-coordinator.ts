// Deciding when the user's turn is over, for one microphone (batch path and Nova streaming). The turn
// detector marks a short pause; here the judge is asked (smart-turn, or the words heard so far), a
// speculative reply may start, and the detector is told how long a silence ends this utterance: at
// once when it sounds finished, up to maxSilenceMs when it does not, the user's learned silence when
// nobody knows. Speech coming back cancels all of it and teaches the adaptive silence.
// With Flux the model decides; assisting it, only words that read as finished start a held reply,
// and the utterance "ends" (the caller forces Flux's end of turn) after a longer silence.
// Pure wiring of pure parts; no Cloudflare imports.
import type { EndOfTurnSource } from "../../shared/protocol.ts";
import type { EndOfTurnConfig } from "../config.ts";
import type { TurnDetector, TurnEndEvent, TurnPauseEvent as PauseEvent } from "../turn-detection/turn-detector.ts";
import type { AdaptiveSilence } from "./adaptive-silence.ts";
import { fluxForceSilenceMs, silenceToEndMs, type Completeness } from "./end-of-turn-policy.ts";
import { judgeTranscript } from "./transcript-signal.ts";

export interface Judgment {
  verdict: Completeness;
  source: "smart-turn" | "transcript" | "none";
  probability?: number;
}

export interface EndOfTurnDeps {
  config: EndOfTurnConfig;
  detector: TurnDetector;
  adaptive: AdaptiveSilence;
  /** smart-turn on the utterance so far; rejects on a model error (the caller bills the call). */
  smartTurn(audio: Int16Array, signal: AbortSignal): Promise<{ complete: boolean; probability: number }>;
  /** The words heard so far in this utterance (streaming recognition), or null when not streaming. */
  liveText(): string | null;
  language(): string;
  /** Flux ends this microphone's turns and Parley may force the ones it is sure of (recognition.flux.forceEnd). */
  assistsFlux(): boolean;
  /** Start a reply now, held until the turn is confirmed (the pause's audio). */
  speculate(pause: PauseEvent): void;
  /** The user went on: throw the speculative reply away. */
  cancelSpeculation(): void;
  /** The judge decided the turn is over while its silence was already long enough. */
  endNow(event: TurnEndEvent): void;
}

export class EndOfTurnCoordinator {
  readonly #d: EndOfTurnDeps;
  #judging: AbortController | null = null;
  /** How the current utterance's end will have been decided (for the turn's metrics). */
  #decidedBy: EndOfTurnSource = "silence";
  /** Between a pause mark and the speech coming back (or the turn ending). */
  #paused = false;
  #pause: PauseEvent | null = null;

  constructor(deps: EndOfTurnDeps) {
    this.#d = deps;
    deps.detector.setSilenceMs(this.#learnedSilenceMs());
  }

  /** A short pause in the user's speech: judge it, and maybe start the reply early. */
  onPause(pause: PauseEvent): void {
    const { config } = this.#d;
    this.#paused = true;
    this.#pause = pause;
    this.#judging?.abort();
    this.#judging = null;
    if (this.#d.assistsFlux()) return this.#assistFlux();
    if (config.speculative) this.#d.speculate(pause);
    if (config.detector === "silence") return;
    const judging = new AbortController();
    this.#judging = judging;
    // While the judge thinks, only the longest silence may end the turn on its own: the answer
    // (or its timeout) decides, whatever silence went by meanwhile.
    this.#d.detector.setSilenceMs(config.maxSilenceMs);
    this.#judge(pause, judging.signal)
      .then((j) => {
        if (this.#judging !== judging || judging.signal.aborted) return;
        this.#judging = null;
        this.#apply(j);
      })
      // #judge turns a model's failure into "unknown"; what escapes is a bug, logged rather than dropped.
      .catch((err: unknown) => console.error("[parley] end of turn: applying the judgment threw", err));
  }

  /** Speech came back after a pause: the turn was not over. */
  onResume(pauseMs: number): void {
    this.#paused = false;
    this.#pause = null;
    this.#judging?.abort();
    this.#judging = null;
    this.#d.cancelSpeculation();
    if (this.#d.config.adaptive) this.#d.adaptive.observePause(pauseMs);
    this.#decidedBy = "silence";
    this.#d.detector.setSilenceMs(this.#learnedSilenceMs());
  }

  /** The utterance ended (any reason). Returns what decided it and gets ready for the next one. */
  onTurnEnd(event: TurnEndEvent): EndOfTurnSource {
    this.#paused = false;
    this.#pause = null;
    this.#judging?.abort();
    this.#judging = null;
    const by: EndOfTurnSource = event.reason === "commit" ? "commit" : event.reason === "max-length" ? "max-length" : this.#decidedBy;
    this.#decidedBy = "silence";
    this.#d.detector.setSilenceMs(this.#learnedSilenceMs());
    return by;
  }

  /**
   * The recognizer's words changed (an interim result, the Finalize answer). During a pause the
   * transcript signal judges again: a recognizer lagging behind the speech ("set a timer" before
   * "for" arrives) must not decide the turn on words it has not caught up with yet.
   */
  onWordsHeard(): void {
    if (!this.#paused) return;
    if (this.#d.assistsFlux()) this.#assistFlux();
    else if (this.#d.config.detector === "transcript") this.#apply(this.#judgeWords());
  }

  /** The user spoke again right after a turn this object ended early: it cut them off. */
  onCutOff(): void {
    if (this.#d.config.adaptive) this.#d.adaptive.observeCutOff();
    this.#d.detector.setSilenceMs(this.#learnedSilenceMs());
  }

  async #judge(pause: PauseEvent, signal: AbortSignal): Promise<Judgment> {
    const { config } = this.#d;
    if (config.detector === "transcript") return this.#judgeWords();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const slow = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), config.smartTurnTimeoutMs)));
      const answer = await Promise.race([this.#d.smartTurn(pause.audio, signal), slow]);
      // Too slow: plain silence endpointing decides (the answer, if it comes, is ignored).
      if (answer === null) return { verdict: "unknown", source: "none" };
      return { verdict: answer.complete ? "complete" : "incomplete", source: "smart-turn", probability: answer.probability };
    } catch (err) {
      if (!signal.aborted)
        console.warn(`[parley] smart-turn failed, falling back to silence endpointing: ${(err as Error)?.message ?? err}`);
      return { verdict: "unknown", source: "none" };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  #judgeWords(): Judgment {
    const text = this.#d.liveText();
    if (text === null) return { verdict: "unknown", source: "none" };
    return { verdict: judgeTranscript(text, this.#d.language()), source: "transcript" };
  }

  #apply(j: Judgment): void {
    const { config } = this.#d;
    const targetMs = silenceToEndMs(j.verdict, j.source, this.#learnedSilenceMs(), config);
    this.#decidedBy = j.source === "none" ? "silence" : j.source;
    this.#endAfter(targetMs);
  }

  /** This much silence ends the utterance; if it already lasted that long, now rather than on the next frame. */
  #endAfter(targetMs: number): void {
    const { detector } = this.#d;
    if (detector.silenceMs !== targetMs) detector.setSilenceMs(targetMs);
    // The silence so far, in audio: frames that arrived in a burst count as the time they cover.
    const ended = detector.trailingSilenceMs >= targetMs ? detector.endTurn() : null;
    if (ended) this.#d.endNow(ended);
  }

  /** Flux's words so far read as finished: hold a reply for them, and end the turn ourselves after a longer silence. */
  #assistFlux(): void {
    const { config, detector } = this.#d;
    const words = this.#judgeWords();
    const targetMs = fluxForceSilenceMs(words.verdict, this.#learnedSilenceMs(), config);
    if (targetMs === null) {
      // Unfinished or unknown: Flux decides (its own end of turn, or its eot_timeout_ms). The
      // utterance stays open so that words catching up can still be judged.
      this.#decidedBy = "silence";
      detector.setSilenceMs(config.maxSilenceMs);
      return;
    }
    this.#decidedBy = "transcript";
    if (config.speculative && this.#pause) this.#d.speculate(this.#pause);
    this.#endAfter(targetMs);
  }

  #learnedSilenceMs(): number {
    const { config, adaptive, detector } = this.#d;
    const learned = config.adaptive ? adaptive.silenceMs : detector.options.silenceMs;
    return Math.min(Math.max(learned, config.pauseMs + 20), config.maxSilenceMs);
  }
}
