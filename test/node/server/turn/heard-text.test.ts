import { describe, expect, it } from "vitest";
import { currentPosition, heardText, positionAfter, wordsPlayedAround, type SpokenSegment } from "../../../../server/turn/heard-text.ts";

const segs: SpokenSegment[] = [
  { text: "Hello there.", durationMs: 1000 },
  { text: "This is the second sentence.", durationMs: 2000 },
  { text: "Bye.", durationMs: 500 },
];

describe("heard text", () => {
  it("nothing played means nothing heard", () => {
    expect(heardText(segs, { segment: 0, playedMs: 0 })).toBe("");
    expect(heardText([], { segment: 0, playedMs: 500 })).toBe("");
  });

  it("keeps whole earlier segments and the words of the current one that fit the played share", () => {
    // 50% of "This is the second sentence." (28 chars) = 14 chars -> "This is the" ends at 11.
    expect(heardText(segs, { segment: 1, playedMs: 1000 })).toBe("Hello there. This is the");
  });

  it("never keeps half a word", () => {
    // 20% of 12 chars = 2.4 chars: "Hello" ends at 5, so nothing of segment 0 is heard.
    expect(heardText(segs, { segment: 0, playedMs: 200 })).toBe("");
    expect(heardText(segs, { segment: 0, playedMs: 450 })).toBe("Hello");
  });

  it("a position past the last segment hears everything sent", () => {
    expect(heardText(segs, { segment: 3, playedMs: 0 })).toBe("Hello there. This is the second sentence. Bye.");
    expect(heardText(segs, { segment: 2, playedMs: 9999 })).toBe("Hello there. This is the second sentence. Bye.");
  });

  it("positionAfter walks the segment durations", () => {
    expect(positionAfter(segs, 0)).toEqual({ segment: 0, playedMs: 0 });
    expect(positionAfter(segs, 1500)).toEqual({ segment: 1, playedMs: 500 });
    expect(positionAfter(segs, 3499)).toEqual({ segment: 2, playedMs: 499 });
    expect(positionAfter(segs, 10_000)).toEqual({ segment: 3, playedMs: 0 });
  });

  it("currentPosition prefers a stop report, advances a playing report, and otherwise assumes continuous playback", () => {
    const stop = { segment: 1, playedMs: 300, state: "stopped" as const, at: 100 };
    expect(currentPosition(segs, 0, stop, 99_999)).toEqual({ segment: 1, playedMs: 300 });
    const playing = { segment: 0, playedMs: 800, state: "playing" as const, at: 1000 };
    expect(currentPosition(segs, 0, playing, 1500)).toEqual({ segment: 1, playedMs: 300 });
    expect(currentPosition(segs, 2000, undefined, 3200)).toEqual({ segment: 1, playedMs: 200 });
    expect(currentPosition(segs, null, undefined, 3200)).toEqual({ segment: 0, playedMs: 0 });
    expect(currentPosition(segs, 0, { ...playing, state: "finished" }, 1)).toEqual({ segment: 3, playedMs: 0 });
  });
});

describe("words played around a position (for recognising echo)", () => {
  it("takes the words whose time falls in the window, across segment boundaries", () => {
    // 1.2 s into the second segment ("This is the second sentence."): back 1.5 s reaches "there." of the first.
    expect(wordsPlayedAround(segs, { segment: 1, playedMs: 1200 }, 1500, 0)).toBe("there. This is the second");
    expect(wordsPlayedAround(segs, { segment: 0, playedMs: 0 }, 1000, 300)).toBe("Hello");
    expect(wordsPlayedAround(segs, { segment: 3, playedMs: 0 }, 400, 400)).toBe("Bye.");
    expect(wordsPlayedAround([], { segment: 0, playedMs: 0 }, 4000, 600)).toBe("");
  });

  it("a paused report holds the position: the reply is not heard while paused", () => {
    const report = { segment: 1, playedMs: 500, state: "paused" as const, at: 1000 };
    expect(currentPosition(segs, 0, report, 60_000)).toEqual({ segment: 1, playedMs: 500 });
  });
});
