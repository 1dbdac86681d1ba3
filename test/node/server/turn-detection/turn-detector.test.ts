import { describe, expect, it } from "vitest";
import { parseWav } from "../../../../shared/audio/wav.ts";
import {
  DEFAULT_TURN_DETECTION,
  TRAILING_SILENCE_KEPT_MS,
  TurnDetector,
  type TurnEvent,
} from "../../../../server/turn-detection/turn-detector.ts";
import { SAMPLE_RATE, concat, mix, noise, silence, syllables, tone } from "../../../support/signals.ts";
import { readFixture } from "../../../support/fixtures.ts";

const PER_MS = SAMPLE_RATE / 1000;

const fixture = (name: string) => parseWav(readFixture(name)).pcm;

type End = Extract<TurnEvent, { type: "turn-end" }>;
const ends = (events: TurnEvent[]) => events.filter((e): e is End => e.type === "turn-end");
/** Feed in browser-sized 20 ms chunks, as the client does. */
function feed(d: TurnDetector, pcm: Int16Array, mode: "hands-free" | "push-to-talk" = "hands-free", chunk = 320): TurnEvent[] {
  const events: TurnEvent[] = [];
  for (let i = 0; i < pcm.length; i += chunk) events.push(...d.push(pcm.subarray(i, i + chunk), mode));
  return events;
}
const firstNonZero = (pcm: Int16Array) => pcm.findIndex((s) => s !== 0);
// ------------------------------------------------------------------------------------------------

describe("TurnDetector", () => {
  it("has the documented defaults (a pause mark at 250 ms)", () => {
    expect(DEFAULT_TURN_DETECTION).toEqual({
      speechThresholdDb: 12,
      minSpeechMs: 160,
      silenceMs: 500,
      pauseMs: 250,
      maxUtteranceMs: 30000,
      preRollMs: 300,
    });
  });

  it("a 440 Hz tone after silence starts speech within minSpeechMs", () => {
    const d = new TurnDetector();
    expect(feed(d, silence(1000))).toEqual([]);
    expect(d.inSpeech).toBe(false);
    const events = feed(d, tone(400, -20));
    expect(events).toEqual([{ type: "speech-start", atMs: 1000 + 160 }]);
    expect(d.inSpeech).toBe(true);
  });

  it("trailing 500 ms of silence ends the turn with endpointingMs ≈ silenceMs", () => {
    const d = new TurnDetector();
    const events = feed(d, concat(silence(1000), tone(800, -20), silence(1000)));
    expect(events.map((e) => e.type)).toEqual(["speech-start", "pause", "turn-end"]);
    const end = ends(events)[0]!;
    expect(end.reason).toBe("silence");
    expect(end.endpointingMs).toBe(500);
    expect(end.atMs).toBe(1000 + 800 + 500);
    expect(end.speechMs).toBe(800);
    expect(d.inSpeech).toBe(false);
  });

  it("the turn audio is pre-roll + speech + a short trimmed tail of silence", () => {
    const d = new TurnDetector();
    const speech = tone(800, -20);
    const end = ends(feed(d, concat(silence(1000), speech, silence(1000))))[0]!;
    expect(end.audio.length).toBe((300 + 800 + TRAILING_SILENCE_KEPT_MS) * PER_MS);
    expect(firstNonZero(end.audio)).toBe(300 * PER_MS + 1); // sample 0 of a sine is 0
    expect(Array.from(end.audio.subarray(300 * PER_MS, 1100 * PER_MS))).toEqual(Array.from(speech));
    expect(end.audio.subarray(1100 * PER_MS).every((s) => s === 0)).toBe(true);
  });

  it("pre-roll is shorter when speech starts before preRollMs of audio has arrived", () => {
    const end = ends(feed(new TurnDetector(), concat(silence(100), tone(400, -20), silence(600))))[0]!;
    expect(end.audio.length).toBe((100 + 400 + TRAILING_SILENCE_KEPT_MS) * PER_MS);
  });

  it("a 40 ms click is not a turn, and does not leave anything to commit", () => {
    const d = new TurnDetector();
    const events = feed(d, concat(silence(500), tone(40, -10, 2000), silence(1000)));
    expect(events).toEqual([]);
    expect(d.commit()).toBeNull();
  });

  it("constant background noise raises the floor and is not speech", () => {
    const d = new TurnDetector();
    expect(feed(d, noise(10_000, -35, 1))).toEqual([]);
    expect(d.noiseFloorDbfs).toBeGreaterThan(-37);
    // ...and speech over that noise is still found.
    const events = feed(d, mix(concat(tone(600, -15), silence(800)), noise(1400, -35, 2)));
    expect(events.map((e) => e.type)).toEqual(["speech-start", "pause", "turn-end"]);
  });

  it("push-to-talk ignores silence until commit", () => {
    const d = new TurnDetector();
    const events = feed(d, concat(silence(500), tone(600, -20), silence(3000), tone(400, -20), silence(2000)), "push-to-talk");
    expect(events.map((e) => e.type)).toEqual(["speech-start"]); // speech-start is still reported
    expect(d.inSpeech).toBe(true);
    const end = d.commit()!;
    expect(end.reason).toBe("commit");
    expect(end.endpointingMs).toBe(0);
    expect(end.speechMs).toBe(600 + 3000 + 400);
    expect(end.atMs).toBe(500 + 600 + 3000 + 400 + 2000);
    // Trailing silence before the release is trimmed to the short tail.
    expect(end.audio.length).toBe((300 + 4000 + TRAILING_SILENCE_KEPT_MS) * PER_MS);
    expect(d.inSpeech).toBe(false);
    expect(d.commit()).toBeNull();
  });

  it("commit() returns null when nothing voiced was buffered", () => {
    const d = new TurnDetector();
    expect(d.commit()).toBeNull();
    feed(d, noise(2000, -60, 3), "push-to-talk");
    expect(d.commit()).toBeNull();
  });

  it("commit() returns a short utterance that has not reached minSpeechMs yet", () => {
    const d = new TurnDetector();
    expect(feed(d, concat(silence(500), tone(100, -20)), "push-to-talk")).toEqual([]);
    const end = d.commit()!;
    expect(end.reason).toBe("commit");
    expect(end.speechMs).toBe(100);
  });

  it("the max-length cap ends a turn while speech continues", () => {
    const d = new TurnDetector({ maxUtteranceMs: 3000 });
    const events = feed(d, concat(silence(500), syllables(7000, -25)));
    const e = ends(events);
    expect(e.length).toBe(2);
    expect(e[0]!.reason).toBe("max-length");
    expect(e[0]!.endpointingMs).toBe(0);
    expect(e[0]!.atMs).toBe(500 + 3000);
    // Bounded memory: never more than maxUtteranceMs + preRollMs.
    for (const end of e) expect(end.audio.length).toBeLessThanOrEqual((3000 + 300) * PER_MS);
    expect(e[0]!.audio.length).toBe(3300 * PER_MS);
    // Speech goes on, so a new turn starts right away, without repeating already-sent audio as pre-roll.
    expect(events.map((x) => x.type).slice(0, 3)).toEqual(["speech-start", "turn-end", "speech-start"]);
    expect(e[1]!.audio.length).toBe(3000 * PER_MS);
  });

  it("the max-length cap also applies in push-to-talk", () => {
    const d = new TurnDetector({ maxUtteranceMs: 2000 });
    const e = ends(feed(d, concat(silence(300), syllables(2500, -25)), "push-to-talk"));
    expect(e.map((x) => x.reason)).toEqual(["max-length"]);
  });

  it("re-frames input of any length: odd chunk sizes give the same events as 20 ms frames", () => {
    const pcm = concat(silence(700), syllables(1500, -25), silence(900), tone(500, -20), silence(700));
    const reference = feed(new TurnDetector(), pcm);
    expect(ends(reference).length).toBe(2);
    for (const chunk of [1, 7, 333, 1000, 32768]) {
      expect(feed(new TurnDetector(), pcm, "hands-free", chunk)).toEqual(reference);
    }
  });

  it("reset() drops a turn in progress and keeps the noise floor", () => {
    const d = new TurnDetector();
    feed(d, noise(2000, -40, 4));
    const floor = d.noiseFloorDbfs;
    feed(d, mix(tone(600, -15), noise(600, -40, 5)));
    expect(d.inSpeech).toBe(true);
    d.reset();
    expect(d.inSpeech).toBe(false);
    expect(feed(d, noise(1000, -40, 6))).toEqual([]);
    expect(d.commit()).toBeNull();
    expect(d.noiseFloorDbfs).toBeCloseTo(floor, 0);
  });

  it("commit() drops a partial frame, so audio after it is framed afresh and stream time stays exact", () => {
    const d = new TurnDetector();
    d.push(concat(silence(500), tone(400, -20), tone(1, -20).subarray(0, 10)), "push-to-talk");
    const end = d.commit()!;
    expect(end.atMs).toBe(900 + 10 / PER_MS);
    expect(d.streamMs).toBe(900 + 10 / PER_MS);
    const events = d.push(concat(silence(600), tone(300, -20)), "push-to-talk");
    expect(events).toEqual([{ type: "speech-start", atMs: 900 + 10 / PER_MS + 600 + 160 }]);
  });

  it("counts stream time across pushes, including partial frames", () => {
    const d = new TurnDetector();
    d.push(silence(10), "hands-free");
    expect(d.streamMs).toBe(10);
    d.push(silence(25), "hands-free");
    expect(d.streamMs).toBe(35);
  });

  it("rejects nonsense options with a clear error", () => {
    expect(() => new TurnDetector({ silenceMs: -1 })).toThrow(/silenceMs/);
    expect(() => new TurnDetector({ silenceMs: 0 })).toThrow(/silenceMs/);
    expect(() => new TurnDetector({ maxUtteranceMs: 5 })).toThrow(/maxUtteranceMs/);
    expect(() => new TurnDetector({ preRollMs: Number.NaN })).toThrow(/preRollMs/);
    expect(() => new TurnDetector({ pauseMs: -250 })).toThrow(/pauseMs/);
    expect(() => new TurnDetector({ pauseMs: Number.POSITIVE_INFINITY })).toThrow(/pauseMs/);
  });

  describe("flite speech fixtures", () => {
    it("speech fixture from flite yields exactly one turn, with one pause mark in its trailing silence", () => {
      for (const name of ["what-is-the-weather.wav", "tell-me-a-joke.wav"]) {
        const pcm = fixture(name);
        const events = feed(new TurnDetector(), pcm);
        expect(
          events.map((e) => e.type),
          name,
        ).toEqual(["speech-start", "pause", "turn-end"]);
        const end = ends(events)[0]!;
        expect(end.reason).toBe("silence");
        expect(end.endpointingMs).toBe(500);
        // Speech is the file minus 200 ms lead-in and 600 ms trailing silence (to a frame or two).
        const speechMs = pcm.length / PER_MS - 800;
        expect(Math.abs(end.speechMs - speechMs), name).toBeLessThanOrEqual(100);
        // Nothing of the speech is cut: the whole file up to the tail is in the turn audio.
        expect(end.audio.length).toBeGreaterThanOrEqual((200 + speechMs) * PER_MS);
      }
    });

    it("speech fixture mixed with -55 dBFS background noise still yields exactly one turn", () => {
      const pcm = fixture("what-is-the-weather.wav");
      const events = feed(new TurnDetector(), mix(pcm, noise(pcm.length / PER_MS, -55, 7)));
      expect(events.map((e) => e.type)).toEqual(["speech-start", "pause", "turn-end"]);
    });

    it("two phrases separated by 900 ms give two turns with silenceMs 500 and one turn with silenceMs 1200", () => {
      const pcm = concat(fixture("two-phrases-with-pause.wav"), silence(1000));
      const short = ends(feed(new TurnDetector({ silenceMs: 500 }), pcm));
      expect(short.map((e) => e.reason)).toEqual(["silence", "silence"]);
      expect(short.every((e) => e.endpointingMs === 500)).toBe(true);

      const long = ends(feed(new TurnDetector({ silenceMs: 1200 }), pcm));
      expect(long.length).toBe(1);
      expect(long[0]!.endpointingMs).toBe(1200);
      expect(long[0]!.speechMs).toBeGreaterThan(short[0]!.speechMs + 900 + short[1]!.speechMs - 100);
    });
  });
});

describe("push-to-talk pressed mid-speech", () => {
  it("keeps the whole press when the first frames it ever hears are already speech", () => {
    const d = new TurnDetector();
    // A fresh detector whose very first audio is loud speech: the noise floor starts at speech level.
    feed(d, syllables(1500, -20), "push-to-talk");
    const end = d.commit()!;
    expect(end).not.toBeNull();
    expect(end.reason).toBe("commit");
    expect(end.audio.length).toBe(1500 * PER_MS);
  });

  it("still returns nothing for a press that held only faint noise", () => {
    const d = new TurnDetector();
    feed(d, noise(1500, -65, 9), "push-to-talk");
    expect(d.commit()).toBeNull();
  });

  it("trims a long silent lead-in to the pre-roll before the first voiced frame", () => {
    const d = new TurnDetector();
    feed(d, concat(noise(2000, -70, 4), tone(800, -20), silence(100)), "push-to-talk");
    const end = d.commit()!;
    expect(end.audio.length).toBe((DEFAULT_TURN_DETECTION.preRollMs + 800 + 100) * PER_MS);
  });
});

describe("turn detector: barge-in support", () => {
  it("restart() drops what was collected (the reply's echo) but keeps the pre-roll, so the user's first syllables are kept", async () => {
    const { TurnDetector } = await import("../../../../server/turn-detection/turn-detector.ts");
    const { concat, noise, syllables } = await import("../../../support/signals.ts");
    const d = new TurnDetector();
    d.push(noise(1000, -65, 1), "hands-free");
    d.push(syllables(800, -40), "hands-free"); // echo the server's VAD takes for speech
    expect(d.inSpeech).toBe(true);
    d.restart();
    expect(d.busy).toBe(false);
    expect(d.snapshot()).toBeNull();
    const events = d.push(concat(syllables(600, -20), noise(700, -65, 2)), "hands-free");
    const end = events.find((e) => e.type === "turn-end")!;
    expect(end.type === "turn-end" && end.audio.length / 16).toBeLessThan(300 + 600 + 250); // pre-roll + speech + kept tail, not the echo before
    expect(end.type === "turn-end" && end.speechMs).toBeGreaterThan(500);
  });

  it("snapshot() copies the utterance so far and speechMs measures it, while speech goes on", async () => {
    const { TurnDetector } = await import("../../../../server/turn-detection/turn-detector.ts");
    const { noise, syllables } = await import("../../../support/signals.ts");
    const d = new TurnDetector();
    d.push(noise(1000, -65, 3), "hands-free");
    d.push(syllables(500, -20), "hands-free");
    const snap = d.snapshot()!;
    expect(snap.length / 16).toBeGreaterThanOrEqual(500);
    expect(d.speechMs).toBeGreaterThan(300);
    expect(d.speechMs).toBeLessThanOrEqual(500);
    snap.fill(0); // a copy: the detector's own buffer is untouched
    expect(d.snapshot()!.some((x) => x !== 0)).toBe(true);
  });
});

type Pause = Extract<TurnEvent, { type: "pause" }>;
type Resume = Extract<TurnEvent, { type: "resume" }>;
const pauses = (events: TurnEvent[]) => events.filter((e): e is Pause => e.type === "pause");
const resumes = (events: TurnEvent[]) => events.filter((e): e is Resume => e.type === "resume");
const types = (events: TurnEvent[]) => events.map((e) => e.type);

describe("turn detector: pause marks", () => {
  it("emits one pause 260 ms into the trailing silence (250 ms rounded up to whole frames), before the turn ends", () => {
    const d = new TurnDetector();
    const events = feed(d, concat(silence(1000), tone(800, -20), silence(1000)));
    expect(types(events)).toEqual(["speech-start", "pause", "turn-end"]);
    const pause = pauses(events)[0]!;
    const end = ends(events)[0]!;
    expect(pause.atMs).toBe(1000 + 800 + 260);
    expect(pause.silenceMs).toBe(260);
    expect(pause.speechMs).toBe(800);
    expect(pause.levelDbfs).toBe(end.levelDbfs);
  });

  it("the pause audio equals the turn-end audio when no more speech follows", () => {
    const pcm = concat(fixture("what-is-the-weather.wav"), silence(400));
    const events = feed(new TurnDetector(), pcm);
    const pause = pauses(events)[0]!;
    const end = ends(events)[0]!;
    expect(end.reason).toBe("silence");
    expect(pause.audio.length).toBeGreaterThan(16_000);
    expect(Array.from(pause.audio)).toEqual(Array.from(end.audio));
    expect(pause.speechMs).toBe(end.speechMs);
  });

  it("the pause audio is a copy: changing it does not change the turn-end audio", () => {
    const d = new TurnDetector();
    const p = pauses(feed(d, concat(silence(500), tone(600, -20), silence(300))))[0]!;
    p.audio.fill(0);
    const end = ends(feed(d, silence(400)))[0]!;
    expect(end.audio.some((s) => s !== 0)).toBe(true);
  });

  it("a gap shorter than pauseMs produces neither a pause nor a resume", () => {
    const events = feed(new TurnDetector(), concat(silence(500), tone(600, -20), silence(200), tone(600, -20), silence(800)));
    expect(types(events)).toEqual(["speech-start", "pause", "turn-end"]);
    expect(pauses(events)[0]!.speechMs).toBe(600 + 200 + 600);
  });

  it("speech that comes back after a pause emits resume with the length of the gap, and the next gap pauses again", () => {
    const events = feed(new TurnDetector(), concat(silence(500), tone(600, -20), silence(400), tone(600, -20), silence(800)));
    expect(types(events)).toEqual(["speech-start", "pause", "resume", "pause", "turn-end"]);
    const [first, second] = pauses(events);
    expect(first!.atMs).toBe(500 + 600 + 260);
    expect(first!.speechMs).toBe(600);
    expect(resumes(events)[0]).toEqual({ type: "resume", atMs: 500 + 600 + 400 + 20, pauseMs: 400 });
    expect(second!.speechMs).toBe(600 + 400 + 600);
    expect(ends(events)[0]!.speechMs).toBe(1600);
  });

  it("pauseMs 0 turns pause marks off", () => {
    const events = feed(new TurnDetector({ pauseMs: 0 }), concat(silence(500), tone(600, -20), silence(400), tone(600, -20), silence(800)));
    expect(types(events)).toEqual(["speech-start", "turn-end"]);
  });

  it("no pause when pauseMs is not shorter than the silence that ends the turn", () => {
    const pcm = concat(silence(500), tone(600, -20), silence(800));
    expect(types(feed(new TurnDetector({ pauseMs: 500, silenceMs: 500 }), pcm))).toEqual(["speech-start", "turn-end"]);
    expect(types(feed(new TurnDetector({ pauseMs: 700, silenceMs: 500 }), pcm))).toEqual(["speech-start", "turn-end"]);
  });

  it("push-to-talk never emits pause or resume", () => {
    const d = new TurnDetector();
    const events = feed(d, concat(silence(300), tone(600, -20), silence(600), tone(400, -20), silence(600)), "push-to-talk");
    expect(types(events)).toEqual(["speech-start"]);
    expect(d.commit()!.reason).toBe("commit");
  });

  it("a click before speech (an onset that never became speech) emits no pause", () => {
    expect(feed(new TurnDetector(), concat(silence(500), tone(60, -10), silence(1000)))).toEqual([]);
  });
});

describe("turn detector: setSilenceMs", () => {
  it("raising it mid-gap keeps the turn open until the new silence", () => {
    const d = new TurnDetector();
    const before = feed(d, concat(silence(500), tone(600, -20), silence(300)));
    expect(types(before)).toEqual(["speech-start", "pause"]);
    d.setSilenceMs(1200);
    expect(feed(d, silence(880))).toEqual([]);
    const end = ends(feed(d, silence(20)))[0]!;
    expect(end.reason).toBe("silence");
    expect(end.endpointingMs).toBe(1200);
    expect(end.atMs).toBe(500 + 600 + 1200);
  });

  it("lowering it below the gap already waited ends the turn on the next frame", () => {
    const d = new TurnDetector({ silenceMs: 1500 });
    feed(d, concat(silence(500), tone(600, -20), silence(400)));
    d.setSilenceMs(300);
    expect(d.busy).toBe(true); // nothing ends until a frame arrives
    const end = ends(feed(d, silence(20)))[0]!;
    expect(end.endpointingMs).toBe(420);
    expect(end.atMs).toBe(500 + 600 + 420);
  });

  it("applies to later turns too; options.silenceMs keeps the configured value", () => {
    const d = new TurnDetector();
    d.setSilenceMs(900);
    expect(d.silenceMs).toBe(900);
    expect(d.options.silenceMs).toBe(500);
    const events = feed(d, concat(silence(500), tone(600, -20), silence(600), tone(600, -20), silence(1000)));
    const e = ends(events);
    expect(e.length).toBe(1); // the 600 ms gap no longer ends the turn
    expect(e[0]!.endpointingMs).toBe(900);
  });

  it("a silence shorter than pauseMs suppresses the pause mark", () => {
    const d = new TurnDetector();
    d.setSilenceMs(200);
    const events = feed(d, concat(silence(500), tone(600, -20), silence(400)));
    expect(types(events)).toEqual(["speech-start", "turn-end"]);
    expect(ends(events)[0]!.endpointingMs).toBe(200);
  });

  it("rejects a silence that is not a positive number of ms", () => {
    const d = new TurnDetector();
    for (const bad of [0, -100, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => d.setSilenceMs(bad)).toThrow(/silenceMs/);
    expect(d.silenceMs).toBe(500);
  });
});

describe("turn detector: endTurn()", () => {
  it("during the trailing silence ends the turn with reason end-of-turn and the silence waited so far", () => {
    const d = new TurnDetector();
    const events = feed(d, concat(silence(1000), tone(800, -20), silence(300)));
    const pause = pauses(events)[0]!;
    const end = d.endTurn()!;
    expect(end.reason).toBe("end-of-turn");
    expect(end.endpointingMs).toBe(300);
    expect(end.atMs).toBe(1000 + 800 + 300);
    expect(end.speechMs).toBe(800);
    expect(Array.from(end.audio)).toEqual(Array.from(pause.audio)); // what the judge heard is what gets transcribed
    expect(end.audio.length).toBe((300 + 800 + TRAILING_SILENCE_KEPT_MS) * PER_MS);
  });

  it("leaves the detector idle: no second end, no event from the silence that follows", () => {
    const d = new TurnDetector();
    feed(d, concat(silence(500), tone(600, -20), silence(300)));
    expect(d.endTurn()).not.toBeNull();
    expect(d.busy).toBe(false);
    expect(d.inSpeech).toBe(false);
    expect(d.endTurn()).toBeNull();
    expect(d.commit()).toBeNull();
    expect(feed(d, silence(1000))).toEqual([]);
  });

  it("the next utterance is a new turn whose pre-roll does not repeat audio already handed out", () => {
    const d = new TurnDetector();
    feed(d, concat(silence(500), tone(600, -20), silence(300)));
    d.endTurn();
    const end = ends(feed(d, concat(silence(100), tone(400, -20), silence(800))))[0]!;
    expect(end.reason).toBe("silence");
    expect(end.audio.length).toBe((100 + 400 + TRAILING_SILENCE_KEPT_MS) * PER_MS);
  });

  it("works before the pause mark too (any unvoiced frame after speech)", () => {
    const d = new TurnDetector();
    feed(d, concat(silence(500), tone(600, -20), silence(40)));
    expect(d.endTurn()).toMatchObject({ reason: "end-of-turn", endpointingMs: 40, speechMs: 600 });
  });

  it("returns null when idle, at an onset, mid-speech, or while push-to-talk is held", () => {
    const idle = new TurnDetector();
    feed(idle, silence(500));
    expect(idle.endTurn()).toBeNull();

    const onset = new TurnDetector();
    feed(onset, concat(silence(500), tone(60, -20), silence(40)));
    expect(onset.busy).toBe(true);
    expect(onset.endTurn()).toBeNull();

    const speaking = new TurnDetector();
    feed(speaking, concat(silence(500), tone(600, -20)));
    expect(speaking.endTurn()).toBeNull();
    expect(speaking.inSpeech).toBe(true); // untouched

    const held = new TurnDetector();
    feed(held, concat(silence(300), tone(600, -20), silence(400)), "push-to-talk");
    expect(held.endTurn()).toBeNull();
    expect(held.commit()!.reason).toBe("commit");
  });
});
