// Streaming recognizers of the benchmark fakes: Deepgram Flux (turns decided by the "model") and Nova-3
// live (interim and final results, Finalize), answering `run(model, inputs, { websocket: true })`. A
// WebSocket cannot cross JS RPC, so, like the test fake (test/fake-ai/live-sockets.ts) and the offline
// stand-in, they answer with an RpcTarget socket: listen(onMessage, onClose) / send / close, the contract
// server/models/model-socket.ts adopts.
//
// Everything is decided on the audio received, in audio time: a frame is voiced by the server's own
// energy VAD (server/turn-detection/vad.ts), so the fake's "end of speech" is the frame the Durable
// Object's detector calls the last voiced one. A decision taken at a point in the audio is then delivered
// after a wall-clock delay (the DO <-> AI round trip: the audio travelled there, the event travels back),
// minus whatever of the decision's moment fell inside the frame that revealed it.
import { RpcTarget } from "cloudflare:workers";
import { EnergyVad } from "../../server/turn-detection/vad.ts";

const FRAME = 320;
const FRAME_MS = 20;

export interface FluxTurnTiming {
  /** Silence after the end of speech (ms of audio) at which EndOfTurn is decided. */
  endOfTurnMs: number;
  /** ...and EagerEndOfTurn (only sent when the socket was opened with eager_eot_threshold). */
  eagerMs: number;
}

export interface FluxFakeOptions {
  /** Drawn at each StartOfTurn: when this turn's end will be decided. */
  nextTurn(): FluxTurnTiming;
  /** The turn's transcript after `voicedMs` of its speech (Update), or all of it (`final`: eager / end of turn). */
  transcript(voicedMs: number, final: boolean): string;
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

/** What a socket knows about its audio so far. */
export interface AudioSoFar {
  /** Samples received. */
  pos: number;
  /** Voiced ms since `from` (samples). */
  voicedMsSince(from: number): number;
  /** Unvoiced ms at the end of the audio (0 right after a voiced frame). */
  trailingSilenceMs: number;
}

type Emit = (message: Record<string, unknown>, delayMs: number) => void;

interface Brain {
  frame(voiced: boolean, audio: AudioSoFar): void;
  control(message: { type?: string }, audio: AudioSoFar): void;
}

/** Flux: StartOfTurn -> Update ... -> [EagerEndOfTurn -> (TurnResumed -> Update ...)] -> EndOfTurn. */
class FluxBrain implements Brain {
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
    const transcript = this.#o.transcript(this.#voicedMs, final);
    this.#emit(
      { type: "TurnInfo", event, turn_index: this.#turnIndex, audio_window_start: 0, audio_window_end: 0, transcript, words: [], end_of_turn_confidence: final ? 0.9 : 0.2 },
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
        this.#timing = { endOfTurnMs: Math.min(t.endOfTurnMs, this.#timeoutMs), eagerMs: Math.min(t.eagerMs, t.endOfTurnMs, this.#timeoutMs) };
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
      if (s >= this.#timing.endOfTurnMs) {
        this.#event("EndOfTurn", true, s - this.#timing.endOfTurnMs);
        this.#inTurn = false;
        this.#eagerSent = false;
        this.#turnIndex++;
        return;
      }
    }
    if (this.#inTurn) {
      this.#sinceUpdateMs += FRAME_MS;
      if (this.#sinceUpdateMs >= this.#o.updateEveryMs) {
        this.#sinceUpdateMs = 0;
        this.#event("Update", false);
      }
    }
  }

  control(): void {}
}

/** Nova-3 live: interim results as words become known; a final (from_finalize) on Finalize. */
class NovaBrain implements Brain {
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

export class FakeLiveSocket extends RpcTarget {
  #onMessage: ((data: string) => unknown) | null = null;
  #onClose: ((code: number, reason: string) => unknown) | null = null;
  #closed = false;
  #pending = new Int16Array(0);
  #chain: Promise<void> = Promise.resolve();
  #lastDue = 0;
  readonly #brain: Brain;
  readonly #vad = new EnergyVad();
  /** Per received frame: voiced? (for voicedMsSince). */
  readonly #voiced: boolean[] = [];
  #trailingSilenceMs = 0;

  constructor(model: string, inputs: Record<string, unknown>, o: { flux?: FluxFakeOptions; nova?: NovaFakeOptions }) {
    super();
    const emit: Emit = (m, delayMs) => this.#emit(m, delayMs);
    if (model.includes("flux")) {
      if (!o.flux) throw new Error(`5007: ${model} is not faked here`);
      this.#brain = new FluxBrain(o.flux, inputs, emit);
    } else {
      if (!o.nova) throw new Error(`5007: ${model} is not faked here`);
      this.#brain = new NovaBrain(o.nova, emit);
    }
  }

  listen(onMessage: (data: string) => unknown, onClose: (code: number, reason: string) => unknown): void {
    const dup = <T,>(f: T): T => ((f as { dup?: () => T }).dup ? (f as { dup: () => T }).dup() : f);
    this.#onMessage = dup(onMessage);
    this.#onClose = dup(onClose);
  }

  send(data: Uint8Array | string): void {
    if (this.#closed) return;
    if (typeof data === "string") {
      let message: { type?: string } = {};
      try {
        message = JSON.parse(data) as { type?: string };
      } catch {
        return;
      }
      this.#brain.control(message, this.#audio());
      return;
    }
    const bytes = data.byteLength - (data.byteLength % 2);
    const incoming = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + bytes));
    const all = new Int16Array(this.#pending.length + incoming.length);
    all.set(this.#pending);
    all.set(incoming, this.#pending.length);
    let at = 0;
    for (; at + FRAME <= all.length; at += FRAME) {
      const voiced = this.#vad.process(all, at);
      this.#voiced.push(voiced);
      this.#trailingSilenceMs = voiced ? 0 : this.#trailingSilenceMs + FRAME_MS;
      this.#brain.frame(voiced, this.#audio());
      if (this.#closed) return;
    }
    this.#pending = all.slice(at);
  }

  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    this.#closed = true;
    void code;
    void reason;
  }

  #audio(): AudioSoFar {
    const voiced = this.#voiced;
    return {
      pos: voiced.length * FRAME,
      trailingSilenceMs: this.#trailingSilenceMs,
      voicedMsSince(from: number): number {
        let n = 0;
        for (let f = Math.max(0, Math.floor(from / FRAME)); f < voiced.length; f++) if (voiced[f]) n++;
        return n * FRAME_MS;
      },
    };
  }

  /** Deliver in order, each no earlier than `delayMs` from now. */
  #emit(message: Record<string, unknown>, delayMs: number): void {
    if (this.#closed) return;
    const text = JSON.stringify(message);
    const due = Math.max(this.#lastDue, Date.now() + delayMs);
    this.#lastDue = due;
    this.#chain = this.#chain
      .then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (!this.#closed) await this.#onMessage?.(text);
      })
      .catch(() => {});
  }
}
