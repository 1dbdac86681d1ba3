// The turn-taking benchmark (`npm run bench:turns`): its STT oracle and scenario generator, and a
// smoke run (`--smoke`: a few trials of every scenario through the real Worker in workerd with the
// turn-taking fake Workers AI), then one trial of every end-of-turn scenario through each end-of-turn
// path. The smoke runs assert outcomes, not timings (CI machines vary).
import { describe, expect, it } from "vitest";
import { MicMixer } from "../../../../bench/turn-taking/mic-mixer.ts";
import { PlaybackTracker } from "../../../../bench/turn-taking/playback-tracker.ts";
import { formatTurnReport } from "../../../../bench/turn-taking/report.ts";
import { runTurnBench } from "../../../../bench/turn-taking/runner.ts";
import { planTrials, SCENARIOS } from "../../../../bench/turn-taking/scenarios.ts";
import { EOT_PATHS, EOT_SCENARIOS, planEotTrials } from "../../../../bench/turn-taking/eot-scenarios.ts";
import { SessionTape } from "../../../../bench/turn-taking/session-tape.ts";
import { transcribeFromTape } from "../../../../bench/turn-taking/stt-oracle.ts";
import { timeWords, voicedSpan } from "../../../../bench/turn-taking/speech-timing.ts";
import type { Clip } from "../../../../bench/turn-taking/clips.ts";

/** A 1 s "clip" of a loud tone with three words spread over it. */
function toneClip(text: string): Clip {
  const samples = Float32Array.from({ length: 16_000 }, (_, i) => 0.1 * Math.sin((2 * Math.PI * 200 * i) / 16_000));
  return { source: "interruption", text, samples, onset: 0, words: timeWords(text, { from: 0, to: samples.length }) };
}

/** 8 s of a session's microphone: the clip at 2 s, the playback of one "segment" echoed 100 ms later. */
function recordSession(echoDb: number): { tape: SessionTape; pcm: Int16Array } {
  const tape = new SessionTape("s", { levelDb: echoDb, delaySamples: 1600 });
  const mixer = new MicMixer({ roomSeed: 7, echoDb, echoDelaySamples: 1600 });
  const clip = toneClip("wait a moment");
  tape.placeClip(clip, 32_000);
  mixer.schedule(clip, 32_000);
  // Reply segment "one two three four" (2 s) played from 4 s on.
  tape.describeSegment("r", 0, timeWords("one two three four", { from: 0, to: 32_000 }));
  const pcm = new Int16Array(128_000);
  const playback = new Float32Array(320);
  for (let f = 0; f < 400; f++) {
    const clock = f * 320;
    const playing = clock >= 64_000 && clock < 96_000;
    playback.fill(playing ? 0.05 : 0);
    if (playing) tape.notePlayed(clock, "r", 0, clock - 64_000, clock - 64_000 + 320);
    const frame = mixer.frame(clock, playback);
    tape.recordFrame(frame);
    pcm.set(frame, clock);
  }
  return { tape, pcm };
}

describe("turn-taking STT oracle", () => {
  it("finds an utterance in the recorded stream by exact samples and returns the words whose middle it holds", () => {
    const { tape, pcm } = recordSession(-30);
    const whole = transcribeFromTape(tape, pcm.slice(27_200, 52_000));
    expect(whole).toMatchObject({ text: "wait a moment", unmatchedSamples: 0, pieces: [{ from: 27_200, to: 52_000 }] });
    // A partial transcription (the first 400 ms of the speech, not frame-aligned) holds only the first word.
    expect(transcribeFromTape(tape, pcm.slice(27_213, 38_400)).text).toBe("wait");
  });

  it("joins the words of separate stretches, and ignores audio that was never sent", () => {
    const { tape, pcm } = recordSession(-30);
    const joined = new Int16Array([...pcm.slice(32_000, 36_000), ...new Int16Array(500), ...pcm.slice(44_000, 48_000)]);
    const heard = transcribeFromTape(tape, joined);
    expect(heard.text).toBe("wait moment");
    expect(heard.pieces).toHaveLength(2);
    expect(heard.unmatchedSamples).toBe(500);
  });

  it("transcribes the reply's echo at -20 dB and louder, in time order, and not a quieter one", () => {
    // Echo of the segment reaches the mic from 4.1 s to 6.1 s.
    const loud = recordSession(-20);
    expect(transcribeFromTape(loud.tape, loud.pcm.slice(60_000, 100_000)).text).toBe("one two three four");
    expect(transcribeFromTape(loud.tape, loud.pcm.slice(60_000, 80_000)).text).toBe("one two");
    const quiet = recordSession(-30);
    expect(transcribeFromTape(quiet.tape, quiet.pcm.slice(60_000, 100_000)).text).toBe("");
  });
});

describe("end-of-turn oracle", () => {
  it("calls audio that ends on the first part of a sentence unfinished, and the whole sentence finished once its last word is heard", () => {
    const tape = new SessionTape("s", { levelDb: -30, delaySamples: 1600 });
    const mixer = new MicMixer({ roomSeed: 3, echoDb: -30, echoDelaySamples: 1600 });
    const first = { ...toneClip("set a timer for"), unfinished: true };
    const rest = toneClip("ten minutes please");
    // First part 1-2 s, second part 2.7-3.7 s (a 0.7 s pause).
    for (const [clip, at] of [
      [first, 16_000],
      [rest, 43_200],
    ] as const) {
      tape.placeClip(clip, at);
      mixer.schedule(clip, at);
    }
    const pcm = new Int16Array(80_000);
    for (let f = 0; f < 250; f++) {
      const frame = mixer.frame(f * 320, new Float32Array(320));
      tape.recordFrame(frame);
      pcm.set(frame, f * 320);
    }
    // At the pause (the utterance so far ends 200 ms after the first part).
    expect(tape.judgeEnd(pcm.slice(11_200, 35_200))).toMatchObject({ complete: false, located: true, clipText: "set a timer for" });
    // Halfway through the second part: not finished either.
    expect(tape.judgeEnd(pcm.slice(11_200, 52_000)).complete).toBe(false);
    // The whole utterance.
    expect(tape.judgeEnd(pcm.slice(11_200, 62_400))).toMatchObject({ complete: true, clipText: "ten minutes please" });
    // Where the words end, for a streaming recognizer.
    const words = tape.spokenWords();
    expect(words.map((w) => w.word)).toEqual(["set", "a", "timer", "for", "ten", "minutes", "please"]);
    expect(words[3]!.end).toBe(32_000);
  });

  it("generates the end-of-turn trials deterministically, every sentence once per scenario", () => {
    const a = planEotTrials(1, "smart-turn", (s) => s.trials);
    expect(planEotTrials(1, "smart-turn", (s) => s.trials)).toEqual(a);
    for (const s of EOT_SCENARIOS) {
      const t = a.filter((x) => x.kind === s.kind);
      expect(t).toHaveLength(s.trials);
      expect(new Set(t.map((x) => x.first.text)).size).toBe(s.trials);
      for (const x of t) expect(x.pauseMs).toBe(s.pauseMs);
    }
  });
});

describe("turn-taking words lost", () => {
  it("counts the words whose audio was skipped, not those replayed, and the planned words never sent", () => {
    const tracker = new PlaybackTracker();
    const audio = new Float32Array(16_000).fill(0.1);
    tracker.addSegment("r", 0, audio, "alpha beta gamma delta");
    // Played up to 55 %, skipped to 80 %, then played to the end; a rewind replays 40-55 % again.
    tracker.markPlayed("r", 0, 0, 8_800, 8_800);
    tracker.markPlayed("r", 0, 6_400, 8_800, 11_200);
    tracker.markPlayed("r", 0, 12_800, 16_000, 14_400);
    expect(tracker.wordsLost("r", 4)).toEqual({ lost: 1, words: ["gamma"] });
    expect(tracker.wordsLost("r", 6).lost).toBe(3);
    expect(tracker.lastAudibleClock("r")).toBe(14_400);
  });
});

describe("turn-taking scenarios", () => {
  it("are generated deterministically from the seed, every scenario with its own trials", () => {
    const a = planTrials(3, (s) => s.trials);
    expect(planTrials(3, (s) => s.trials)).toEqual(a);
    expect(planTrials(4, (s) => s.trials)).not.toEqual(a);
    for (const s of SCENARIOS) expect(a.filter((t) => t.kind === s.kind)).toHaveLength(s.trials);
    expect(new Set(a.map((t) => t.id)).size).toBe(a.length);
    expect(a.filter((t) => t.kind === "echo-20").length).toBeGreaterThanOrEqual(30);
    const delays = a.map((t) => t.echo.delayMs);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(20);
    expect(Math.max(...delays)).toBeLessThanOrEqual(150);
  });

  it("places words over the voiced span only (a quiet lead-in is not speech)", () => {
    const x = new Float32Array(16_000);
    for (let i = 3_200; i < 12_800; i++) x[i] = 0.2 * Math.sin(i / 5);
    for (let i = 0; i < 1_600; i++) x[i] = 0.002 * Math.sin(i / 3); // a breath ~40 dB under the speech
    expect(voicedSpan(x)).toEqual({ from: 3_200, to: 12_800 });
  });
});

describe("turn-taking benchmark smoke run", () => {
  it("plays every scenario through the real Worker and the fake Workers AI, and the outcomes hold", async () => {
    const r = await runTurnBench({ smoke: true, systems: ["fake"], endOfTurnPaths: [], log: () => {} });
    expect(r.incomplete).toEqual([]);
    const fake = r.systems[0]!;
    expect(fake.skipped).toBeUndefined();
    expect(fake.trials).toHaveLength(SCENARIOS.reduce((n, s) => n + s.smokeTrials, 0));
    expect(fake.trials.filter((t) => t.timedOut)).toEqual([]);
    expect(fake.trials.flatMap((t) => t.invalidMessages)).toEqual([]);
    expect(fake.turnTaking?.minInterruptionMs).toBeGreaterThan(0);
    // The oracle found every utterance the server sent in what the client had sent.
    const oracle = (
      fake.details as { oracle: { sttCalls: number; partialCalls: number; unmatchedSamples: number; unknownSessions: number } }
    ).oracle;
    expect(oracle.sttCalls).toBeGreaterThan(fake.trials.length);
    expect(oracle.unmatchedSamples).toBe(0);

    const of = (kind: string) => fake.trials.filter((t) => t.kind === kind);
    // Every reply talked over was heard.
    for (const t of fake.trials.filter((x) => !["interrupt-thinking", "continuation"].includes(x.kind)))
      expect(t.replyHeard, t.id).toBe(true);
    // The reply's own echo at -20 dB never interrupts it.
    for (const t of of("echo-20")) expect(t, t.id).toMatchObject({ falseInterruption: false, playedOut: true });
    // Real interruptions are confirmed, and the reply stops.
    for (const kind of ["interrupt-early", "interrupt-middle", "interrupt-late", "interrupt-thinking"]) {
      for (const t of of(kind)) expect(t, `${t.id}: ${t.log.join("\n")}`).toMatchObject({ missedInterruption: false, cut: true });
    }
    for (const t of of("interrupt-middle")) expect(t.clientPauses, t.id).toBeGreaterThan(0);
    // Backchannels: the reply resumes with at most one word lost, and the conversation keeps them as backchannels.
    for (const t of of("backchannel")) {
      expect(t, `${t.id}: ${t.log.join("\n")}`).toMatchObject({ resumed: true, falseInterruption: false });
      expect(t.wordsLost, t.id).toBeLessThanOrEqual(1);
      expect(t.storedBackchannels, t.id).toBeGreaterThanOrEqual(1);
    }

    const text = formatTurnReport(r);
    expect(text).toContain("Targets:");
    expect(text).toMatch(/echo -20 dB\s+-20 dB\s+2\s/);
  }, 120_000);
});

describe("end-of-turn benchmark smoke run", () => {
  it("plays a mid-sentence pause and a finished sentence through each end-of-turn path, and the judges wait or answer", async () => {
    const r = await runTurnBench({ smoke: true, systems: [], log: () => {} });
    expect(r.incomplete).toEqual([]);
    const eot = r.endOfTurn!;
    expect(eot.paths.map((p) => p.id)).toEqual(EOT_PATHS.map((p) => p.id));
    expect(eot.oracle.smartTurnUnlocated).toBe(0);
    expect(eot.oracle.smartTurnCalls).toBeGreaterThan(0);
    expect(eot.oracle.wordLists).toBeGreaterThan(0);
    const path = (id: string) => eot.paths.find((p) => p.id === id)!;
    for (const p of eot.paths) {
      expect(p.trials).toHaveLength(EOT_SCENARIOS.length);
      for (const t of p.trials) {
        const log = `${p.id}/${t.id}: ${t.log.join("\n")}`;
        expect(t.timedOut, log).toBe(false);
        expect(t.invalidMessages, log).toEqual([]);
        // The turn was taken after the user finished, and the reply was heard.
        expect(t.endOfTurnMs, log).toBeGreaterThan(0);
        expect(t.firstAudioMs, log).toBeGreaterThan(t.endOfTurnMs!);
      }
    }
    // smart-turn (told "incomplete") and the transcript signal ("Set a timer for") wait through every pause...
    for (const id of ["smart-turn", "transcript"]) {
      for (const t of path(id).trials.filter((x) => x.pauseMs !== null))
        expect(t.falseEndOfTurn, `${id}/${t.id}: ${t.states.map((s) => `${s.atMs} ${s.state}`).join(", ")}`).toBe(false);
    }
    // ...while a fixed 500 ms silence ends the turn in the 0.7 s and 1.0 s pauses.
    const silence = path("silence").trials;
    expect(silence.find((t) => t.kind === "pause-700")!.falseEndOfTurn).toBe(true);
    expect(silence.find((t) => t.kind === "pause-1000")!.falseEndOfTurn).toBe(true);
    expect(silence.find((t) => t.kind === "pause-400")!.falseEndOfTurn).toBe(false);
    // On a finished sentence both judges end the turn before the 500 ms silence would.
    const finished = (id: string) => path(id).trials.find((t) => t.kind === "finished")!.endOfTurnMs!;
    expect(finished("silence")).toBeGreaterThanOrEqual(480);
    expect(finished("smart-turn")).toBeLessThan(finished("silence") - 50);
    expect(finished("transcript")).toBeLessThan(finished("silence") - 50);

    const text = formatTurnReport(r);
    expect(text).toContain("End of turn");
    expect(text).toMatch(/batch \+ smart-turn, speculative\s+0\/1\s+0\/1\s+0\/1/);
  }, 120_000);
});
