// The decision rules of one barge-in candidate, race by race, with time passed in.
import { describe, expect, it } from "vitest";
import { InterruptionCandidate } from "../../../../server/interruption/interruption-candidate.ts";
import type { UtteranceClass } from "../../../../server/interruption/utterance-classifier.ts";

const RULES = { minInterruptionMs: 500, falseInterruptionTimeoutMs: 1500, maxCandidateMs: 20_000 };
const heard = (kind: UtteranceClass["kind"], text: string = kind): UtteranceClass => ({
  kind,
  text,
  realWords: kind === "speech" ? text.split(" ") : [],
  echoShare: kind === "echo" ? 1 : 0,
});
const open = () => new InterruptionCandidate(RULES, 0);

describe("a barge-in candidate", () => {
  it("real words in an early partial transcript confirm once the speech has lasted minInterruptionMs", () => {
    const c = open();
    c.transcriptionStarted(false);
    expect(c.transcribed(300, heard("speech", "Wait"), false)).toBeNull(); // words, but only 250 ms of speech
    expect(c.speech(520, 500)).toMatchObject({ decision: "confirmed", reason: "words", transcript: "Wait" });
  });

  it("long speech alone does not confirm while its words are a backchannel (a drawn-out mm-hmm)", () => {
    const c = open();
    c.transcriptionStarted(false);
    c.transcribed(300, heard("backchannel", "Mm"), false);
    expect(c.speech(900, 900)).toBeNull();
    c.transcriptionStarted(true);
    expect(c.transcribed(1_600, heard("backchannel", "Mm-hmm."), true)).toMatchObject({
      decision: "resumed",
      reason: "backchannel",
      transcript: "Mm-hmm.",
    });
  });

  it("a short real interruption is confirmed by its final transcript even under minInterruptionMs", () => {
    const c = open();
    c.speech(100, 300);
    c.transcriptionStarted(true);
    expect(c.transcribed(900, heard("speech", "Stop."), true)).toMatchObject({ decision: "confirmed", reason: "words" });
  });

  it("echo and empty finals resume with their reason", () => {
    const e = open();
    e.transcriptionStarted(true);
    expect(e.transcribed(800, heard("echo", "mostly sunny"), true)).toMatchObject({ decision: "resumed", reason: "echo" });
    const n = open();
    n.transcriptionStarted(true);
    expect(n.transcribed(800, heard("empty", ""), true)).toMatchObject({ decision: "resumed", reason: "noise" });
  });

  it("false interruption timeout resumes: nothing confirmed it within the timeout after the last speech", () => {
    const c = open();
    c.activity(400);
    expect(c.tick(1_800)).toBeNull();
    expect(c.tick(1_900)).toMatchObject({ decision: "resumed", reason: "timeout" });
    expect(c.tick(5_000)).toBeNull(); // decided once
  });

  it("the timeout waits for a transcript that is on its way", () => {
    const c = open();
    c.transcriptionStarted(true);
    expect(c.tick(3_000)).toBeNull();
    expect(c.transcribed(3_100, heard("speech", "Hang on."), true)).toMatchObject({ decision: "confirmed" });
  });

  it("a click the server never heard as speech resumes as soon as the client hears it end", () => {
    const c = open();
    expect(c.ended(300, false)).toMatchObject({ decision: "resumed", reason: "noise" });
  });

  it("speech the server is still collecting waits for its transcript when the client hears it end", () => {
    const c = open();
    expect(c.ended(300, true)).toBeNull();
  });

  it("when transcription fails, the duration decides", () => {
    const long = open();
    long.transcriptionStarted(false);
    expect(long.transcriptionFailed(300, false)).toBeNull();
    expect(long.speech(600, 600)).toMatchObject({ decision: "confirmed", reason: "speech" });
    const short = open();
    short.speech(100, 200);
    short.transcriptionStarted(true);
    expect(short.transcriptionFailed(900, true)).toMatchObject({ decision: "resumed", reason: "noise" });
  });

  it("a partial that says speech is not undone by a later partial, but a final backchannel resumes", () => {
    const c = open();
    c.transcriptionStarted(false);
    c.transcribed(300, heard("speech", "Okay so"), false);
    c.transcriptionStarted(true);
    expect(c.transcribed(700, heard("backchannel", "Okay."), true)).toMatchObject({ decision: "resumed", reason: "backchannel" });
  });

  it("a user talking over a paused reply for the hard cap is an interruption", () => {
    const c = open();
    c.speech(19_000, 19_000);
    expect(c.tick(20_000)).toMatchObject({ decision: "confirmed", reason: "speech" });
  });
});
