import { describe, expect, it } from "vitest";
import { TurnHandle, type TurnPhase } from "../../../../server/turn/turn-handle.ts";

function handle(initial: "transcribing" | "generating" = "transcribing") {
  const seen: TurnPhase[] = [];
  const t = new TurnHandle({ turnId: "t-1", replyId: "r-1" }, initial, (h) => seen.push(h.phase));
  return { t, seen };
}

describe("TurnHandle", () => {
  it("moves forward through its phases only, and reports each change", () => {
    const { t, seen } = handle();
    t.advance("generating", 10);
    t.advance("speaking", 20);
    t.advance("generating", 30); // never backwards
    expect(t.phase).toBe("speaking");
    expect(t.firstAudioAt).toBe(20);
    t.finish();
    expect(seen).toEqual(["generating", "speaking", "done"]);
  });

  it("interrupt keeps the first reason and aborts the signal once", () => {
    const { t } = handle();
    const reasons: unknown[] = [];
    t.signal.addEventListener("abort", () => reasons.push(t.signal.reason));
    t.interrupt("barge-in");
    t.interrupt("cancel");
    expect(t.reason).toBe("barge-in");
    expect(t.interrupted).toBe(true);
    expect(reasons).toHaveLength(1);
  });

  it("a finished turn can no longer be interrupted", () => {
    const { t } = handle();
    t.finish();
    t.interrupt("cancel");
    expect(t.reason).toBeNull();
    expect(t.signal.aborted).toBe(false);
  });

  it("pause holds the phase it came from; audio sent while paused still counts and resume goes back to speaking", () => {
    const { t } = handle("generating");
    t.pause(100); // a candidate while the reply is being prepared
    expect(t.phase).toBe("paused");
    t.advance("speaking", 150); // first audio went out while paused
    expect(t.phase).toBe("paused");
    expect(t.firstAudioAt).toBe(150);
    t.resume(400);
    expect(t.phase).toBe("speaking");
  });

  it("time paused while audible pushes the playback deadline back", () => {
    const { t } = handle("generating");
    t.advance("speaking", 1_000);
    t.audioMs = 5_000;
    expect(t.playbackDeadline(2_000)).toBe(8_000);
    t.pause(2_000);
    t.resume(3_500);
    expect(t.pausedMs).toBe(1_500);
    expect(t.playbackDeadline(2_000)).toBe(9_500);
    expect(handle().t.playbackDeadline(2_000)).toBeNull(); // nothing sent: no playback to wait for
  });

  it("a wedged previous turn cannot block the next one: settledWithin gives up after its bound", async () => {
    const { t } = handle();
    t.track(new Promise(() => {})); // never settles
    const started = Date.now();
    expect(await t.settledWithin(40)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    expect(t.isSettled).toBe(false);

    const { t: ok } = handle();
    ok.track(Promise.reject(new Error("crashed"))); // a crash still counts as settled
    expect(await ok.settledWithin(1_000)).toBe(true);
  });

  it("a turn superseded while it waits for the previous one stops waiting at once, so rapid turns do not queue up", async () => {
    const { t: wedged } = handle();
    wedged.track(new Promise(() => {}));
    const stop = new AbortController();
    const started = Date.now();
    const waiting = wedged.settledWithin(5_000, stop.signal);
    setTimeout(() => stop.abort(), 20);
    expect(await waiting).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await wedged.settledWithin(5_000, stop.signal)).toBe(false); // already stopped: no wait at all
  });
});
