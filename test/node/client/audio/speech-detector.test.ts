import { describe, expect, it } from "vitest";
import { SpeechDetector } from "../../../../client/audio/speech-detector.ts";

const dbToRms = (db: number) => 10 ** (db / 20);

describe("SpeechDetector (local barge-in detection)", () => {
  it("fires start within 100 ms of speech onset over background noise, and end after the hangover", () => {
    const d = new SpeechDetector({ minSpeechMs: 80, silenceMs: 400 });
    // 2 s of -60 dBFS noise: no events.
    for (let i = 0; i < 100; i++) expect(d.push(dbToRms(-60 + (i % 3)))).toBeNull();
    expect(d.noiseFloorDbfs).toBeLessThan(-55);
    // Speech at -25 dBFS.
    let startAt = -1;
    for (let i = 0; i < 50; i++) {
      const e = d.push(dbToRms(-25));
      if (e?.type === "start") {
        startAt = i;
        expect(e.frame).toBe(100);
      }
    }
    expect(startAt).toBeGreaterThanOrEqual(0);
    expect((startAt + 1) * 20).toBeLessThanOrEqual(100);
    expect(d.speaking).toBe(true);
    let end = null;
    let endAt = -1;
    for (let i = 0; i < 40 && !end; i++) {
      end = d.push(dbToRms(-60));
      endAt = i;
    }
    expect(end).toEqual({ type: "end", frame: 150 });
    expect((endAt + 1) * 20).toBe(400);
  });

  it("a short 'uh-huh' is never sustained, even though its hangover outlasts sustainMs; speech that goes on is", () => {
    const d = new SpeechDetector({ minSpeechMs: 80, silenceMs: 500, sustainMs: 500 });
    for (let i = 0; i < 50; i++) d.push(dbToRms(-60));
    const events: string[] = [];
    // 300 ms of speech, then silence: active for 800 ms in all (the hangover), never sustained.
    for (let i = 0; i < 15; i++) events.push(d.push(dbToRms(-25))?.type ?? "");
    for (let i = 0; i < 30; i++) events.push(d.push(dbToRms(-60))?.type ?? "");
    expect(events.filter(Boolean)).toEqual(["start", "end"]);
    // 300 ms of speech, a 100 ms breath, more speech: sustained at 500 ms from its first voiced frame.
    const more: string[] = [];
    for (let i = 0; i < 15; i++) more.push(d.push(dbToRms(-25))?.type ?? "");
    for (let i = 0; i < 5; i++) more.push(d.push(dbToRms(-60))?.type ?? "");
    for (let i = 0; i < 10; i++) more.push(d.push(dbToRms(-25))?.type ?? "");
    expect(more.filter(Boolean)).toEqual(["start", "sustained"]);
    expect(more.indexOf("sustained")).toBe(24);
  });

  it("ignores a single click and adapts to steady loud noise", () => {
    const d = new SpeechDetector();
    for (let i = 0; i < 50; i++) d.push(dbToRms(-60));
    expect(d.push(dbToRms(-10))).toBeNull(); // one 20 ms click
    for (let i = 0; i < 10; i++) expect(d.push(dbToRms(-60))).toBeNull();
    // A fan at -40 dBFS that slowly rises: the floor follows, no speech.
    for (let i = 0; i < 500; i++) d.push(dbToRms(-60 + Math.min(20, i * 0.05)));
    expect(d.speaking).toBe(false);
  });
});
