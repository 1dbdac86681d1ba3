// Runs the barge-in candidate of a session: opens it (the client paused playback, or the server's
// VAD heard speech while a reply was being prepared or played), feeds it evidence from the audio
// (speech duration, voiced frames), transcribes its audio early (partial) and when the speech ends
// (final), classifies each transcript against the backchannel list and the words being played, and
// hands the decision to the session. One candidate at a time. No Cloudflare imports: the session
// injects transcription, the played words and the clock, so the races are unit-tested directly.
import type { InterruptionOptions } from "../config.ts";
import type { PlaybackPosition } from "../turn/heard-text.ts";
import type { TurnHandle } from "../turn/turn-handle.ts";
import type { TranscriptionResult } from "../turn/transcription.ts";
import type { TurnDetector } from "../turn-detection/turn-detector.ts";
import { BackchannelMatcher } from "./backchannels.ts";
import { InterruptionCandidate, type CandidateDecision } from "./interruption-candidate.ts";
import { classifyUtterance, type UtteranceClass } from "./utterance-classifier.ts";

/** Speech the client did not pause for is probably echo: it takes fewer matching words to call it that. */
const UNHELD_ECHO_OVERLAP = 0.3;
/**
 * Partial transcriptions of one candidate running at once. A transcription takes a few hundred ms, so
 * a second one started while the first runs learns the words sooner once they are there.
 */
const MAX_PARTIALS_IN_FLIGHT = 2;
/** However long it goes on, a candidate is decided within this (the user talking over a paused reply for 20 s is an interruption). */
const MAX_CANDIDATE_MS = 20_000;

export interface OpenCandidate {
  readonly id: number;
  readonly turn: TurnHandle;
  readonly state: InterruptionCandidate;
  /** Who heard it first: the client's echo-aware detector (it paused playback) or the server's VAD. */
  readonly source: "client" | "server";
  /** Playback is held while it is decided (the client paused, or the server holds a reply not yet audible). */
  readonly holdsPlayback: boolean;
  /** The server's VAD measures how long the speech lasts (nothing audible, so no echo to mistake for it). */
  readonly durationFromServer: boolean;
  /** The connection whose microphone it came from. */
  readonly conn: string;
  /** Where the client paused playback. */
  heldAt: PlaybackPosition | null;
  /**
   * Speech the client did not pause for that is quieter than this (dBFS) is not the user: their own
   * voice is much louder at their microphone than the reply's echo or a TV across the room.
   */
  quietBelowDbfs: number | null;
  /** The server's VAD collected speech for it (a final transcript will follow when it ends). */
  captured: boolean;
  nextPartialMs: number;
  /** Partial transcriptions running (at most MAX_PARTIALS_IN_FLIGHT, staggered). */
  partialsInFlight: number;
  /** Utterances handed over whole and still being transcribed. */
  finalsInFlight: number;
  /** Partial transcriptions stop once it is decided; whole utterances only if it is discarded. */
  readonly partialAbort: AbortController;
  readonly abort: AbortController;
  /** Transcription spent on it, and by which engines (the stand-in names itself; Workers AI does not). */
  sttCalls: number;
  audioSeconds: number;
  readonly engines: Set<string>;
}

/** A final transcript that confirmed the interruption: it becomes the next turn, so it is not transcribed twice. */
export interface ConfirmingSpeech {
  result: TranscriptionResult;
  sttMs: number;
  endpointingMs: number;
  /** The utterance that was transcribed (16 kHz PCM16): the next turn's recording. */
  audio: Int16Array;
}

export interface BargeInDeps {
  rules: InterruptionOptions;
  /** Transcribe a candidate's audio; `kind` is passed on as a request tag. Rejects on failure or abort. */
  transcribe(audio: Int16Array, kind: "partial" | "final", signal: AbortSignal): Promise<TranscriptionResult>;
  /** The reply's words played around what the candidate heard (empty when nothing was audible). */
  playedText(candidate: OpenCandidate, audioMs: number): string;
  language(): string;
  now(): number;
  /** The candidate is decided (it is no longer open). */
  decided(candidate: OpenCandidate, decision: CandidateDecision, confirming: ConfirmingSpeech | null): void;
  /**
   * An utterance of a candidate that was confirmed while it was being transcribed: it is the next
   * turn (transcribed, or its audio when transcription failed).
   */
  lateUtterance(candidate: OpenCandidate, speech: ConfirmingSpeech | { audio: Int16Array; endpointingMs: number }): void;
}

export class BargeIn {
  readonly #deps: BargeInDeps;
  #open: OpenCandidate | null = null;
  #ids = 0;
  /** Phrase lists compiled once per language. */
  readonly #backchannels = new Map<string, BackchannelMatcher>();

  constructor(deps: BargeInDeps) {
    this.#deps = deps;
  }

  get candidate(): OpenCandidate | null {
    return this.#open;
  }

  open(init: {
    turn: TurnHandle;
    source: "client" | "server";
    holdsPlayback: boolean;
    durationFromServer: boolean;
    conn: string;
    heldAt: PlaybackPosition | null;
    captured: boolean;
    quietBelowDbfs?: number | null;
  }): OpenCandidate {
    this.discard();
    const { rules } = this.#deps;
    const c: OpenCandidate = {
      ...init,
      quietBelowDbfs: init.quietBelowDbfs ?? null,
      id: ++this.#ids,
      state: new InterruptionCandidate(
        {
          minInterruptionMs: rules.minInterruptionMs,
          falseInterruptionTimeoutMs: rules.falseInterruptionTimeoutMs,
          maxCandidateMs: MAX_CANDIDATE_MS,
        },
        this.#deps.now(),
      ),
      nextPartialMs: rules.partialTranscriptMs,
      partialsInFlight: 0,
      finalsInFlight: 0,
      partialAbort: new AbortController(),
      abort: new AbortController(),
      sttCalls: 0,
      audioSeconds: 0,
      engines: new Set(),
    };
    this.#open = c;
    return c;
  }

  /** Forget the open candidate without a decision (its turn ended another way); stops its transcriptions. */
  discard(): OpenCandidate | null {
    const c = this.#open;
    this.#open = null;
    c?.abort.abort();
    return c;
  }

  /** After each audio frame of `conn`: the speech goes on (or not); transcribe early when it is time. */
  onAudio(conn: string, detector: TurnDetector): void {
    const c = this.#open;
    if (!c || c.conn !== conn) return;
    const now = this.#deps.now();
    if (detector.lastFrameVoiced) c.state.activity(now);
    if (detector.inSpeech) c.captured = true;
    if (c.durationFromServer && detector.inSpeech && this.#settle(c, c.state.speech(now, detector.speechMs), null)) return;
    if (c.holdsPlayback && c.partialsInFlight < MAX_PARTIALS_IN_FLIGHT && detector.inSpeech && detector.speechMs >= c.nextPartialMs) {
      const audio = detector.snapshot();
      if (audio) this.#partial(c, audio, detector.speechMs);
    }
  }

  /** The client's detector says the speech has lasted `speechMs`. */
  onClientSpeech(speechMs: number): void {
    const c = this.#open;
    if (c) this.#settle(c, c.state.speech(this.#deps.now(), speechMs), null);
  }

  /** The client's detector heard the speech stop. `serverBusy`: the server's VAD is still collecting something. */
  onClientEnded(serverBusy: boolean): void {
    const c = this.#open;
    if (c) this.#settle(c, c.state.ended(this.#deps.now(), c.captured || serverBusy), null);
  }

  /** The server's VAD ended an utterance that belongs to the open candidate: transcribe it whole. */
  onUtteranceEnd(conn: string, audio: Int16Array, endpointingMs: number, levelDbfs: number): boolean {
    const c = this.#open;
    if (!c || c.conn !== conn) return false;
    c.captured = true;
    if (!c.holdsPlayback && c.quietBelowDbfs !== null && levelDbfs < c.quietBelowDbfs) {
      this.#settle(c, c.state.notTheUser(), null);
      return true;
    }
    c.finalsInFlight++;
    c.state.transcriptionStarted(true);
    const started = this.#deps.now();
    this.#transcribe(c, audio, "final", c.abort.signal).then(
      (result) => {
        c.finalsInFlight--;
        const speech = { result, sttMs: this.#deps.now() - started, endpointingMs, audio };
        if (this.#confirmedEarlier(c)) return this.#deps.lateUtterance(c, speech);
        const heard = this.#classify(c, result.text, audio.length / 16);
        this.#settle(c, c.state.transcribed(this.#deps.now(), heard, true), speech);
      },
      () => {
        c.finalsInFlight--;
        if (c.abort.signal.aborted) return;
        if (this.#confirmedEarlier(c)) return this.#deps.lateUtterance(c, { audio, endpointingMs });
        this.#settle(c, c.state.transcriptionFailed(this.#deps.now(), true), null);
      },
    );
    return true;
  }

  /** Decided as a real interruption (by other evidence) while this utterance was being transcribed. */
  #confirmedEarlier(c: OpenCandidate): boolean {
    return this.#open !== c && c.state.decision?.decision === "confirmed" && !c.abort.signal.aborted;
  }

  /** Time passing (the session ticks while a candidate is open). */
  tick(): void {
    const c = this.#open;
    if (c) this.#settle(c, c.state.tick(this.#deps.now()), null);
  }

  #partial(c: OpenCandidate, audio: Int16Array, speechMs: number): void {
    c.partialsInFlight++;
    c.nextPartialMs = speechMs + this.#deps.rules.partialEveryMs;
    c.state.transcriptionStarted(false);
    this.#transcribe(c, audio, "partial", AbortSignal.any([c.partialAbort.signal, c.abort.signal])).then(
      (result) => {
        c.partialsInFlight--;
        this.#settle(c, c.state.transcribed(this.#deps.now(), this.#classify(c, result.text, audio.length / 16, true), false), null);
      },
      () => {
        c.partialsInFlight--;
        this.#settle(c, c.state.transcriptionFailed(this.#deps.now(), false), null);
      },
    );
  }

  async #transcribe(c: OpenCandidate, audio: Int16Array, kind: "partial" | "final", signal: AbortSignal): Promise<TranscriptionResult> {
    c.sttCalls++;
    c.audioSeconds += audio.length / 16_000;
    const result = await this.#deps.transcribe(audio, kind, signal);
    if (result.engine) c.engines.add(result.engine);
    return result;
  }

  #classify(c: OpenCandidate, text: string, audioMs: number, partial = false): UtteranceClass {
    const { rules } = this.#deps;
    return classifyUtterance(text, {
      partial,
      backchannels: this.#backchannelsFor(this.#deps.language()),
      playedText: this.#deps.playedText(c, audioMs),
      minWords: rules.minInterruptionWords,
      echoWordOverlap: c.holdsPlayback ? rules.echoWordOverlap : UNHELD_ECHO_OVERLAP,
    });
  }

  #backchannelsFor(language: string): BackchannelMatcher {
    let m = this.#backchannels.get(language);
    if (!m) {
      m = BackchannelMatcher.forLanguage(this.#deps.rules.backchannels, language);
      this.#backchannels.set(language, m);
    }
    return m;
  }

  /** Hand a decision over, once, and only for the candidate still open. */
  #settle(c: OpenCandidate, decision: CandidateDecision | null, confirming: ConfirmingSpeech | null): boolean {
    if (!decision || this.#open !== c) return false;
    this.#open = null;
    // Partial transcriptions still running are of no use now (whole utterances still are: see lateUtterance).
    c.partialAbort.abort();
    this.#deps.decided(c, decision, decision.decision === "confirmed" ? confirming : null);
    return true;
  }
}
