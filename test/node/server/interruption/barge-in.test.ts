// The barge-in coordinator with the real turn detector and a scripted transcriber: when it
// transcribes a candidate, and what happens to speech whose transcript arrives after the decision.
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG } from "../../../../server/config.ts";
import { BargeIn, type ConfirmingSpeech, type OpenCandidate } from "../../../../server/interruption/barge-in.ts";
import type { CandidateDecision } from "../../../../server/interruption/interruption-candidate.ts";
import { TurnDetector } from "../../../../server/turn-detection/turn-detector.ts";
import { TurnHandle } from "../../../../server/turn/turn-handle.ts";
import type { TranscriptionResult } from "../../../../server/turn/transcription.ts";
import { concat, noise, syllables } from "../../../support/signals.ts";

interface Call {
  kind: "partial" | "final";
  audioMs: number;
  signal: AbortSignal;
  answer(text: string): void;
  fail(): void;
}

function setup() {
  const calls: Call[] = [];
  const decisions: { c: OpenCandidate; d: CandidateDecision; confirming: ConfirmingSpeech | null }[] = [];
  const late: unknown[] = [];
  let now = 0;
  const bargeIn = new BargeIn({
    rules: DEFAULT_CONFIG.interruption,
    now: () => now,
    language: () => "en",
    playedText: () => "Tomorrow in Paris it will be mostly sunny.",
    transcribe: (audio, kind, signal) =>
      new Promise<TranscriptionResult>((resolve, reject) => {
        calls.push({
          kind,
          audioMs: audio.length / 16,
          signal,
          answer: (text) => resolve({ text, audioSeconds: audio.length / 16_000, engine: undefined, retries: 0 }),
          fail: () => reject(new Error("503: down")),
        });
      }),
    decided: (c, d, confirming) => decisions.push({ c, d, confirming }),
    lateUtterance: (_c, speech) => late.push(speech),
  });
  const detector = new TurnDetector(DEFAULT_CONFIG.turnDetection);
  /** Feed audio in 20 ms frames, advancing the clock, like the session does. */
  const feed = (pcm: Int16Array) => {
    const ends: Int16Array[] = [];
    for (let i = 0; i < pcm.length; i += 320) {
      now += 20;
      for (const e of detector.push(pcm.subarray(i, i + 320), "hands-free"))
        if (e.type === "turn-end" && !bargeIn.onUtteranceEnd("conn", e.audio, e.endpointingMs, e.levelDbfs)) ends.push(e.audio);
      bargeIn.onAudio("conn", detector);
    }
    return ends;
  };
  const turn = new TurnHandle({ turnId: "t-1", replyId: "r-1" }, "generating");
  turn.advance("speaking", 0);
  feed(noise(1000, -62, 1)); // the room, before anything happens
  const open = () =>
    bargeIn.open({
      turn,
      source: "client",
      holdsPlayback: true,
      durationFromServer: false,
      conn: "conn",
      heldAt: { segment: 0, playedMs: 800 },
      captured: false,
    });
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { bargeIn, calls, decisions, late, feed, open, settle, detector };
}

describe("barge-in coordinator", () => {
  it("transcribes a held candidate early and staggered (two at most at once), and whole when it ends", async () => {
    const s = setup();
    s.open();
    s.feed(syllables(1400, -20));
    // 150 ms into the speech, then 150 ms later; no third while two are running.
    expect(s.calls.map((c) => c.kind)).toEqual(["partial", "partial"]);
    expect(s.calls[1]!.audioMs - s.calls[0]!.audioMs).toBeGreaterThanOrEqual(140);
    s.calls[0]!.answer("Mm");
    await s.settle();
    s.feed(syllables(200, -20));
    expect(s.calls.map((c) => c.kind)).toEqual(["partial", "partial", "partial"]);
    expect(s.calls[2]!.audioMs).toBeGreaterThan(s.calls[1]!.audioMs);
    s.feed(noise(700, -62, 2)); // the speech ends
    expect(s.calls.map((c) => c.kind)).toEqual(["partial", "partial", "partial", "final"]);
  });

  it("a candidate confirmed while its whole utterance is being transcribed hands that utterance to the next turn", async () => {
    const s = setup();
    s.open();
    s.feed(concat(syllables(400, -20), noise(600, -62, 3))); // short speech that ends: partial, then final
    const partial = s.calls.find((c) => c.kind === "partial")!;
    const final = s.calls.find((c) => c.kind === "final")!;
    s.bargeIn.onClientSpeech(500);
    partial.answer("Hold on");
    await s.settle();
    expect(s.decisions).toHaveLength(1);
    expect(s.decisions[0]!.d).toMatchObject({ decision: "confirmed", reason: "words" });
    expect(s.decisions[0]!.confirming).toBeNull();
    expect(s.decisions[0]!.c.finalsInFlight).toBe(1); // the session must not wait for another end of speech
    expect(final.signal.aborted).toBe(false);
    final.answer("Hold on, go back.");
    await s.settle();
    expect(s.late).toEqual([expect.objectContaining({ result: expect.objectContaining({ text: "Hold on, go back." }) })]);
  });

  it("a decision stops partial transcriptions still in flight; discarding stops the whole-utterance one too", async () => {
    const s = setup();
    s.open();
    s.feed(syllables(300, -20));
    const partial = s.calls[0]!;
    s.bargeIn.onClientEnded(false); // nothing captured yet? it was: the server heard speech, so no decision
    expect(s.decisions).toHaveLength(0);
    s.feed(noise(700, -62, 4));
    const final = s.calls.find((c) => c.kind === "final")!;
    final.answer("Mm-hmm.");
    await s.settle();
    expect(s.decisions[0]!.d).toMatchObject({ decision: "resumed", reason: "backchannel" });
    expect(partial.signal.aborted).toBe(true);

    s.open();
    s.feed(concat(syllables(300, -20), noise(700, -62, 5)));
    const pending = s.calls.at(-1)!;
    expect(pending.kind).toBe("final");
    s.bargeIn.discard();
    expect(pending.signal.aborted).toBe(true);
  });

  it("speech the server's VAD measures while nothing is audible confirms on its own duration plus words", async () => {
    const s = setup();
    const turn = new TurnHandle({ turnId: "t-2", replyId: "r-2" }, "generating");
    s.bargeIn.open({ turn, source: "server", holdsPlayback: true, durationFromServer: true, conn: "conn", heldAt: null, captured: true });
    s.feed(syllables(300, -20));
    s.calls[0]!.answer("and also");
    await s.settle();
    expect(s.decisions).toHaveLength(0);
    s.feed(syllables(400, -20));
    expect(s.decisions[0]!.d).toMatchObject({ decision: "confirmed", reason: "words" });
  });
});
