// The batch path with END_OF_TURN=smart-turn: at a 200 ms pause the server asks smart-turn whether
// the utterance is finished, and starts a speculative reply whose audio is held until the turn is
// confirmed. Audio is sent in one go, then the test waits: what happens during the silence that
// follows depends only on the server's decisions, not on how fast frames arrive.
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SessionClient, fakeAi, openSession, transcriptOf } from "../support/session-client.ts";
import { concat, roomTone as quiet, speech } from "../../support/signals.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Speech and a 300 ms pause: no turn end within `waitMs` (not enough silence without smart-turn's
 * word); 400 ms more silence ends it by silence. Returns that turn's reply.
 */
async function endedBySilence(c: SessionClient, waitMs: number) {
  c.sendAudio(concat(quiet(300), speech(1000), quiet(300)));
  await sleep(waitMs);
  expect(c.of("transcript")).toHaveLength(0);
  c.sendAudio(quiet(400));
  const done = await c.waitFor("reply-done");
  expect(done.metrics.endOfTurn).toBe("silence");
  return done;
}

describe("end of turn with smart-turn", () => {
  it("smart-turn says complete at the short pause: the turn ends there, long before the silence timeout, and its reply was already under way", async () => {
    const { id, c } = await openSession({ smartTurn: { complete: [true] }, stt: { transcripts: ["What time is it?"] } });
    // 300 ms of silence only: the plain 500 ms silence could never end this turn.
    c.sendAudio(concat(quiet(300), speech(1000), quiet(300)));
    const done = await c.waitFor("reply-done");
    expect(done.metrics.endOfTurn).toBe("smart-turn");
    expect(done.metrics.endpointingMs).toBeLessThan(500);
    expect(done.metrics.speculative).toBe(true);
    const calls = await fakeAi.calls(id);
    expect(calls.filter((x) => x.kind === "eot")).toHaveLength(1);
    // One utterance, one transcription, one reply.
    expect(calls.filter((x) => x.kind === "stt")).toHaveLength(1);
    expect(calls.filter((x) => x.kind === "llm")).toHaveLength(1);
    expect(done.usage.endOfTurn?.calls).toBe(1);
    expect(done.usage.endOfTurn!.usd).toBeGreaterThan(0);
    c.close();
  });

  it("smart-turn says incomplete: a 0.7 s pause after an unfinished phrase does not end the turn, and the words after it belong to the same turn", async () => {
    const { id, c } = await openSession({
      smartTurn: { complete: [false, true] },
      stt: { transcripts: ["Set a timer for", "Set a timer for ten minutes."] },
    });
    c.sendAudio(concat(quiet(300), speech(800), quiet(300)));
    await sleep(200); // smart-turn answers "incomplete" during the pause
    c.sendAudio(concat(quiet(400), speech(900, 5), quiet(300)));
    const done = await c.waitFor("reply-done");
    expect(c.of("transcript").map((t) => t.text)).toEqual(["Set a timer for ten minutes."]);
    expect(done.metrics.endOfTurn).toBe("smart-turn");
    // The reply started at the first pause was thrown away unseen, and billed with this turn.
    expect(done.usage.wasted?.replies).toBe(1);
    const calls = await fakeAi.calls(id);
    const finalStt = calls.filter((x) => x.kind === "stt").at(-1)!;
    expect(finalStt.input as number).toBeGreaterThan(2_300); // the whole utterance, both parts
    const t = await transcriptOf(id);
    expect(t.messages.filter((m) => m.role === "user").map((m) => m.text)).toEqual(["Set a timer for ten minutes."]);
    c.close();
  });

  it("a smart-turn model error falls back to plain silence endpointing", async () => {
    const { c } = await openSession({ smartTurn: { fail: { code: 3040, message: "Capacity temporarily exceeded" } } });
    const done = await endedBySilence(c, 600);
    expect(done.metrics.endpointingMs).toBeGreaterThanOrEqual(480);
    c.close();
  });

  it("smart-turn slower than its timeout is ignored: silence decides, and the late answer changes nothing", async () => {
    const { c } = await openSession({ smartTurn: { complete: [true], latencyMs: 1_500 } });
    await endedBySilence(c, 800);
    await sleep(1_000);
    expect(c.of("transcript")).toHaveLength(1);
    c.close();
  });

  it("the user's pause lengths are learned and kept with the session: a returning session waits longer before ending an unjudged turn", async () => {
    // smart-turn unavailable: only the learned silence decides.
    const { id, c } = await openSession({ smartTurn: { fail: { code: 3040 } } });
    // A slow speaker: five mid-sentence pauses of 450 ms in one long utterance (sent in real time,
    // or near it: the server drops audio arriving much faster than real time).
    c.sendAudio(quiet(300));
    for (let i = 0; i < 5; i++) {
      c.sendAudio(concat(speech(500, 10 + i), quiet(450, 20 + i)));
      await sleep(700);
    }
    c.sendAudio(concat(speech(500, 30), quiet(1_200)));
    const first = await c.waitFor("reply-done");
    // Learned: 90th percentile of 450-ish ms pauses + margin > the 500 ms default.
    expect(first.metrics.endpointingMs).toBeGreaterThan(500);
    await c.playedOut(first.replyId);
    c.close();
    // A restart: only what was stored survives.
    await abortAllDurableObjects();
    const again = await SessionClient.connect(id);
    again.sendAudio(concat(quiet(300), speech(800), quiet(560)));
    await sleep(700);
    // 560 ms of silence ended turns for a new user; this one pauses longer, so the turn is not over yet.
    expect(again.of("transcript")).toHaveLength(0);
    again.sendAudio(quiet(800));
    const second = await again.waitFor("reply-done");
    expect(second.metrics.endpointingMs).toBeGreaterThan(560);
    again.close();
  });
});
