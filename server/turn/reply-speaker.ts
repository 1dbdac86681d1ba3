// The speaking half of a reply: each chunk the sentence chunker releases is synthesized as soon as
// a TTS slot is free (bounded concurrency, so sentence N+1 synthesizes while N is sent), and the
// audio goes out strictly in chunk order. A failed synthesis stops everything after it; a cancelled
// turn drops whatever has not been sent.
import { abortable } from "../models/retry.ts";
import type { SpeechAudio } from "../text-to-speech/tts.ts";

export interface ReplySpeakerDeps {
  /** Synthesize one chunk (deadlines and retries are the caller's). */
  synthesize(text: string): Promise<SpeechAudio>;
  /** Send segment `index` (header and audio). Called in index order only. */
  send(index: number, text: string, audio: SpeechAudio): void;
  /** A synthesis failed for good (not because the turn was cancelled). */
  fail(error: unknown): void;
  /** The turn's signal: once aborted nothing more is sent. */
  signal: AbortSignal;
  /** TTS requests in flight at once. */
  concurrency: number;
  now?: () => number;
}

export class ReplySpeaker {
  readonly #deps: ReplySpeakerDeps;
  readonly #slots: Semaphore;
  readonly #now: () => number;
  #next = 0;
  #sent = 0;
  #chain: Promise<void> = Promise.resolve();
  /** Time spent in TTS calls, summed over chunks (ms). */
  ttsMs = 0;

  constructor(deps: ReplySpeakerDeps) {
    this.#deps = deps;
    this.#slots = new Semaphore(Math.max(1, deps.concurrency));
    this.#now = deps.now ?? (() => Date.now());
  }

  /** Chunks released so far. */
  get chunks(): number {
    return this.#next;
  }

  /** Segments sent so far. */
  get segmentsSent(): number {
    return this.#sent;
  }

  speak(text: string): void {
    const index = this.#next++;
    const { signal } = this.#deps;
    const synth = this.#slots.run(async () => {
      if (signal.aborted) throw signal.reason ?? new DOMException("cancelled", "AbortError");
      const t = this.#now();
      try {
        return await this.#deps.synthesize(text);
      } finally {
        this.ttsMs += this.#now() - t;
      }
    });
    synth.catch(() => {}); // observed through the chain below; no unhandled rejection while it waits its turn
    this.#chain = this.#chain.then(async () => {
      if (signal.aborted) return;
      let audio: SpeechAudio;
      try {
        // A cancelled turn does not wait for a synthesis still in flight.
        audio = await abortable(synth, signal);
      } catch (err) {
        if (!signal.aborted) this.#deps.fail(err);
        return;
      }
      if (signal.aborted) return;
      this.#deps.send(index, text, audio);
      this.#sent++;
    });
  }

  /** Resolves once every chunk released so far was sent or dropped. */
  drain(): Promise<void> {
    return this.#chain;
  }
}

class Semaphore {
  private waiting: (() => void)[] = [];
  private free: number;
  constructor(free: number) {
    this.free = free;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
