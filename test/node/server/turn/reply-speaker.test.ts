import { describe, expect, it } from "vitest";
import { ReplySpeaker } from "../../../../server/turn/reply-speaker.ts";
import type { SpeechAudio } from "../../../../server/text-to-speech/tts.ts";

const audio = (text: string): SpeechAudio => ({
  bytes: new TextEncoder().encode(text),
  container: "wav",
  codec: "pcm_s16le",
  sampleRate: 16_000,
  channels: 1,
  durationMs: 100,
  engine: undefined,
});

/** A TTS whose calls finish when the test says so. */
function manualTts() {
  const pending = new Map<string, { resolve: (a: SpeechAudio) => void; reject: (e: unknown) => void }>();
  const started: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  return {
    started,
    get maxInFlight() {
      return maxInFlight;
    },
    synthesize(text: string) {
      started.push(text);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<SpeechAudio>((resolve, reject) => pending.set(text, { resolve, reject })).finally(() => inFlight--);
    },
    finish(text: string) {
      pending.get(text)!.resolve(audio(text));
    },
    failWith(text: string, e: unknown) {
      pending.get(text)!.reject(e);
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("ReplySpeaker", () => {
  it("sends segments in chunk order even when later sentences synthesize first, with bounded TTS concurrency", async () => {
    const tts = manualTts();
    const sent: string[] = [];
    const speaker = new ReplySpeaker({
      concurrency: 2,
      signal: new AbortController().signal,
      synthesize: (t) => tts.synthesize(t),
      send: (i, t) => sent.push(`${i}:${t}`),
      fail: () => {},
    });
    for (const s of ["one", "two", "three"]) speaker.speak(s);
    await tick();
    expect(tts.started).toEqual(["one", "two"]); // the third waits for a slot
    tts.finish("two");
    await tick();
    expect(sent).toEqual([]); // two is ready but one is not: nothing goes out of order
    expect(tts.started).toEqual(["one", "two", "three"]);
    tts.finish("three");
    tts.finish("one");
    await speaker.drain();
    expect(sent).toEqual(["0:one", "1:two", "2:three"]);
    expect(tts.maxInFlight).toBe(2);
    expect(speaker.segmentsSent).toBe(3);
  });

  it("a failed synthesis fails the turn once and nothing after it is sent", async () => {
    const tts = manualTts();
    const sent: string[] = [];
    const failures: unknown[] = [];
    const turn = new AbortController();
    const speaker = new ReplySpeaker({
      concurrency: 2,
      signal: turn.signal,
      synthesize: (t) => tts.synthesize(t),
      send: (_i, t) => sent.push(t),
      fail: (e) => {
        failures.push(e);
        turn.abort(); // as the turn runner does
      },
    });
    speaker.speak("one");
    speaker.speak("two");
    await tick();
    tts.failWith("one", new Error("3006: too large"));
    tts.finish("two");
    await speaker.drain();
    expect(sent).toEqual([]);
    expect(failures).toHaveLength(1);
  });

  it("a cancelled turn drops what has not been sent, even a synthesis still in flight", async () => {
    const tts = manualTts();
    const sent: string[] = [];
    const turn = new AbortController();
    const speaker = new ReplySpeaker({
      concurrency: 1,
      signal: turn.signal,
      synthesize: (t) => tts.synthesize(t),
      send: (_i, t) => sent.push(t),
      fail: () => {},
    });
    speaker.speak("one");
    speaker.speak("two");
    await tick();
    tts.finish("one");
    await tick();
    expect(sent).toEqual(["one"]);
    expect(tts.started).toEqual(["one", "two"]); // "two" is synthesizing (and never answers)
    turn.abort();
    speaker.speak("three");
    await speaker.drain();
    expect(tts.started).toEqual(["one", "two"]); // nothing new starts once cancelled
    expect(sent).toEqual(["one"]);
  });
});
