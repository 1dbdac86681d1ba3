// Streaming speech recognition for one microphone: one model socket (Flux or Nova-3 live), fed every
// upstream PCM frame as it arrives. It owns the socket's life: opened on the first audio, kept alive
// through quiet stretches, closed when the microphone goes idle, and reopened after a drop with the
// audio of the user's current turn sent again, so nothing they said is lost. What the model says
// comes out as LiveEvents through a LiveProtocol (flux.ts, nova-live.ts). No Cloudflare imports.
import { adoptModelSocket, type ModelSocket, type SocketData } from "../models/model-socket.ts";
import { withDefaults } from "../../shared/options.ts";

export type LiveEvent =
  /** The model heard a turn begin (Flux StartOfTurn, Nova SpeechStarted). */
  | { type: "start-of-turn" }
  /** What the user has said so far in their current turn. */
  | { type: "update"; text: string }
  /** Flux: the turn is probably over (start a reply, but hold it). */
  | { type: "eager-end"; text: string }
  /** Flux: the user went on after an eager end (cancel what was started). */
  | { type: "resumed" }
  /** Flux: the turn is over; `text` is all of it. */
  | { type: "end-of-turn"; text: string }
  /** Nova: a segment is final (`fromFinalize`: the answer to our Finalize). */
  | { type: "final"; text: string; fromFinalize: boolean }
  /** The model reported an error (the socket usually closes next). */
  | { type: "error"; message: string }
  /** The offline stand-in names its engine (real Workers AI does not). */
  | { type: "engine"; name: string };

export interface LiveProtocol {
  readonly model: string;
  /** The `inputs` of `env.AI.run(model, inputs, { websocket: true })`. */
  inputs(): Record<string, unknown>;
  parse(data: SocketData): LiveEvent[];
  /** Sent when no audio went out for a while: the model closes a silent socket after ~10 s. */
  keepAlive(): Uint8Array | string;
  /** Nova: ask for the current segment to be finalized now. Flux ends turns itself. */
  finalizeMessage?(): string;
  /** Flux: end the current turn now, on the words heard so far (answered by an end-of-turn). */
  forceEndMessage?(): string;
}

/** Deepgram's `keyterm` input: one word as a string, several as a list (Workers AI repeats the parameter). */
export function keytermInput(keyterms: readonly string[]): { keyterm?: string | string[] } {
  if (keyterms.length === 0) return {};
  return { keyterm: keyterms.length === 1 ? keyterms[0]! : [...keyterms] };
}

export interface LiveRecognizerOptions {
  protocol: LiveProtocol;
  /** `env.AI.run(model, inputs, { websocket: true, ... })`. */
  open(model: string, inputs: Record<string, unknown>): Promise<unknown>;
  onEvent(event: LiveEvent): void;
  /** The socket could not be (re)opened `maxOpenFailures` times in a row: the caller falls back to batch recognition. */
  onFailed(error: unknown): void;
  /** Clock (ms since the epoch), default Date.now. */
  now: () => number;
  /** Audio of the current turn kept for replay after a drop (ms; older audio is dropped first), default 30000. */
  replayMaxMs: number;
  /** An open socket with nothing sent for this long gets a keep-alive (ms), default 3000. */
  keepAliveMs: number;
  /** No audio for this long closes the socket; the next audio reopens it (ms), default 20000. */
  idleCloseMs: number;
  /** Opens failed in a row before onFailed, default 3. */
  maxOpenFailures: number;
  /** Sample rate of the audio sent (Hz), default 16000. */
  sampleRate: number;
}

export const DEFAULT_LIVE_RECOGNIZER: Readonly<
  Pick<LiveRecognizerOptions, "now" | "replayMaxMs" | "keepAliveMs" | "idleCloseMs" | "maxOpenFailures" | "sampleRate">
> = Object.freeze({
  now: () => Date.now(),
  replayMaxMs: 30_000,
  keepAliveMs: 3_000,
  idleCloseMs: 20_000,
  maxOpenFailures: 3,
  sampleRate: 16_000,
});

type State = "closed" | "opening" | "open" | "failed";

const TICK_MS = 1_000;

export class LiveRecognizer {
  readonly #o: Readonly<LiveRecognizerOptions>;
  #state: State = "closed";
  #socket: ModelSocket | null = null;
  /** Frames of the user's current turn (and those that came while a socket opened), sent on each new socket. */
  readonly #replay: ReplayBuffer;
  #openFailures = 0;
  #lastAudioAt = 0;
  #lastSentAt = 0;
  #billedSamples = 0;
  #ticker: ReturnType<typeof setInterval> | null = null;
  #generation = 0;
  #drops = 0;
  #finalizeWaiters: ((ok: boolean) => void)[] = [];
  /** Nova: final segments of the current turn, and the segment being decoded. Flux: its latest transcript. */
  #finals: string[] = [];
  #interim = "";
  #engine: string | undefined;

  constructor(options: Omit<LiveRecognizerOptions, keyof typeof DEFAULT_LIVE_RECOGNIZER> & Partial<LiveRecognizerOptions>) {
    this.#o = withDefaults<LiveRecognizerOptions, keyof typeof DEFAULT_LIVE_RECOGNIZER>(DEFAULT_LIVE_RECOGNIZER, options);
    this.#replay = new ReplayBuffer((this.#o.replayMaxMs * this.#o.sampleRate) / 1000);
  }

  /** The engine the offline stand-in named, if any (its answers are not billed). */
  get engine(): string | undefined {
    return this.#engine;
  }

  get model(): string {
    return this.#o.protocol.model;
  }

  get state(): State {
    return this.#state;
  }

  /** Sockets lost and reopened so far. */
  get drops(): number {
    return this.#drops;
  }

  /** What the user has said so far in their current turn. */
  get currentText(): string {
    return joinWords([...this.#finals, this.#interim]);
  }

  /** Forward one frame of 16 kHz mono PCM16; opens the socket if needed. */
  push(pcm: Int16Array): void {
    if (this.#state === "failed") return;
    const now = this.#o.now();
    this.#lastAudioAt = now;
    this.#replay.push(pcm);
    if (this.#state === "open") this.#send(pcm, now);
    else if (this.#state === "closed") this.#openInBackground();
  }

  /**
   * Nova: the caller decided the user's turn is over. Finalize the segment being decoded and resolve
   * with all that was said since the last turn boundary; the next turn starts afresh. Resolves with
   * what is known so far when the answer does not come within `timeoutMs`; rejects if the socket is
   * unusable. With `keep`, the turn's words are not forgotten (a speculative reply may be discarded).
   */
  async finalize(timeoutMs: number, o: { keep?: boolean } = {}): Promise<string> {
    const message = this.#o.protocol.finalizeMessage?.();
    if (message === undefined) return o.keep ? this.currentText : this.takeTurn();
    if (this.#state === "failed") throw new Error("streaming recognition is unavailable");
    if (this.#state === "open" && this.#socket) {
      const answered = new Promise<boolean>((resolve) => this.#finalizeWaiters.push(resolve));
      this.#socket.send(message);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([answered, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
      if (timer !== undefined) clearTimeout(timer);
    }
    // A speculative reply's transcript: the turn may go on, its words stay.
    return o.keep ? this.currentText : this.takeTurn();
  }

  /**
   * Flux: Parley is sure the user's turn is over before the model is; the model answers with its
   * end-of-turn on the words heard so far. False when the protocol or the socket cannot.
   */
  forceEndTurn(): boolean {
    const message = this.#o.protocol.forceEndMessage?.();
    if (message === undefined || this.#state !== "open" || !this.#socket) return false;
    this.#socket.send(message);
    return true;
  }

  /** The user's turn was taken: forget its text and its replay audio. Returns its text. */
  takeTurn(): string {
    const text = this.currentText;
    this.#finals = [];
    this.#interim = "";
    this.#replay.clear();
    return text;
  }

  /** Audio sent to the model since the last call (streamed audio is billed per minute, silence included). */
  takeBilledSeconds(): number {
    const s = this.#billedSamples / this.#o.sampleRate;
    this.#billedSamples = 0;
    return s;
  }

  /** The connection is gone: close the socket for good. */
  close(): void {
    this.#closeSocket(1000, "session idle");
    this.#state = "failed";
    this.#stopTicker();
    for (const w of this.#finalizeWaiters.splice(0)) w(false);
  }

  /** #open handles the model's failures itself; anything else escaping it is a bug, logged rather than dropped. */
  #openInBackground(): void {
    this.#open().catch((err: unknown) => console.error(`[parley] ${this.model} socket: opening threw`, err));
  }

  async #open(): Promise<void> {
    this.#state = "opening";
    const generation = ++this.#generation;
    const p = this.#o.protocol;
    try {
      const answer = await this.#o.open(p.model, p.inputs());
      if (generation !== this.#generation || this.#state !== "opening") return;
      const socket = await adoptModelSocket(answer, {
        message: (data) => {
          if (generation === this.#generation) this.#onMessage(data);
        },
        close: (code, reason) => {
          if (generation === this.#generation) this.#onClose(code, reason);
        },
      });
      if (generation !== this.#generation || this.#state !== "opening") {
        socket.close(1000, "superseded");
        return;
      }
      this.#socket = socket;
      this.#state = "open";
      this.#openFailures = 0;
      this.#startTicker();
      // The current turn's audio, including what arrived while the socket was opening.
      const now = this.#o.now();
      for (const frame of this.#replay.frames()) this.#send(frame, now);
    } catch (err) {
      if (generation !== this.#generation) return;
      this.#openFailures++;
      this.#state = "closed";
      if (this.#openFailures >= this.#o.maxOpenFailures) {
        this.#state = "failed";
        this.#replay.clear();
        this.#o.onFailed(err);
        return;
      }
      console.warn(`[parley] ${p.model} socket did not open (${(err as Error)?.message ?? err}); retrying`);
      // Next audio retries; if none comes, nothing is lost either.
    }
  }

  #onMessage(data: SocketData): void {
    for (const event of this.#o.protocol.parse(data)) {
      switch (event.type) {
        case "update":
        case "eager-end":
          this.#interim = event.text;
          break;
        case "start-of-turn":
          this.#interim = "";
          break;
        case "end-of-turn":
          this.#interim = event.text;
          break;
        case "final":
          if (event.text.trim() !== "") this.#finals.push(event.text.trim());
          this.#interim = "";
          if (event.fromFinalize) for (const w of this.#finalizeWaiters.splice(0)) w(true);
          break;
        case "error":
          console.warn(`[parley] ${this.model} reported: ${event.message}`);
          break;
        case "engine":
          this.#engine = event.name;
          continue;
      }
      this.#o.onEvent(event.type === "final" || event.type === "update" ? { ...event, text: this.currentText } : event);
      // Flux owns its turns: once one ended, its audio no longer needs a replay.
      if (event.type === "end-of-turn") this.takeTurn();
    }
  }

  #onClose(code: number, reason: string): void {
    this.#socket = null;
    if (this.#state === "failed") return;
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    for (const w of this.#finalizeWaiters.splice(0)) w(false);
    if (!wasOpen) return;
    if (code !== 1000 || this.#o.now() - this.#lastAudioAt < this.#o.idleCloseMs) {
      // Dropped mid-call: reopen now and send the current turn again.
      this.#drops++;
      console.warn(
        `[parley] ${this.model} socket closed (${code} ${reason}); reopening with ${Math.round((this.#replay.samples / this.#o.sampleRate) * 1000)} ms of this turn's audio`,
      );
      this.#interim = "";
      this.#finals = [];
      this.#openInBackground();
    }
  }

  #send(pcm: Int16Array, now: number): void {
    this.#socket?.send(new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    this.#lastSentAt = now;
    this.#billedSamples += pcm.length;
  }

  #tick(): void {
    const now = this.#o.now();
    if (this.#state !== "open" || !this.#socket) return;
    if (now - this.#lastAudioAt >= this.#o.idleCloseMs) {
      this.#closeSocket(1000, "microphone idle");
      this.#state = "closed";
      // Long quiet: nothing of a turn is pending, so the next socket starts from fresh audio.
      this.#replay.clear();
      this.#stopTicker();
      return;
    }
    if (now - this.#lastSentAt >= this.#o.keepAliveMs) {
      this.#socket.send(this.#o.protocol.keepAlive());
      this.#lastSentAt = now;
    }
  }

  #closeSocket(code: number, reason: string): void {
    const s = this.#socket;
    this.#socket = null;
    this.#generation++;
    s?.close(code, reason);
  }

  #startTicker(): void {
    this.#ticker ??= setInterval(() => this.#tick(), TICK_MS);
  }

  #stopTicker(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
  }
}

/** The newest frames up to a cap, dropped oldest first without moving the rest (this runs per frame). */
class ReplayBuffer {
  #frames: Int16Array[] = [];
  #head = 0;
  #samples = 0;
  readonly #maxSamples: number;
  constructor(maxSamples: number) {
    this.#maxSamples = maxSamples;
  }

  get samples(): number {
    return this.#samples;
  }

  push(frame: Int16Array): void {
    this.#frames.push(frame);
    this.#samples += frame.length;
    while (this.#samples > this.#maxSamples && this.#frames.length - this.#head > 1) this.#samples -= this.#frames[this.#head++]!.length;
    if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
  }

  frames(): Int16Array[] {
    return this.#frames.slice(this.#head);
  }

  clear(): void {
    this.#frames = [];
    this.#head = 0;
    this.#samples = 0;
  }
}

function joinWords(parts: string[]): string {
  return parts
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .join(" ");
}
