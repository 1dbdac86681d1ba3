// Push-to-talk: microphone frames go upstream only while the button (or Space) is held, plus a
// short pre-roll from just before the press (people start talking a hair early; the server's VAD
// also learns the room's noise floor from it) and a short tail after the release (people let go
// while finishing a word). The turn is committed when the tail ends, if anything was sent.
// A press during the tail continues the same turn.
// Pure: no DOM; timers and the clock are injected.

export interface Timers {
  /** Wall clock, ms (performance.now in the browser). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface PushToTalkIo {
  /** Send one frame upstream; false when it could not be sent (not connected). */
  sendAudio(pcm: ArrayBuffer): boolean;
  /** Send `commit`; false when not connected. */
  commit(): boolean;
  /** A turn was committed: when the press began (pre-roll included) and when it was released, audio clock ms. */
  committed(pressedAtMs: number, releasedAtMs: number): void;
}

/** Frames kept from before the press and sent with it: 300 ms. */
const PRE_ROLL_FRAMES = 15;
const FRAME_MS = 20;
/** Frames keep going upstream this long after the release. */
const TAIL_MS = 150;

export class PushToTalk {
  private heldValue = false;
  private tailUntilMs = 0;
  private commitTimer: unknown = null;
  private sentFrames = 0;
  private preRoll: ArrayBuffer[] = [];
  private pressedAtMs = 0;

  constructor(
    private readonly io: PushToTalkIo,
    private readonly timers: Timers,
  ) {}

  get held(): boolean {
    return this.heldValue;
  }

  /** Frames go upstream now (held, or in the tail after the release). */
  get sending(): boolean {
    return this.heldValue || this.timers.now() < this.tailUntilMs;
  }

  /**
   * A captured frame. Sent while held or in the tail; otherwise kept as pre-roll when it may be
   * used (`keepable`: connected and not muted, so the pre-roll is never stale or muted audio).
   */
  frame(pcm: ArrayBuffer, keepable: boolean): void {
    if (this.sending) {
      if (this.io.sendAudio(pcm)) this.sentFrames++;
      return;
    }
    if (!keepable) {
      this.preRoll = [];
      return;
    }
    this.preRoll.push(pcm);
    if (this.preRoll.length > PRE_ROLL_FRAMES) this.preRoll.shift();
  }

  /** Pressed at `audioNowMs` (audio clock). */
  press(audioNowMs: number): void {
    if (this.heldValue) return;
    if (this.commitTimer !== null) {
      // Pressed again during the tail of the previous press: it continues the same turn.
      this.timers.clearTimeout(this.commitTimer);
      this.commitTimer = null;
    } else {
      this.sentFrames = 0;
      for (const pcm of this.preRoll) if (this.io.sendAudio(pcm)) this.sentFrames++;
      this.pressedAtMs = audioNowMs - PRE_ROLL_FRAMES * FRAME_MS;
    }
    this.preRoll = [];
    this.heldValue = true;
  }

  /** Released at `audioNowMs` (audio clock): the tail runs, then the turn is committed. */
  release(audioNowMs: number): void {
    if (!this.heldValue) return;
    this.heldValue = false;
    this.tailUntilMs = this.timers.now() + TAIL_MS;
    const pressedAtMs = this.pressedAtMs;
    this.commitTimer = this.timers.setTimeout(() => {
      this.commitTimer = null;
      if (this.sentFrames > 0 && this.io.commit()) this.io.committed(pressedAtMs, audioNowMs);
      this.sentFrames = 0;
    }, TAIL_MS);
  }

  /** Forget the press, the tail and the pre-roll (connection lost, mode changed). Nothing is committed. */
  cancel(): void {
    this.preRoll = [];
    this.heldValue = false;
    this.tailUntilMs = 0;
    if (this.commitTimer !== null) this.timers.clearTimeout(this.commitTimer);
    this.commitTimer = null;
    this.sentFrames = 0;
  }
}
