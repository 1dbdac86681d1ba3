// Push-to-talk: what goes upstream around a press, and when the turn is committed.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { PushToTalk } from "../../../../client/session/push-to-talk.ts";

function harness(connected = true) {
  const sent: number[] = [];
  const commits: [number, number][] = [];
  let commitsAsked = 0;
  const io = {
    connected,
    sendAudio: (pcm: ArrayBuffer) => {
      if (!io.connected) return false;
      sent.push(new Uint8Array(pcm)[0]!);
      return true;
    },
    commit: () => {
      commitsAsked++;
      return io.connected;
    },
    committed: (pressedAtMs: number, releasedAtMs: number) => commits.push([pressedAtMs, releasedAtMs]),
  };
  const ptt = new PushToTalk(io, {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as number),
  });
  /** Frame number n (its first byte says which). */
  const frame = (n: number) => new Uint8Array(640).fill(n).buffer;
  return { ptt, io, sent, commits, frame, commitsAsked: () => commitsAsked };
}

describe("PushToTalk", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("sends nothing until pressed; a press sends the last 300 ms before it, then every frame while held", () => {
    const h = harness();
    for (let n = 1; n <= 20; n++) h.ptt.frame(h.frame(n), true);
    expect(h.sent).toEqual([]);
    h.ptt.press(10_000);
    expect(h.sent).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]); // 15 frames of pre-roll
    h.ptt.frame(h.frame(21), true);
    h.ptt.frame(h.frame(22), true);
    expect(h.sent.slice(-2)).toEqual([21, 22]);
    expect(h.ptt.held).toBe(true);
  });

  it("keeps sending for 150 ms after the release, then commits once with the press (pre-roll included) and release times", () => {
    const h = harness();
    h.ptt.press(10_000);
    h.ptt.frame(h.frame(1), true);
    h.ptt.release(12_000);
    expect(h.ptt.sending).toBe(true);
    vi.advanceTimersByTime(100);
    h.ptt.frame(h.frame(2), true); // the tail
    expect(h.commits).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(h.commits).toEqual([[10_000 - 300, 12_000]]);
    h.ptt.frame(h.frame(3), true); // after the tail: pre-roll again, not sent
    expect(h.sent).toEqual([1, 2]);
  });

  it("a press during the tail continues the same turn: one commit for both presses", () => {
    const h = harness();
    h.ptt.press(10_000);
    h.ptt.frame(h.frame(1), true);
    h.ptt.release(11_000);
    vi.advanceTimersByTime(100);
    h.ptt.press(11_100);
    h.ptt.frame(h.frame(2), true);
    h.ptt.release(12_000);
    vi.advanceTimersByTime(150);
    expect(h.commits).toEqual([[9_700, 12_000]]);
    expect(h.commitsAsked()).toBe(1);
  });

  it("a press with nothing sent commits nothing", () => {
    const h = harness(false);
    h.ptt.press(10_000);
    h.ptt.frame(h.frame(1), true);
    h.ptt.release(11_000);
    vi.advanceTimersByTime(200);
    expect(h.commitsAsked()).toBe(0);
  });

  it("keeps no pre-roll while it may not be used (disconnected or muted): stale audio never goes with a press", () => {
    const h = harness();
    for (let n = 1; n <= 5; n++) h.ptt.frame(h.frame(n), true);
    h.ptt.frame(h.frame(6), false);
    h.ptt.frame(h.frame(7), true);
    h.ptt.press(10_000);
    expect(h.sent).toEqual([7]);
  });

  it("a commit the server could not get reports no committed turn", () => {
    const h = harness();
    h.ptt.press(10_000);
    h.ptt.frame(h.frame(1), true);
    h.io.connected = false;
    h.ptt.release(11_000);
    vi.advanceTimersByTime(150);
    expect(h.commitsAsked()).toBe(1);
    expect(h.commits).toEqual([]);
  });

  it("cancel drops the press, the tail and the pre-roll; nothing is committed", () => {
    const h = harness();
    h.ptt.frame(h.frame(1), true);
    h.ptt.press(10_000);
    h.ptt.frame(h.frame(2), true);
    h.ptt.release(11_000);
    h.ptt.cancel();
    expect(h.ptt.sending).toBe(false);
    vi.advanceTimersByTime(500);
    expect(h.commitsAsked()).toBe(0);
    h.ptt.frame(h.frame(3), true);
    h.ptt.cancel();
    h.ptt.press(12_000);
    expect(h.sent).toEqual([1, 2]); // frame 3 was pre-roll, dropped by the cancel
  });
});
