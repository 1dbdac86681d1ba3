// The client side of pause-confirm-resume interruptions: what the browser does when the user talks
// over the reply, and the races between its own events, the playback and the server's decisions.
import { beforeEach, describe, expect, it } from "vitest";
import {
  BargeInController,
  DECISION_GRACE_MS,
  RESUME_REWIND_MS,
  type BargeInEffects,
  type BargeInReport,
} from "../../../../client/session/barge-in.ts";

const SETTINGS = { minInterruptionMs: 500, falseInterruptionTimeoutMs: 1_500 };

/** A manual clock for the controller's timers. */
class FakeTimers {
  now = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown): void => {
    this.pending.delete(h as number);
  };
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = due[1].at;
      due[1].fn();
    }
    this.now = until;
  }
  get armed(): number {
    return this.pending.size;
  }
}

type Call = { pause: [] } | { resume: [number] } | { stop: [string] } | { learnEcho: [] };

function harness() {
  const calls: Call[] = [];
  const sent: BargeInReport[] = [];
  const effects: BargeInEffects = {
    pause: () => calls.push({ pause: [] }),
    resume: (rewindMs) => calls.push({ resume: [rewindMs] }),
    stop: (replyId) => calls.push({ stop: [replyId] }),
    send: (r) => sent.push(r),
    learnEcho: () => calls.push({ learnEcho: [] }),
    changed: () => undefined,
  };
  const timers = new FakeTimers();
  const c = new BargeInController(effects, timers);
  c.configure(SETTINGS);
  return { c, calls, sent, timers };
}

const FALLBACK_MS = SETTINGS.falseInterruptionTimeoutMs + DECISION_GRACE_MS;
const AUDIBLE = { replyId: "r1", playingMs: 2_400 };
const HELD = { replyId: "r1", segment: 1, playedMs: 820 };

/** Speech heard at 10 s over reply r1, which the player paused 90 ms later. */
function heldReply() {
  const h = harness();
  h.c.speechStarted(10_000, AUDIBLE);
  h.c.playbackPaused(HELD, 10_090);
  return h;
}

describe("barge-in: local speech over the reply", () => {
  let h: ReturnType<typeof harness>;
  beforeEach(() => {
    h = harness();
  });

  it("pauses at once, then sends onset with the held position, the speech so far and how long the reply had played", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    expect(h.calls).toEqual([{ pause: [] }]);
    expect(h.c.paused).toBe(true);
    expect(h.sent).toEqual([]); // not before playback is actually silent
    h.c.playbackPaused(HELD, 10_095);
    expect(h.sent).toEqual([{ ...HELD, event: "onset", speechMs: 95, playingMs: 2_400 }]);
    expect(h.c.stats).toMatchObject({ pauses: 1, lastPauseMs: 95 });
  });

  it("speech while nothing is audible opens no candidate", () => {
    h.c.speechStarted(10_000, null);
    expect(h.calls).toEqual([]);
    expect(h.c.paused).toBe(false);
  });

  it("reports sustained and ended once each, in order, with their speech lengths", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.playbackPaused(HELD, 10_090);
    h.c.sustained(500);
    h.c.sustained(500);
    h.c.speechEnded(1_240);
    expect(h.sent.map((r) => [r.event, r.speechMs])).toEqual([
      ["onset", 90],
      ["sustained", 500],
      ["ended", 1_240],
    ]);
    expect(h.sent.every((r) => r.replyId === "r1" && r.segment === 1 && r.playedMs === 820)).toBe(true);
  });

  it("sustained and ended that come before playback went silent follow the onset", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.sustained(500);
    h.c.speechEnded(600);
    expect(h.sent).toEqual([]);
    h.c.playbackPaused(HELD, 10_100);
    expect(h.sent.map((r) => r.event)).toEqual(["onset", "sustained", "ended"]);
  });

  it("confirmed stops the reply for good and times the confirm from the first voiced frame", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.playbackPaused(HELD, 10_090);
    h.c.sustained(500);
    h.c.decision("r1", "confirmed", "words", 10_780);
    expect(h.calls).toEqual([{ pause: [] }, { stop: ["r1"] }]);
    expect(h.c.paused).toBe(false);
    expect(h.c.stats).toMatchObject({ confirmed: 1, lastConfirmMs: 780, resumes: 0 });
    // The speech goes on and ends after the decision: nothing more is reported about a decided candidate.
    h.c.speechEnded(1_500);
    expect(h.sent.map((r) => r.event)).toEqual(["onset", "sustained"]);
    expect(h.timers.armed).toBe(0);
  });

  it("resumed plays on from a little before the pause; an echo verdict teaches the echo guard", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.playbackPaused(HELD, 10_090);
    h.c.speechEnded(300);
    h.c.decision("r1", "resumed", "echo", 11_000);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [RESUME_REWIND_MS] }, { learnEcho: [] }]);
    expect(RESUME_REWIND_MS).toBe(250);
    expect(h.c.stats).toMatchObject({ pauses: 1, resumes: 1, confirmed: 0 });
    expect(h.timers.armed).toBe(0); // the fallback is disarmed
  });

  it("a backchannel verdict resumes without touching the echo guard", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.playbackPaused(HELD, 10_090);
    h.c.decision("r1", "resumed", "backchannel", 11_000);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [RESUME_REWIND_MS] }]);
  });

  it("a second burst of speech while held reports nothing new", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.playbackPaused(HELD, 10_090);
    h.c.speechEnded(300);
    h.c.speechStarted(11_000, null);
    h.c.sustained(500);
    h.c.speechEnded(700);
    expect(h.sent.map((r) => r.event)).toEqual(["onset", "ended"]);
    expect(h.calls).toEqual([{ pause: [] }]);
  });

  it("when the reply ended just as the speech began (nothing held), the hold is released and nothing is sent", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.playbackPaused(null, 10_150);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [0] }]);
    expect(h.c.paused).toBe(false);
    expect(h.sent).toEqual([]);
    expect(h.c.stats.pauses).toBe(0);
  });

  it("a playback that names another reply (idle, reporting the last one it played) counts as nothing held", () => {
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.playbackPaused({ replyId: "r0", segment: 3, playedMs: 900 }, 10_100);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [0] }]);
    expect(h.sent).toEqual([]);
  });
});

describe("barge-in: safety when no decision comes", () => {
  it("resumes locally falseInterruptionTimeoutMs + 1 s after the local speech ended", () => {
    const h = heldReply();
    h.timers.advance(5_000); // still talking: no fallback while the speech lasts
    expect(h.c.paused).toBe(true);
    h.c.speechEnded(5_000);
    h.timers.advance(FALLBACK_MS - 1);
    expect(h.c.paused).toBe(true);
    h.timers.advance(1);
    expect(h.c.paused).toBe(false);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [RESUME_REWIND_MS] }]);
    expect(h.c.stats.resumes).toBe(1);
  });

  it("speech starting again before the fallback fires keeps the reply held; the wait restarts when it ends", () => {
    const h = heldReply();
    h.c.speechEnded(400);
    h.timers.advance(FALLBACK_MS - 100);
    h.c.speechStarted(13_000, null);
    h.timers.advance(FALLBACK_MS);
    expect(h.c.paused).toBe(true);
    h.c.speechEnded(600);
    h.timers.advance(FALLBACK_MS);
    expect(h.c.paused).toBe(false);
  });

  it("a resume that arrives after the local fallback already resumed is ignored", () => {
    const h = heldReply();
    h.c.speechEnded(300);
    h.timers.advance(FALLBACK_MS);
    h.c.decision("r1", "resumed", "echo", 14_000);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [RESUME_REWIND_MS] }]);
    expect(h.c.stats.resumes).toBe(1);
  });

  it("a confirm that arrives after the local fallback resumed still stops the reply", () => {
    const h = heldReply();
    h.c.speechEnded(300);
    h.timers.advance(FALLBACK_MS);
    h.c.decision("r1", "confirmed", "words", 14_000);
    expect(h.calls.at(-1)).toEqual({ stop: ["r1"] });
    expect(h.c.stats.confirmed).toBe(1);
  });

  it("a dropped connection resumes at once, and the decision after the reconnect does not resume twice", () => {
    const h = heldReply();
    h.c.connectionLost();
    expect(h.calls).toEqual([{ pause: [] }, { resume: [RESUME_REWIND_MS] }]);
    expect(h.timers.armed).toBe(0);
    h.c.decision("r1", "resumed", "timeout", 16_000);
    expect(h.calls).toHaveLength(2);
  });

  it("Stop (or a push-to-talk press) abandons the candidate: no late resume of the stopped reply", () => {
    const h = heldReply();
    h.c.speechEnded(300);
    h.c.abandon();
    h.timers.advance(FALLBACK_MS * 2);
    h.c.decision("r1", "resumed", "timeout", 20_000);
    expect(h.calls).toEqual([{ pause: [] }]);
    expect(h.c.paused).toBe(false);
  });
});

describe("barge-in: the server's own pause", () => {
  it("holds playback without sending anything, until the server's decision", () => {
    const h = harness();
    h.c.serverState("paused", "r2", true);
    expect(h.calls).toEqual([{ pause: [] }]);
    expect(h.c.pausedReplyId).toBe("r2");
    h.c.playbackPaused(null, 5_000); // nothing of r2 has arrived yet: keep holding
    h.c.speechEnded(900);
    expect(h.c.paused).toBe(true);
    expect(h.sent).toEqual([]);
    h.c.decision("r2", "resumed", "noise", 6_000);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [RESUME_REWIND_MS] }]);
    expect(h.c.stats).toMatchObject({ pauses: 0, resumes: 0 }); // nothing audible was paused
  });

  it("without local speech, the fallback counts from the pause", () => {
    const h = harness();
    h.c.serverState("paused", "r2", false);
    h.timers.advance(FALLBACK_MS);
    expect(h.c.paused).toBe(false);
    expect(h.calls.at(-1)).toEqual({ resume: [RESUME_REWIND_MS] });
  });

  it("a confirmed server candidate stops the reply", () => {
    const h = harness();
    h.c.serverState("paused", "r2", false);
    h.c.playbackPaused({ replyId: "r2", segment: 0, playedMs: 0 }, 5_000);
    h.c.decision("r2", "confirmed", "words", 6_000);
    expect(h.calls).toEqual([{ pause: [] }, { stop: ["r2"] }]);
    expect(h.c.stats.lastConfirmMs).toBeNull(); // no local speech to time it from
  });

  it("the server going back to the reply after acknowledging the pause means it resumed", () => {
    const h = harness();
    h.c.serverState("paused", "r2", false);
    h.c.serverState("thinking", "r2", false);
    expect(h.c.paused).toBe(false);
    expect(h.calls).toEqual([{ pause: [] }, { resume: [RESUME_REWIND_MS] }]);
  });

  it("a `speaking` sent before the server took our onset does not resume; one after its `paused` does", () => {
    const h = heldReply();
    h.c.serverState("speaking", "r1", true); // in flight when the onset went out
    expect(h.c.paused).toBe(true);
    h.c.serverState("paused", "r1", true); // the server acknowledges our candidate: no second pause
    expect(h.calls).toEqual([{ pause: [] }]);
    h.c.serverState("speaking", "r1", false);
    expect(h.c.paused).toBe(false);
  });

  it("a `paused` for another reply while ours is held changes nothing", () => {
    const h = harness();
    h.c.speechStarted(10_000, AUDIBLE);
    h.c.serverState("paused", "r9", true);
    expect(h.c.pausedReplyId).toBe("r1");
    expect(h.calls).toEqual([{ pause: [] }]);
  });
});

describe("barge-in: decisions about other replies", () => {
  it("a decision for another reply leaves the held one alone", () => {
    const h = heldReply();
    h.c.decision("r0", "resumed", "echo", 10_500);
    expect(h.calls).toEqual([{ pause: [] }]);
    expect(h.c.paused).toBe(true);
  });

  it("a confirmed interruption the client did not pause for (it judged the speech echo) stops that reply", () => {
    const h = harness();
    h.c.decision("r1", "confirmed", "words", 12_000);
    expect(h.calls).toEqual([{ stop: ["r1"] }]);
    expect(h.c.stats).toMatchObject({ confirmed: 1, lastConfirmMs: null });
  });
});
