// Streaming recognizers of the benchmark fakes: Deepgram Flux (turns decided by the "model") and Nova-3
// live (interim and final results, Finalize), answering `run(model, inputs, { websocket: true })` on
// the test fake's RpcTarget socket (test/fake-ai/fake-model-socket.ts).
//
// Everything is decided on the audio received, in audio time: a frame is voiced by the server's own
// energy VAD (server/turn-detection/vad.ts), so the fake's "end of speech" is the frame the Durable
// Object's detector calls the last voiced one. A decision taken at a point in the audio is then delivered
// after a wall-clock delay (the DO <-> AI round trip: the audio travelled there, the event travels back),
// minus whatever of the decision's moment fell inside the frame that revealed it.
import { EnergyVad } from "../../server/turn-detection/vad.ts";
import { FRAME_MS, FakeModelSocket, type AudioSoFar, type Emit, type LiveBrain } from "../../test/fake-ai/fake-model-socket.ts";

export interface FluxTurnTiming {
  /** Silence after the end of speech (ms of audio) at which EndOfTurn is decided. */
  endOfTurnMs: number;
  /** ...and EagerEndOfTurn (only sent when the socket was opened with eager_eot_threshold). */
  eagerMs: number;
}

export interface FluxFakeOptions {
  /** Drawn at each StartOfTurn: when this turn's end will be decided. */
  nextTurn(): FluxTurnTiming;
  /** The turn's transcript after `voicedMs` of its speech and `silenceMs` of silence since (Update), or all of it (`final`: eager / end of turn). */
  transcript(voicedMs: number, final: boolean, silenceMs: number): string;
  /** Wall-clock delay added to every event (DO <-> AI round trip). */
  eventDelayMs: number;
  /** Update events every this many ms of audio while a turn is open. */
  updateEveryMs: number;
}

/** What a Nova-3 socket hears, by position in its audio (samples from the socket's first sample). */
export interface NovaWords {
  /** Speech began after a silence: refresh what is known about the words (e.g. ask the benchmark's oracle). */
  onSpeech?(): void;
  /** Interim text of the segment that began at `segmentStart`, as known with the audio up to `pos`. */
  interim(segmentStart: number, pos: number, audio: AudioSoFar): string;
  /** Final text of the segment [segmentStart, pos). */
  final(segmentStart: number, pos: number, audio: AudioSoFar): string;
}

export interface NovaFakeOptions {
  words: NovaWords;
  eventDelayMs: number;
  /** Finalize -> the final result, before the round trip. */
  finalizeMs: number;
}

/** Flux: StartOfTurn -> Update ... -> [EagerEndOfTurn -> (TurnResumed -> Update ...)] -> EndOfTurn. */
class FluxBrain implements LiveBrain {
  #inTurn = false;
  #eagerSent = false;
  #silenceMs = 0;
  #voicedMs = 0;
  #sinceUpdateMs = 0;
  #turnIndex = 0;
  #timing: FluxTurnTiming = { endOfTurnMs: 0, eagerMs: 0 };
  readonly #o: FluxFakeOptions;
  readonly #eager: boolean;
  readonly #timeoutMs: number;
  readonly #emit: Emit;

  constructor(o: FluxFakeOptions, inputs: Record<string, unknown>, emit: Emit) {
    this.#o = o;
    this.#eager = inputs.eager_eot_threshold !== undefined;
    const timeout = Number(inputs.eot_timeout_ms);
    this.#timeoutMs = Number.isFinite(timeout) && timeout > 0 ? timeout : 5000;
    this.#emit = emit;
  }

  #event(event: string, final: boolean, lateMs = 0): void {
    const transcript = this.#o.transcript(this.#voicedMs, final, this.#silenceMs);
    this.#emit(
      {
        type: "TurnInfo",
        event,
        turn_index: this.#turnIndex,
        audio_window_start: 0,
        audio_window_end: 0,
        transcript,
        words: [],
        end_of_turn_confidence: final ? 0.9 : 0.2,
      },
      Math.max(0, this.#o.eventDelayMs - lateMs),
    );
  }

  frame(voiced: boolean): void {
    if (voiced) {
      if (!this.#inTurn) {
        this.#inTurn = true;
        this.#voicedMs = 0;
        this.#sinceUpdateMs = 0;
        const t = this.#o.nextTurn();
        this.#timing = {
          endOfTurnMs: Math.min(t.endOfTurnMs, this.#timeoutMs),
          eagerMs: Math.min(t.eagerMs, t.endOfTurnMs, this.#timeoutMs),
        };
        this.#event("StartOfTurn", false);
      } else if (this.#eagerSent) {
        this.#eagerSent = false;
        this.#event("TurnResumed", false);
      }
      this.#voicedMs += FRAME_MS;
      this.#silenceMs = 0;
    } else if (this.#inTurn) {
      this.#silenceMs += FRAME_MS;
      const s = this.#silenceMs;
      if (this.#eager && !this.#eagerSent && s >= this.#timing.eagerMs) {
        this.#eagerSent = true;
        this.#event("EagerEndOfTurn", true, s - this.#timing.eagerMs);
      }
      if (s >= this.#timing.endOfTurnMs) return this.#endOfTurn(s - this.#timing.endOfTurnMs);
    }
    if (this.#inTurn) {
      this.#sinceUpdateMs += FRAME_MS;
      if (this.#sinceUpdateMs >= this.#o.updateEveryMs) {
        this.#sinceUpdateMs = 0;
        this.#event("Update", false);
      }
    }
  }

  /** ForceEndTurn: EndOfTurn on the words so far, after the round trip; ignored with no turn in progress. */
  control(message: { type?: string }): void {
    if (message.type === "ForceEndTurn" && this.#inTurn) this.#endOfTurn(0);
  }

  #endOfTurn(lateMs: number): void {
    this.#event("EndOfTurn", true, lateMs);
    this.#inTurn = false;
    this.#eagerSent = false;
    this.#turnIndex++;
  }
}

/** Nova-3 live: interim results as words become known; a final (from_finalize) on Finalize. */
class NovaBrain implements LiveBrain {
  #segmentStart = 0;
  #interim = "";
  #speaking = false;
  readonly #o: NovaFakeOptions;
  readonly #emit: Emit;

  constructor(o: NovaFakeOptions, emit: Emit) {
    this.#o = o;
    this.#emit = emit;
  }

  #results(text: string, audio: AudioSoFar, isFinal: boolean, fromFinalize: boolean, delayMs: number): void {
    this.#emit(
      {
        type: "Results",
        channel_index: [0, 1],
        start: this.#segmentStart / 16_000,
        duration: (audio.pos - this.#segmentStart) / 16_000,
        is_final: isFinal,
        speech_final: false,
        ...(fromFinalize ? { from_finalize: true } : {}),
        channel: { alternatives: [{ transcript: text, confidence: 0.9, words: [] }] },
      },
      delayMs,
    );
  }

  frame(voiced: boolean, audio: AudioSoFar): void {
    if (voiced && !this.#speaking) {
      this.#speaking = true;
      this.#o.words.onSpeech?.();
      this.#emit({ type: "SpeechStarted", channel: [0], timestamp: audio.pos / 16_000 }, this.#o.eventDelayMs);
    } else if (!voiced && audio.trailingSilenceMs >= 1000) this.#speaking = false;
    const text = this.#o.words.interim(this.#segmentStart, audio.pos, audio);
    if (text !== this.#interim && text !== "") {
      this.#interim = text;
      this.#results(text, audio, false, false, this.#o.eventDelayMs);
    }
  }

  control(message: { type?: string }, audio: AudioSoFar): void {
    if (message.type !== "Finalize") return;
    const text = this.#o.words.final(this.#segmentStart, audio.pos, audio);
    this.#results(text, audio, true, true, this.#o.finalizeMs + this.#o.eventDelayMs);
    this.#segmentStart = audio.pos;
    this.#interim = "";
  }
}

/** A fake Flux or Nova-3 socket (the socket plumbing is the test fake's, test/fake-ai/fake-model-socket.ts). */
export function fakeLiveSocket(
  model: string,
  inputs: Record<string, unknown>,
  o: { flux?: FluxFakeOptions; nova?: NovaFakeOptions },
): FakeModelSocket {
  const flux = model.includes("flux");
  if (flux ? !o.flux : !o.nova) throw new Error(`5007: ${model} is not faked here`);
  const vad = new EnergyVad();
  return new FakeModelSocket({
    brain: (emit) => (flux ? new FluxBrain(o.flux!, inputs, emit) : new NovaBrain(o.nova!, emit)),
    isVoiced: (pcm, at) => vad.process(pcm, at),
  });
}
