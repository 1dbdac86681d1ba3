// When a session stops paying for its connections. Without hibernation (server/voice-session.ts) a
// live WebSocket keeps its Durable Object in memory and billed for duration, so a tab left open with
// nobody talking would cost money for hours. After `idleCloseMs` with no speech, no typed message, no
// control message and nothing being prepared or said, the session closes its connections
// (CLOSE_CODES.idle); the client stays disconnected until its user comes back. Pings do not count:
// the client sends them on a timer, with nobody there.
export class IdleWatch {
  private readonly idleCloseMs: number;
  private lastActivityAt: number;

  /** `idleCloseMs` 0 turns idle closing off. */
  constructor(idleCloseMs: number, now: number) {
    this.idleCloseMs = idleCloseMs;
    this.lastActivityAt = now;
  }

  /** Someone spoke, typed, or the assistant did something the user follows. */
  touch(now: number): void {
    if (now > this.lastActivityAt) this.lastActivityAt = now;
  }

  /** When to look again: the earliest time the session could be idle; null when idle closing is off. */
  nextCheckAt(): number | null {
    return this.idleCloseMs > 0 ? this.lastActivityAt + this.idleCloseMs : null;
  }

  /** Idle long enough to close. A busy session (a turn in flight, the user speaking) counts as active now. */
  expired(now: number, busy: boolean): boolean {
    if (this.idleCloseMs <= 0) return false;
    if (busy) {
      this.touch(now);
      return false;
    }
    return now - this.lastActivityAt >= this.idleCloseMs;
  }
}
