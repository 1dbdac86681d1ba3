// The client side of hands-free interruptions (protocol 2: pause, decide, resume). Talking over the
// reply opens a candidate: playback pauses at once and the server is told (`barge-in` onset, then
// sustained / ended as the speech goes on); the server decides. Confirmed: the reply stops for
// good. Resumed: it plays on from a little before the pause, so the word that was cut is heard
// whole. The server may also open a candidate itself (`state: paused`, while the reply is being
// prepared): playback is held the same way until its decision.
//
// Safety: a held reply must never stay silent because a decision got lost. Without a decision
// within the server's falseInterruptionTimeoutMs + DECISION_GRACE_MS after the local speech ended
// (or after the pause, when no local speech was heard), or when the connection drops, playback
// resumes locally; a late `resumed` is then ignored, a late `confirmed` still stops the reply.
//
// Candidate lifecycle (one at a time):
//   idle --local speech over audible reply--> pausing --playback silent--> open (onset sent)
//   idle --server `paused`--> held (no messages: the server opened it)
//   pausing/open/held --confirmed--> idle (stop) | --resumed / implied / fallback / drop--> idle (resume)
// Pure: no DOM; playback, the socket and timers are injected.
import type { InterruptionReason, SessionState, TurnTakingSettings } from "../../shared/protocol.ts";

/** Replayed from before the pause point on resume, so the cut word is heard whole. */
export const RESUME_REWIND_MS = 250;
/** Waited beyond the server's own dismissal timeout before resuming locally. */
export const DECISION_GRACE_MS = 1_000;

export interface PausedAt {
  replyId: string;
  segment: number;
  playedMs: number;
}

export interface BargeInReport extends PausedAt {
  event: "onset" | "sustained" | "ended";
  speechMs: number;
  playingMs: number;
}

export interface BargeInEffects {
  /** Hold playback (fade out); the playback answers through playbackPaused(). */
  pause(): void;
  /** Play on, `rewindMs` before the pause point, fading in. */
  resume(rewindMs: number): void;
  /** Stop this reply for good: drop its audio, report where it stopped, show it interrupted. */
  stop(replyId: string): void;
  send(report: BargeInReport): void;
  /** The server judged the speech to be the reply's own echo. */
  learnEcho(): void;
  /** Paused or not changed (views refresh); `why` is for the log. */
  changed(why: string): void;
}

export interface BargeInTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface BargeInStats {
  /** Playback paused (by local speech or for the server). */
  pauses: number;
  /** Playback resumed (by the server's decision, or locally as a fallback). */
  resumes: number;
  /** Interruptions the server confirmed. */
  confirmed: number;
  /** First voiced frame of the user's speech -> playback silent, ms. */
  lastPauseMs: number | null;
  /** First voiced frame of the user's speech -> `interruption confirmed` received, ms. */
  lastConfirmMs: number | null;
}

interface Candidate {
  /** "client": opened by the local detector (we send barge-in); "server": the server's `paused`. */
  origin: "client" | "server";
  replyId: string;
  /** Audio-clock ms of the first voiced frame of the speech that opened it (client origin). */
  speechStartMs: number | null;
  /** How long the reply had been audible when the speech began. */
  playingMs: number;
  speaking: boolean;
  pausedAt: PausedAt | null;
  onsetSent: boolean;
  /** Reported speech lengths (sent once the onset has gone out). */
  sustainedMs: number | null;
  sustainedSent: boolean;
  endedMs: number | null;
  endedSent: boolean;
  /** The server said `paused` for this reply: a later `speaking`/`thinking` for it means it resumed. */
  acknowledged: boolean;
  fallback: unknown;
}

function newCandidate(c: Pick<Candidate, "origin" | "replyId" | "speechStartMs" | "playingMs" | "speaking" | "acknowledged">): Candidate {
  return {
    ...c,
    pausedAt: null,
    onsetSent: false,
    sustainedMs: null,
    sustainedSent: false,
    endedMs: null,
    endedSent: false,
    fallback: null,
  };
}

export class BargeInController {
  private candidate: Candidate | null = null;
  private falseInterruptionTimeoutMs = 2_000;
  readonly stats: BargeInStats = { pauses: 0, resumes: 0, confirmed: 0, lastPauseMs: null, lastConfirmMs: null };

  private readonly effects: BargeInEffects;
  private readonly timers: BargeInTimers;

  constructor(effects: BargeInEffects, timers: BargeInTimers) {
    this.effects = effects;
    this.timers = timers;
  }

  /** The server's turn-taking settings (from `ready`). */
  configure(settings: TurnTakingSettings): void {
    this.falseInterruptionTimeoutMs = settings.falseInterruptionTimeoutMs;
  }

  /** Playback is held for a candidate. */
  get paused(): boolean {
    return this.candidate !== null;
  }

  get pausedReplyId(): string | null {
    return this.candidate?.replyId ?? null;
  }

  /** How long after local speech ends the client waits for a decision before resuming by itself. */
  private get fallbackMs(): number {
    return this.falseInterruptionTimeoutMs + DECISION_GRACE_MS;
  }

  /**
   * The local detector heard speech begin (first voiced frame at `speechStartMs`, audio clock).
   * `audible`: the reply being heard right now, if any (hands-free, unmuted). Speech over an audible
   * reply opens a candidate; speech while one is open only keeps it waiting.
   */
  speechStarted(speechStartMs: number, audible: { replyId: string; playingMs: number } | null): void {
    const c = this.candidate;
    if (c) {
      c.speaking = true;
      this.clearFallback(c);
      return;
    }
    if (!audible) return;
    this.candidate = newCandidate({
      origin: "client",
      replyId: audible.replyId,
      speechStartMs,
      playingMs: audible.playingMs,
      speaking: true,
      acknowledged: false,
    });
    this.effects.pause();
    this.effects.changed(`pause: speech over ${audible.replyId}`);
  }

  /** Playback went silent at `at` (heard at `heardAtMs`), or could not be paused (null: nothing was playing). */
  playbackPaused(at: PausedAt | null, heardAtMs: number): void {
    const c = this.candidate;
    if (!c || c.pausedAt) return;
    // The playback names where it holds; an idle one names the last reply it played, not this one.
    if (!at || at.replyId !== c.replyId) {
      // Nothing of this reply to hold for local speech (it ended just then): release the hold at
      // once. A server candidate keeps holding: its reply's audio has not arrived yet.
      if (c.origin === "client") {
        this.close(c);
        this.effects.resume(0);
        this.effects.changed("pause: nothing was playing");
      }
      return;
    }
    c.pausedAt = at;
    this.stats.pauses++;
    if (c.origin === "client" && c.speechStartMs !== null) this.stats.lastPauseMs = Math.max(0, heardAtMs - c.speechStartMs);
    this.flush(c, heardAtMs);
  }

  /** The local speech has lasted `speechMs` (the server's minInterruptionMs). */
  sustained(speechMs: number): void {
    const c = this.candidate;
    if (!c || c.origin !== "client" || c.sustainedMs !== null || c.endedMs !== null) return;
    c.sustainedMs = speechMs;
    this.flush(c);
  }

  /** The local speech ended after `speechMs`. */
  speechEnded(speechMs: number): void {
    const c = this.candidate;
    if (!c) return;
    c.speaking = false;
    if (c.origin === "client" && c.endedMs === null) {
      c.endedMs = speechMs;
      this.flush(c);
    }
    this.armFallback(c);
  }

  /** The server's `state` event. */
  serverState(state: SessionState, replyId: string | undefined, localSpeaking: boolean): void {
    const c = this.candidate;
    if (state === "paused") {
      if (!replyId) return;
      if (c) {
        if (c.replyId === replyId) c.acknowledged = true;
        return;
      }
      // A candidate the server opened (its VAD heard the user while the reply was being prepared).
      const held = newCandidate({
        origin: "server",
        replyId,
        speechStartMs: null,
        playingMs: 0,
        speaking: localSpeaking,
        acknowledged: true,
      });
      this.candidate = held;
      this.effects.pause();
      if (!localSpeaking) this.armFallback(held);
      this.effects.changed(`hold: server paused ${replyId}`);
      return;
    }
    // After acknowledging the pause, the server going back to this reply means it resumed it
    // (covers an `interruption` event that never comes).
    if (c && c.acknowledged && replyId === c.replyId && (state === "speaking" || state === "thinking")) {
      this.resumeNow(c, `resume: server back to ${state}`);
    }
  }

  /** The server's `interruption` decision, received at `nowMs` (audio clock). */
  decision(replyId: string, decision: "confirmed" | "resumed", reason: InterruptionReason, nowMs: number): void {
    const c = this.candidate;
    if (c && c.replyId === replyId) {
      if (decision === "confirmed") {
        this.close(c);
        this.stats.confirmed++;
        if (c.speechStartMs !== null) this.stats.lastConfirmMs = Math.max(0, nowMs - c.speechStartMs);
        this.effects.stop(replyId);
        this.effects.changed(`confirmed (${reason})`);
      } else {
        this.resumeNow(c, `resumed (${reason})`);
        if (reason === "echo") this.effects.learnEcho();
      }
      return;
    }
    if (decision === "confirmed") {
      // Speech the client did not pause for (judged echo here), or a decision after the local
      // fallback resumed: the server has ended the reply either way, so it stops now.
      this.stats.confirmed++;
      this.effects.stop(replyId);
      this.effects.changed(`confirmed (${reason}) without a local pause`);
    }
    // A `resumed` with nothing held (already resumed locally, or never paused here): nothing to do.
  }

  /** The connection dropped: nobody will decide the candidate, so play on now. */
  connectionLost(): void {
    const c = this.candidate;
    if (c) this.resumeNow(c, "resume: connection lost");
  }

  /** The reply was stopped some other way (Stop, push-to-talk, typed text): forget the candidate. */
  abandon(): void {
    const c = this.candidate;
    if (!c) return;
    this.close(c);
    this.effects.changed("candidate abandoned");
  }

  /** A new conversation: forget the candidate without touching playback (it is being reset). */
  reset(): void {
    if (this.candidate) this.close(this.candidate);
  }

  private flush(c: Candidate, nowMs?: number): void {
    const at = c.pausedAt;
    if (c.origin !== "client" || !at) return;
    const report = (event: BargeInReport["event"], speechMs: number) =>
      this.effects.send({ ...at, event, speechMs: Math.max(0, Math.round(speechMs)), playingMs: Math.round(c.playingMs) });
    if (!c.onsetSent) {
      c.onsetSent = true;
      report("onset", nowMs !== undefined && c.speechStartMs !== null ? nowMs - c.speechStartMs : 0);
    }
    if (c.sustainedMs !== null && !c.sustainedSent) {
      c.sustainedSent = true;
      report("sustained", c.sustainedMs);
    }
    if (c.endedMs !== null && !c.endedSent) {
      c.endedSent = true;
      report("ended", c.endedMs);
    }
  }

  private armFallback(c: Candidate): void {
    this.clearFallback(c);
    c.fallback = this.timers.setTimeout(() => {
      c.fallback = null;
      if (this.candidate === c) this.resumeNow(c, `resume: no decision ${this.fallbackMs} ms after the speech ended`);
    }, this.fallbackMs);
  }

  private clearFallback(c: Candidate): void {
    if (c.fallback !== null) this.timers.clearTimeout(c.fallback);
    c.fallback = null;
  }

  private resumeNow(c: Candidate, why: string): void {
    this.close(c);
    if (c.pausedAt) this.stats.resumes++;
    this.effects.resume(RESUME_REWIND_MS);
    this.effects.changed(why);
  }

  private close(c: Candidate): void {
    this.clearFallback(c);
    if (this.candidate === c) this.candidate = null;
  }
}
