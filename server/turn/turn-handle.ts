// One user turn and its spoken reply, as a handle the session holds: what it is doing (its phase),
// one way to stop it (`interrupt(reason)`, first reason wins), and when its work has settled.
// The reply stays `speaking` after generation ends, until the client reports that playback finished
// or stopped (or its audio's duration has passed), so speech over the last sentences is still a
// barge-in. A speculative turn starts before the user's turn is known to be over (an early
// end-of-turn signal): everything it would send or store is held until `confirm`, and `discard`
// drops it without a trace. No Cloudflare imports: unit-tested directly.
import type { EndOfTurnSource, TurnEndReason } from "../../shared/protocol.ts";
import type { SpentBefore } from "./turn-outcome.ts";

export type TurnPhase = "transcribing" | "generating" | "speaking" | "paused" | "done";
export type InterruptReason = Exclude<TurnEndReason, "completed">;

export class TurnHandle {
  readonly turnId: string;
  readonly replyId: string;
  readonly #abort = new AbortController();
  #phase: TurnPhase;
  #beforePause: TurnPhase | null = null;
  #reason: InterruptReason | null = null;
  #generationDone = false;
  #settled: Promise<void> = Promise.resolve();
  #isSettled = false;
  /** Audio sent for the reply: when the first segment went out, and how much there is (ms). */
  firstAudioAt: number | null = null;
  audioMs = 0;
  /** How generation ended (set when the outcome is recorded): the reason a turn that was not cut short ended. */
  endReason: TurnEndReason | null = null;
  /** Time spent paused while the reply was audible (extends when its playback can be over). */
  pausedMs = 0;
  #pausedAt: number | null = null;
  readonly #onPhase: (turn: TurnHandle) => void;
  /** Started on an early end-of-turn signal (it may still have been confirmed since). */
  readonly speculative: boolean;
  /** Work held until the turn is confirmed; null once it is (or for a turn that never speculated). */
  #held: (() => void)[] | null;
  #decided: Promise<boolean>;
  #decide: (confirmed: boolean) => void = () => {};
  /** When a speculative turn was confirmed. */
  confirmedAt: number | null = null;
  /** How the user's turn ended, learned when a speculative turn is confirmed (it started before that was known). */
  endpointing: { endpointingMs: number; endOfTurn: EndOfTurnSource; billedSeconds: number; spentBefore: SpentBefore } | null = null;

  constructor(
    ids: { turnId: string; replyId: string },
    initial: "transcribing" | "generating",
    onPhase: (turn: TurnHandle) => void = () => {},
    options: { speculative?: boolean } = {},
  ) {
    this.turnId = ids.turnId;
    this.replyId = ids.replyId;
    this.#phase = initial;
    this.#onPhase = onPhase;
    this.speculative = options.speculative ?? false;
    this.#held = this.speculative ? [] : null;
    this.#decided = this.speculative ? new Promise<boolean>((resolve) => (this.#decide = resolve)) : Promise.resolve(true);
  }

  /** Not speculative, or confirmed: what the turn does may be seen and kept. */
  get confirmed(): boolean {
    return this.#held === null;
  }

  /** Resolves true once the turn is confirmed, false if it was discarded. */
  get decided(): Promise<boolean> {
    return this.#decided;
  }

  /** Run `fn` now if the turn is confirmed, else when it is (in order), or never if it is discarded. */
  hold(fn: () => void): void {
    if (this.#held === null) fn();
    else if (!this.discarded) this.#held.push(fn);
  }

  /** The user's turn is over after all: release what was held, in order. */
  confirm(now: number): void {
    const held = this.#held;
    if (held === null || this.discarded) return;
    this.#held = null;
    this.confirmedAt = now;
    for (const fn of held) fn();
    this.#decide(true);
  }

  /** The user went on talking: the speculative reply is thrown away, nothing of it is sent or kept. */
  discard(): void {
    if (this.#held === null) return;
    this.#held.length = 0;
    this.#discarded = true;
    this.#discardAbort.abort(new DOMException("speculative reply discarded", "AbortError"));
    this.interrupt("superseded");
    this.#decide(false);
  }

  #discarded = false;
  readonly #discardAbort = new AbortController();
  get discarded(): boolean {
    return this.#discarded;
  }

  /** Aborted only when the turn is discarded (work that outlives a barge-in still stops then). */
  get discardSignal(): AbortSignal {
    return this.#discardAbort.signal;
  }

  get phase(): TurnPhase {
    return this.#phase;
  }

  /** Aborted on interrupt: the LLM stream and TTS calls of this turn listen to it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Why the turn was cut short, or null while it runs its course. */
  get reason(): InterruptReason | null {
    return this.#reason;
  }

  get interrupted(): boolean {
    return this.#reason !== null;
  }

  /** The reply's text and audio are all out (or the generation ended early). */
  get generationDone(): boolean {
    return this.#generationDone;
  }

  /** Reply audio may be audible now (sent and not known to be over). */
  get audible(): boolean {
    return this.firstAudioAt !== null && this.#phase !== "done";
  }

  /** Cut the turn short. The first reason is kept; later calls only make sure it is aborted. */
  interrupt(reason: InterruptReason): void {
    if (this.#phase === "done") return;
    this.#reason ??= reason;
    if (!this.#abort.signal.aborted) this.#abort.abort(new DOMException(`turn interrupted: ${reason}`, "AbortError"));
  }

  /** Move forward through transcribing -> generating -> speaking. A paused turn records where it goes back to. */
  advance(phase: "generating" | "speaking", now: number): void {
    if (this.#phase === "done") return;
    if (phase === "speaking" && this.firstAudioAt === null) this.firstAudioAt = now;
    if (this.#phase === "paused") {
      if (rank(phase) > rank(this.#beforePause!)) this.#beforePause = phase;
      return;
    }
    if (rank(phase) > rank(this.#phase)) this.#set(phase);
  }

  /** A barge-in candidate holds the reply. */
  pause(now: number): void {
    if (this.#phase === "done" || this.#phase === "paused") return;
    this.#beforePause = this.#phase;
    this.#pausedAt = now;
    this.#set("paused");
  }

  /** The candidate was dismissed: the reply goes on. */
  resume(now: number): void {
    if (this.#phase !== "paused") return;
    if (this.#pausedAt !== null && this.firstAudioAt !== null) this.pausedMs += now - this.#pausedAt;
    this.#pausedAt = null;
    const back = this.#beforePause ?? "generating";
    this.#beforePause = null;
    this.#set(back);
  }

  markGenerationDone(): void {
    this.#generationDone = true;
  }

  /**
   * When the reply's playback can be taken as over without hearing from the client: the audio's
   * duration after the first segment went out, plus pauses and a grace period, or after the
   * client's latest progress report (`playedMs` of the whole reply), whichever is later.
   */
  playbackDeadline(graceMs: number, progress?: { at: number; playedMs: number }): number | null {
    if (this.firstAudioAt === null) return null;
    const fromStart = this.firstAudioAt + this.audioMs + this.pausedMs + graceMs;
    // The client's last progress report knows better (late audio, gaps): what was left then.
    return progress ? Math.max(fromStart, progress.at + Math.max(0, this.audioMs - progress.playedMs) + graceMs) : fromStart;
  }

  /** The turn is over: nothing of it runs or plays any more. */
  finish(): void {
    if (this.#phase === "done") return;
    this.#pausedAt = null;
    this.#set("done");
  }

  /** The turn's pipeline work (transcription, generation, storing the outcome). */
  track(work: Promise<unknown>): void {
    this.#settled = work.then(
      () => {
        this.#isSettled = true;
      },
      () => {
        this.#isSettled = true;
      },
    );
  }

  get settled(): Promise<void> {
    return this.#settled;
  }

  get isSettled(): boolean {
    return this.#isSettled;
  }

  /**
   * Wait for the pipeline to settle, at most `ms`, or until `stop` aborts (the waiting turn was itself cut
   * short: waiting on would chain every superseded turn's wait behind the one before). True if it settled.
   */
  async settledWithin(ms: number, stop?: AbortSignal): Promise<boolean> {
    if (this.#isSettled) return true;
    if (stop?.aborted) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onStop: (() => void) | undefined;
    const giveUp = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
      onStop = () => resolve(false);
      stop?.addEventListener("abort", onStop, { once: true });
    });
    const done = await Promise.race([this.#settled.then(() => true as const), giveUp]);
    if (timer !== undefined) clearTimeout(timer);
    if (onStop) stop?.removeEventListener("abort", onStop);
    return done;
  }

  #set(phase: TurnPhase): void {
    if (phase === this.#phase) return;
    this.#phase = phase;
    this.#onPhase(this);
  }
}

const ORDER: Record<TurnPhase, number> = { transcribing: 0, generating: 1, speaking: 2, paused: 2, done: 3 };
const rank = (p: TurnPhase) => ORDER[p];
