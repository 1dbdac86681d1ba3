// The fake's streaming recognizers: Flux (turns decided by the "model") and Nova-3 live (interim and
// final results, Finalize). A WebSocket cannot cross JS RPC, so, like the offline stand-in, the fake
// answers `run(model, inputs, { websocket: true })` with an RpcTarget socket (server/models/model-socket.ts).
// Everything is decided in audio time (ms of PCM received), so a test's timings never depend on how
// fast workerd runs: speech is any 20 ms frame above -60 dBFS (test silence is digital zero).
import { RpcTarget } from "cloudflare:workers";

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
}

const FRAME = 320;
const VOICED_DBFS = -60;
const DEFAULT_TRANSCRIPT = "hello there";

type Emit = (message: Record<string, unknown>) => void;

interface Brain {
  frame(voiced: boolean, atMs: number): void;
  control(message: { type?: string }): void;
}

/** Flux's state machine: StartOfTurn -> Update ... -> [EagerEndOfTurn -> TurnResumed?] -> EndOfTurn. */
class FluxBrain implements Brain {
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

  #text(): string {
    const words = this.next().split(/\s+/).filter(Boolean);
    return words.slice(0, Math.max(1, Math.ceil(this.#voicedMs / (this.s.msPerWord ?? 300)))).join(" ");
  }

  #event(event: string, extra: Record<string, unknown> = {}): void {
    this.emit({ type: "TurnInfo", event, turn_index: this.#turnIndex, transcript: event === "StartOfTurn" || event === "TurnResumed" ? "" : this.#text(), end_of_turn_confidence: 0.5, ...extra });
  }

  frame(voiced: boolean): void {
    const ms = 20;
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
      if (this.#silenceMs >= (this.s.endSilenceMs ?? 500)) {
        this.#event("EndOfTurn");
        this.consume();
        this.#speaking = false;
        this.#eagerSent = false;
        this.#turnIndex++;
        return;
      }
    }
    if (this.#speaking) {
      this.#sinceUpdateMs += ms;
      if (this.#sinceUpdateMs >= 240) {
        this.#sinceUpdateMs = 0;
        this.#event("Update");
      }
    }
  }

  control(): void {}
}

/** Nova-3 live: interim results while speech goes on; a final on Finalize (with from_finalize). */
class NovaBrain implements Brain {
  #voicedMs = 0;
  #sinceInterimMs = 0;
  #sentWords = 0;
  #atMs = 0;
  constructor(
    private readonly s: LiveScenario,
    private readonly emit: Emit,
    private readonly next: () => string,
    private readonly consume: () => void,
  ) {}

  #words(): string[] {
    return this.next().split(/\s+/).filter(Boolean);
  }

  #results(text: string, isFinal: boolean, fromFinalize: boolean): void {
    this.emit({
      type: "Results",
      channel_index: [0, 1],
      start: 0,
      duration: this.#atMs / 1000,
      is_final: isFinal,
      speech_final: false,
      ...(fromFinalize ? { from_finalize: true } : {}),
      channel: { alternatives: [{ transcript: text, confidence: 0.9, words: [] }] },
    });
  }

  frame(voiced: boolean, atMs: number): void {
    this.#atMs = atMs;
    if (!voiced) return;
    if (this.#voicedMs === 0 && this.#sentWords === 0) this.emit({ type: "SpeechStarted", timestamp: atMs / 1000 });
    this.#voicedMs += 20;
    this.#sinceInterimMs += 20;
    if (this.#sinceInterimMs >= 240) {
      this.#sinceInterimMs = 0;
      const upTo = Math.min(this.#words().length, Math.max(1, Math.ceil(this.#voicedMs / (this.s.msPerWord ?? 300))));
      this.#results(this.#words().slice(this.#sentWords, upTo).join(" "), false, false);
    }
  }

  control(message: { type?: string }): void {
    if (message.type !== "Finalize") return;
    // A final decode knows every word said so far (the whole transcript once speech was heard).
    const words = this.#words();
    const text = this.#voicedMs > 0 ? words.slice(this.#sentWords).join(" ") : "";
    this.#results(text, true, true);
    if (this.#voicedMs > 0) {
      this.consume();
      this.#sentWords = 0;
      this.#voicedMs = 0;
      this.#sinceInterimMs = 0;
    }
  }
}

export class FakeLiveSocket extends RpcTarget {
  #onMessage: ((data: string) => void) | null = null;
  #onClose: ((code: number, reason: string) => void) | null = null;
  #closed = false;
  #pending = new Int16Array(0);
  readonly #brain: Brain;
  readonly #log: LiveCallLog;
  readonly #s: LiveScenario;
  #chain: Promise<void> = Promise.resolve();

  constructor(model: string, inputs: Record<string, unknown>, scenario: LiveScenario, log: LiveCallLog, dropState: { dropped: boolean }) {
    super();
    this.#s = scenario;
    this.#log = log;
    this.#dropState = dropState;
    const queue = scenario.transcripts ?? [];
    const next = () => queue[0] ?? DEFAULT_TRANSCRIPT;
    const consume = () => void queue.shift();
    const emit: Emit = (m) => this.#emit(m);
    this.#brain = model.includes("flux") ? new FluxBrain(scenario, inputs.eager_eot_threshold !== undefined, emit, next, consume) : new NovaBrain(scenario, emit, next, consume);
  }
  readonly #dropState: { dropped: boolean };

  listen(onMessage: (data: string) => void, onClose: (code: number, reason: string) => void): void {
    const dup = <T>(f: T): T => ((f as { dup?: () => T }).dup ? (f as { dup: () => T }).dup() : f);
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
      if (message.type === "KeepAlive") this.#log.keepAlives++;
      if (message.type === "Finalize") this.#log.finalizes++;
      this.#brain.control(message);
      return;
    }
    const bytes = data.byteLength - (data.byteLength % 2);
    const incoming = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + bytes));
    const all = new Int16Array(this.#pending.length + incoming.length);
    all.set(this.#pending);
    all.set(incoming, this.#pending.length);
    let at = 0;
    for (; at + FRAME <= all.length; at += FRAME) {
      let sum = 0;
      for (let i = at; i < at + FRAME; i++) sum += all[i]! * all[i]!;
      const dbfs = 10 * Math.log10(sum / FRAME / (32768 * 32768) + 1e-12);
      this.#log.audioMs += 20;
      this.#brain.frame(dbfs > VOICED_DBFS, this.#log.audioMs);
      const drop = this.#s.dropAfterAudioMs;
      if (drop !== undefined && !this.#dropState.dropped && this.#log.audioMs >= drop) {
        this.#dropState.dropped = true;
        this.#finish(1011, "fake drop");
        return;
      }
      if (this.#closed) return;
    }
    this.#pending = all.slice(at);
  }

  close(code = 1000, reason = ""): void {
    this.#finish(code, reason, false);
  }

  #emit(message: Record<string, unknown>): void {
    if (this.#closed) return;
    const text = JSON.stringify(message);
    const label =
      message.type === "TurnInfo"
        ? `${String(message.event)}${message.transcript ? `:${String(message.transcript)}` : ""}`
        : message.type === "Results"
          ? `Results:${message.is_final ? "final" : "interim"}:${String((message.channel as { alternatives: { transcript: string }[] }).alternatives[0]!.transcript)}`
          : String(message.type);
    this.#log.events.push(label);
    const delay = this.#s.eventDelayMs ?? 0;
    this.#chain = this.#chain.then(async () => {
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (!this.#closed) await this.#onMessage?.(text);
    }).catch(() => {});
  }

  #finish(code: number, reason: string, notify = true): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#log.closed = `${code} ${reason}`.trim();
    if (notify) void this.#chain.then(() => this.#onClose?.(code, reason)).catch(() => {});
  }
}
