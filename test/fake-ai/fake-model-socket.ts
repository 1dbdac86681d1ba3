// The socket half of a fake streaming model (Flux, Nova-3 live), shared by the test fake and the
// benchmark fakes. A WebSocket cannot cross JS RPC, so, like the offline stand-in, a fake answers
// `run(model, inputs, { websocket: true })` with an RpcTarget of the contract server/models/model-socket.ts
// adopts: listen(onMessage, onClose) / send / close. This class re-frames the PCM it is sent into 20 ms
// frames, asks `isVoiced` about each, and hands frames and JSON control messages to a brain, which
// decides (in audio time) what the "model" says; messages go out in order, each after its delay.
import { RpcTarget } from "cloudflare:workers";

export const FRAME_SAMPLES = 320;
export const FRAME_MS = 20;

/** What a socket knows about its audio so far. */
export interface AudioSoFar {
  /** Samples received. */
  pos: number;
  /** Voiced ms since sample `from`. */
  voicedMsSince(from: number): number;
  /** Unvoiced ms at the end of the audio (0 right after a voiced frame). */
  trailingSilenceMs: number;
}

/** Send `message` no earlier than `delayMs` from now (and after every message sent before it). */
export type Emit = (message: Record<string, unknown>, delayMs: number) => void;

export interface LiveBrain {
  frame(voiced: boolean, audio: AudioSoFar): void;
  control(message: { type?: string }, audio: AudioSoFar): void;
}

export interface FakeModelSocketOptions {
  brain(emit: Emit): LiveBrain;
  /** Is the 20 ms frame starting at `at` speech? */
  isVoiced(pcm: Int16Array, at: number): boolean;
  /** After each frame: true closes the socket with 1011, as a dropped connection does. */
  dropNow?(audio: AudioSoFar): boolean;
  /** Test bookkeeping: what went out, what came in, how it ended. */
  observe?: {
    emitted?(message: Record<string, unknown>): void;
    control?(message: { type?: string }): void;
    frame?(audio: AudioSoFar): void;
    closed?(code: number, reason: string): void;
  };
}

export class FakeModelSocket extends RpcTarget {
  #onMessage: ((data: string) => unknown) | null = null;
  #onClose: ((code: number, reason: string) => unknown) | null = null;
  #closed = false;
  #pending = new Int16Array(0);
  #chain: Promise<void> = Promise.resolve();
  #lastDue = 0;
  readonly #o: FakeModelSocketOptions;
  readonly #brain: LiveBrain;
  /** Per received frame: voiced? (for voicedMsSince). */
  readonly #voiced: boolean[] = [];
  #trailingSilenceMs = 0;

  constructor(o: FakeModelSocketOptions) {
    super();
    this.#o = o;
    this.#brain = o.brain((m, delayMs) => this.#emit(m, delayMs));
  }

  listen(onMessage: (data: string) => unknown, onClose: (code: number, reason: string) => unknown): void {
    // RPC stubs passed as arguments are released when the call returns: keep copies.
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
      this.#o.observe?.control?.(message);
      this.#brain.control(message, this.#audio());
      return;
    }
    const bytes = data.byteLength - (data.byteLength % 2);
    const incoming = new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + bytes));
    const all = new Int16Array(this.#pending.length + incoming.length);
    all.set(this.#pending);
    all.set(incoming, this.#pending.length);
    let at = 0;
    for (; at + FRAME_SAMPLES <= all.length; at += FRAME_SAMPLES) {
      const voiced = this.#o.isVoiced(all, at);
      this.#voiced.push(voiced);
      this.#trailingSilenceMs = voiced ? 0 : this.#trailingSilenceMs + FRAME_MS;
      const audio = this.#audio();
      this.#o.observe?.frame?.(audio);
      this.#brain.frame(voiced, audio);
      if (this.#o.dropNow?.(audio)) return this.#finish(1011, "fake drop", true);
      if (this.#closed) return;
    }
    this.#pending = all.slice(at);
  }

  close(code = 1000, reason = ""): void {
    this.#finish(code, reason, false);
  }

  #audio(): AudioSoFar {
    const voiced = this.#voiced;
    return {
      pos: voiced.length * FRAME_SAMPLES,
      trailingSilenceMs: this.#trailingSilenceMs,
      voicedMsSince(from: number): number {
        let n = 0;
        for (let f = Math.max(0, Math.floor(from / FRAME_SAMPLES)); f < voiced.length; f++) if (voiced[f]) n++;
        return n * FRAME_MS;
      },
    };
  }

  #emit(message: Record<string, unknown>, delayMs: number): void {
    if (this.#closed) return;
    this.#o.observe?.emitted?.(message);
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

  /** `notify`: the fake closed it (the client hears about it after what was already sent). */
  #finish(code: number, reason: string, notify: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.observe?.closed?.(code, reason);
    if (notify) void this.#chain.then(() => this.#onClose?.(code, reason)).catch(() => {});
  }
}
