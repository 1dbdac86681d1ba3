// The test fake's streaming recognizers: Flux (turns decided by the "model") and Nova-3 live (interim
// and final results, Finalize), on the shared fake socket (fake-model-socket.ts). Everything is
// decided in audio time (ms of PCM received), so a test's timings never depend on how fast workerd
// runs: speech is any 20 ms frame above -60 dBFS (test silence is digital zero).
import { FRAME_MS, FRAME_SAMPLES, FakeModelSocket, type AudioSoFar, type Emit, type LiveBrain } from "./fake-model-socket.ts";

export interface LiveScenario {
  /** The turns' words, in order (consumed at each end of turn / final). */
  transcripts?: string[];
  /** Words are revealed as speech goes on: one per this much voiced audio (Update / interim text). */
  msPerWord?: number;
  /** Flux: silence after speech that fires EagerEndOfTurn (only when eager_eot_threshold was given). */
  eagerSilenceMs?: number;
  /** Flux: silence after speech that fires EndOfTurn. */
  endSilenceMs?: number;
  /** Close the socket with 1011 once, after this much audio (a dropped connection). */
  dropAfterAudioMs?: number;
  /** Wall-clock delay before each event is delivered. */
  eventDelayMs?: number;
}

export interface LiveCallLog {
  model: string;
  inputs: Record<string, unknown>;
  /** Audio received on this socket (ms). */
  audioMs: number;
  /** Events sent, in order ("StartOfTurn", "Update:<text>", "Results:<final?>:<text>", ...). */
  events: string[];
  closed: string | null;
  keepAlives: number;
  finalizes: number;
  /** Flux ForceEndTurn messages received. */
  forcedEnds: number;
}

const VOICED_DBFS = -60;
const DEFAULT_TRANSCRIPT = "hello there";

/** Flux's state machine: StartOfTurn -> Update ... -> [EagerEndOfTurn -> TurnResumed?] -> EndOfTurn. */
class FluxBrain implements LiveBrain {
  #speaking = false;
  #eagerSent = false;
  #silenceMs = 0;
  #voicedMs = 0;
  #sinceUpdateMs = 0;
  #turnIndex = 0;
  constructor(
    private readonly s: LiveScenario,
    private readonly eager: boolean,
    private readonly emit: Emit,
    private readonly next: () => string,
    private readonly consume: () => void,
  ) {}

  #delayMs(): number {
    return this.s.eventDelayMs ?? 0;
  }

  #text(): string {
    const words = this.next().split(/\s+/).filter(Boolean);
    return words.slice(0, Math.max(1, Math.ceil(this.#voicedMs / (this.s.msPerWord ?? 300)))).join(" ");
  }

  #event(event: string): void {
    const transcript = event === "StartOfTurn" || event === "TurnResumed" ? "" : this.#text();
    this.emit({ type: "TurnInfo", event, turn_index: this.#turnIndex, transcript, end_of_turn_confidence: 0.5 }, this.#delayMs());
  }

  frame(voiced: boolean): void {
    const ms = FRAME_MS;
    if (voiced) {
      if (!this.#speaking) {
        this.#speaking = true;
        this.#voicedMs = 0;
        this.#sinceUpdateMs = 0;
        this.#event("StartOfTurn");
      } else if (this.#eagerSent) {
        this.#eagerSent = false;
        this.#event("TurnResumed");
      }
      this.#voicedMs += ms;
      this.#silenceMs = 0;
    } else if (this.#speaking) {
      this.#silenceMs += ms;
      if (this.eager && !this.#eagerSent && this.#silenceMs >= (this.s.eagerSilenceMs ?? 200)) {
        this.#eagerSent = true;
        this.#event("EagerEndOfTurn");
      }
      if (this.#silenceMs >= (this.s.endSilenceMs ?? 500)) return this.#endOfTurn();
    }
    if (this.#speaking) {
      this.#sinceUpdateMs += ms;
      if (this.#sinceUpdateMs >= 240) {
        this.#sinceUpdateMs = 0;
        this.#event("Update");
      }
    }
  }

  /** ForceEndTurn ends the turn in progress on the words so far; with no turn in progress it is ignored. */
  control(message: { type?: string }): void {
    if (message.type === "ForceEndTurn" && this.#speaking) this.#endOfTurn();
  }

  #endOfTurn(): void {
    this.#event("EndOfTurn");
    this.consume();
    this.#speaking = false;
    this.#eagerSent = false;
    this.#turnIndex++;
  }
}

/** Nova-3 live: interim results while speech goes on; a final on Finalize (with from_finalize). */
class NovaBrain implements LiveBrain {
  #voicedMs = 0;
  #sinceInterimMs = 0;
  constructor(
    private readonly s: LiveScenario,
    private readonly emit: Emit,
    private readonly next: () => string,
    private readonly consume: () => void,
  ) {}

  #words(): string[] {
    return this.next().split(/\s+/).filter(Boolean);
  }

  #results(text: string, audio: AudioSoFar, isFinal: boolean): void {
    this.emit(
      {
        type: "Results",
        channel_index: [0, 1],
        start: 0,
        duration: audio.pos / 16_000,
        is_final: isFinal,
        speech_final: false,
        ...(isFinal ? { from_finalize: true } : {}),
        channel: { alternatives: [{ transcript: text, confidence: 0.9, words: [] }] },
      },
      this.s.eventDelayMs ?? 0,
    );
  }

  frame(voiced: boolean, audio: AudioSoFar): void {
    if (!voiced) return;
    if (this.#voicedMs === 0) this.emit({ type: "SpeechStarted", timestamp: audio.pos / 16_000 }, this.s.eventDelayMs ?? 0);
    this.#voicedMs += FRAME_MS;
    this.#sinceInterimMs += FRAME_MS;
    if (this.#sinceInterimMs >= 240) {
      this.#sinceInterimMs = 0;
      const upTo = Math.max(1, Math.ceil(this.#voicedMs / (this.s.msPerWord ?? 300)));
      this.#results(this.#words().slice(0, upTo).join(" "), audio, false);
    }
  }

  control(message: { type?: string }, audio: AudioSoFar): void {
    if (message.type !== "Finalize") return;
    // A final decode knows every word said so far (the whole transcript once speech was heard).
    this.#results(this.#voicedMs > 0 ? this.#words().join(" ") : "", audio, true);
    if (this.#voicedMs > 0) {
      this.consume();
      this.#voicedMs = 0;
      this.#sinceInterimMs = 0;
    }
  }
}

function isVoiced(pcm: Int16Array, at: number): boolean {
  let sum = 0;
  for (let i = at; i < at + FRAME_SAMPLES; i++) sum += pcm[i]! * pcm[i]!;
  return 10 * Math.log10(sum / FRAME_SAMPLES / (32768 * 32768) + 1e-12) > VOICED_DBFS;
}

/** How a test reads an event in the log: "StartOfTurn", "Update:<text>", "Results:final:<text>", ... */
function label(m: Record<string, unknown>): string {
  if (m.type === "TurnInfo") return `${String(m.event)}${typeof m.transcript === "string" && m.transcript ? `:${m.transcript}` : ""}`;
  if (m.type === "Results") {
    const text = (m.channel as { alternatives: { transcript: string }[] }).alternatives[0]!.transcript;
    return `Results:${m.is_final ? "final" : "interim"}:${text}`;
  }
  return String(m.type);
}

/** A fake Flux or Nova-3 socket for one `run(..., { websocket: true })`, logging into `log`. `dropState` is per session: a scenario's drop happens once. */
export function fakeLiveSocket(
  model: string,
  inputs: Record<string, unknown>,
  scenario: LiveScenario,
  log: LiveCallLog,
  dropState: { dropped: boolean },
): FakeModelSocket {
  const queue = scenario.transcripts ?? [];
  const next = () => queue[0] ?? DEFAULT_TRANSCRIPT;
  const consume = () => void queue.shift();
  return new FakeModelSocket({
    brain: (emit) =>
      model.includes("flux")
        ? new FluxBrain(scenario, inputs.eager_eot_threshold !== undefined, emit, next, consume)
        : new NovaBrain(scenario, emit, next, consume),
    isVoiced,
    dropNow: (audio) => {
      const drop = scenario.dropAfterAudioMs;
      if (drop === undefined || dropState.dropped || (audio.pos / FRAME_SAMPLES) * FRAME_MS < drop) return false;
      dropState.dropped = true;
      return true;
    },
    observe: {
      emitted: (m) => log.events.push(label(m)),
      control: (m) => {
        if (m.type === "KeepAlive") log.keepAlives++;
        if (m.type === "Finalize") log.finalizes++;
        if (m.type === "ForceEndTurn") log.forcedEnds++;
      },
      frame: (audio) => (log.audioMs = (audio.pos / FRAME_SAMPLES) * FRAME_MS),
      closed: (code, reason) => (log.closed = `${code} ${reason}`.trim()),
    },
  });
}
