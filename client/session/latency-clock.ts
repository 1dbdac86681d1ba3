// The client's time to first audio: from the end of the user's turn (the last voiced frame, a
// push-to-talk release, or a typed send) to the first reply audio heard. All times are the audio
// clock (AudioContext time) in milliseconds, so capture and playback timestamps compare directly.
// Pure: no DOM.

/** Marks older than this when the server starts thinking belong to an earlier turn (a commit that produced none). */
const STALE_AFTER_MS = 10_000;

export class LatencyClock {
  private lastVoicedMs: number | null = null;
  /** An explicit end of turn (push-to-talk release, typed send) waiting for the server to start thinking. */
  private explicitEndMs: number | null = null;

  /** A voiced frame of the user's speech ended at `atMs`. */
  voiced(atMs: number): void {
    this.lastVoicedMs = atMs;
  }

  /** Push-to-talk committed: the turn ended at the last speech during the press, or at the release if speech ran on (or there was none). */
  pushToTalkCommitted(pressedAtMs: number, releasedAtMs: number): void {
    const voiced = this.lastVoicedMs;
    const spokeDuringPress = voiced !== null && voiced >= pressedAtMs;
    this.explicitEndMs = spokeDuringPress ? Math.min(voiced, releasedAtMs) : releasedAtMs;
  }

  /** A typed message was sent at `atMs`. */
  textSent(atMs: number): void {
    this.explicitEndMs = atMs;
  }

  /** The turn in progress was abandoned (the user stopped the assistant, or cut it by talking). */
  forget(): void {
    this.explicitEndMs = null;
  }

  /**
   * The server started thinking at `nowMs`: when did the user's turn end? The explicit end if fresh,
   * else the last voiced frame if fresh, else now.
   */
  turnClosed(nowMs: number): number {
    const fresh = (t: number | null): t is number => t !== null && nowMs - t < STALE_AFTER_MS;
    const end = fresh(this.explicitEndMs) ? this.explicitEndMs : fresh(this.lastVoicedMs) ? this.lastVoicedMs : nowMs;
    this.explicitEndMs = null;
    return end;
  }
}

/** End of turn -> first audio heard, ms (never negative: the audio clock is coarse). */
export function firstAudioLatencyMs(turnEndMs: number, heardAtMs: number): number {
  return Math.max(0, heardAtMs - turnEndMs);
}
