// The client's time to first audio starts at the end of the user's turn: which moment that is.
import { describe, expect, it } from "vitest";
import { LatencyClock, firstAudioLatencyMs } from "../../../../client/session/latency-clock.ts";

describe("LatencyClock", () => {
  it("hands-free: the turn ended at the last voiced frame", () => {
    const c = new LatencyClock();
    c.voiced(1_000);
    c.voiced(1_020);
    expect(c.turnClosed(1_700)).toBe(1_020);
  });

  // Pressed at 1 000 ms, released at 2 800 ms.
  it.each([
    ["speech during the press ends the turn at its last voiced frame", 2_400, 2_400],
    ["speech running past the release ends the turn at the release", 2_900, 2_800],
    ["speech only before the press does not count; the release ends the turn", 900, 2_800],
  ])("push-to-talk: %s", (_, voicedAt, turnEnd) => {
    const c = new LatencyClock();
    c.voiced(voicedAt);
    c.pushToTalkCommitted(1_000, 2_800);
    expect(c.turnClosed(3_000)).toBe(turnEnd);
  });

  it("a typed send is the end of its turn, and is used once", () => {
    const c = new LatencyClock();
    c.voiced(500);
    c.textSent(4_000);
    expect(c.turnClosed(4_100)).toBe(4_000);
    expect(c.turnClosed(4_200)).toBe(500); // next turn: back to the last voiced frame
  });

  it("marks over 10 s old belong to an earlier turn: the turn ends now", () => {
    const c = new LatencyClock();
    c.voiced(1_000);
    c.textSent(1_000);
    expect(c.turnClosed(20_000)).toBe(20_000);
  });

  it("an abandoned turn's explicit end is forgotten", () => {
    const c = new LatencyClock();
    c.textSent(1_000);
    c.forget();
    expect(c.turnClosed(1_500)).toBe(1_500);
  });

  it("first audio latency is never negative", () => {
    expect(firstAudioLatencyMs(1_000, 1_850)).toBe(850);
    expect(firstAudioLatencyMs(1_000, 990)).toBe(0);
  });
});
