// How fast outgoing audio goes to Twilio: slightly ahead of real time. Twilio plays what it has
// buffered at real time; sending far ahead would make a `clear` necessary for everything and the
// playback position unknowable, sending just in time risks gaps. The pacer tracks until when the
// audio already sent will play and lets frames out while that is less than `leadMs` ahead. Pure.

export class MediaPacer {
  readonly frameMs: number;
  readonly leadMs: number;
  /** Wall time (ms) at which everything sent so far will have played; <= now when Twilio's buffer is empty. */
  #playsUntil = 0;

  constructor(frameMs: number, leadMs: number) {
    this.frameMs = frameMs;
    this.leadMs = leadMs;
  }

  /** Frames that may be sent at `now`. */
  room(now: number): number {
    return Math.max(0, Math.floor((now + this.leadMs - Math.max(this.#playsUntil, now)) / this.frameMs));
  }

  /** Nothing is buffered at Twilio: the next frame starts playing as it arrives. */
  idle(now: number): boolean {
    return this.#playsUntil <= now;
  }

  sent(now: number, frames = 1): void {
    this.#playsUntil = Math.max(this.#playsUntil, now) + frames * this.frameMs;
  }

  /** Twilio dropped its buffer (`clear`). */
  cleared(now: number): void {
    this.#playsUntil = now;
  }

  /** When a frame may next be sent (for the send timer). */
  nextRoomAt(now: number): number {
    return Math.max(now, Math.max(this.#playsUntil, now) + this.frameMs - this.leadMs);
  }
}
