// The streaming path with Deepgram Flux (STT_MODE=streaming, STT_STREAMING_MODEL=@cf/deepgram/flux):
// the fake's Flux socket decides turns in audio time (speech = frames above -60 dBFS), so each event
// of Flux's documented sequence happens at a known point of the audio a test sends.
import { describe, expect, it } from "vitest";
import { MODEL_PRICES } from "../../../server/cost/cost.ts";
import { fakeAi, openSession, speakAndWait, transcriptOf, until, utterance, type SessionClient } from "../support/session-client.ts";
import { concat, roomTone as quiet, speech } from "../../support/signals.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Play the first turn's reply out, then wait until its utterance is stored as the turn's recording. */
async function playedOutAndRecorded(c: SessionClient, id: string, replyId: string): Promise<void> {
  await c.playedOut(replyId);
  await until(async () => ((await transcriptOf(id)).turns[0]?.recordings.user ? true : undefined), "the utterance's recording");
}

/** The LLM call a speculative reply started (Flux's EagerEndOfTurn). */
const speculativeLlmCall = (id: string) =>
  until(async () => (await fakeAi.calls(id)).find((x) => x.kind === "llm"), "the speculative LLM call");

describe("streaming recognition with Flux", () => {
  it("Flux EndOfTurn commits the turn with Flux's transcript: no Whisper call, captions on the way, audio billed at Flux's price, the utterance recorded", async () => {
    const { id, c } = await openSession({ live: { transcripts: ["what is the weather in paris"], endSilenceMs: 400, msPerWord: 150 } });
    const done = await speakAndWait(c, utterance(1200, 700));
    expect(done.status).toBe("complete");
    expect(c.of("transcript")[0]!.text).toBe("what is the weather in paris");
    // Live captions grew while the user spoke.
    const captions = c.of("user-partial").map((p) => p.text);
    expect(captions.length).toBeGreaterThan(1);
    expect(captions[0]!.split(" ").length).toBeLessThan(captions[captions.length - 1]!.split(" ").length);
    const calls = await fakeAi.calls(id);
    expect(calls.filter((x) => x.kind === "stt")).toHaveLength(0);
    const live = await fakeAi.liveCalls(id);
    expect(live).toHaveLength(1);
    expect(live[0]!.inputs).toMatchObject({ encoding: "linear16", sample_rate: "16000", eot_threshold: "0.7", eager_eot_threshold: "0.5" });
    expect(done.metrics.endOfTurn).toBe("flux");
    // Everything streamed so far is billed with this turn, at Flux's per-minute price.
    expect(done.usage.audioInSeconds).toBeGreaterThan(1.5);
    expect(MODEL_PRICES["@cf/deepgram/flux"]).toBeDefined();
    const turns = (await transcriptOf(id)).turns;
    expect(turns[0]!.models.stt).toBe("@cf/deepgram/flux");
    // The VAD's utterance is the turn's recording, though Flux transcribed it.
    await playedOutAndRecorded(c, id, done.replyId);
    c.close();
  });

  it("EagerEndOfTurn starts the reply early, but nothing of it is sent or stored until EndOfTurn confirms the turn, which is recorded with its utterance", async () => {
    // Flux ends the turn at 500 ms, before Parley would force it (600 ms).
    const { id, c } = await openSession({
      live: { transcripts: ["tell me a joke"], eagerSilenceMs: 200, endSilenceMs: 500, msPerWord: 150 },
    });
    c.sendAudio(concat(quiet(300), speech(900), quiet(400)));
    // Eager end: the LLM is already working on the eager transcript...
    const llm = await speculativeLlmCall(id);
    expect(JSON.stringify(llm.input)).toContain("tell me a joke");
    await sleep(300);
    // ...yet the client has seen nothing of the reply, and the floor is still the user's.
    expect(c.of("transcript")).toHaveLength(0);
    expect(c.of("reply-delta")).toHaveLength(0);
    expect(c.of("segment")).toHaveLength(0);
    expect(c.of("state").map((s) => s.state)).not.toContain("thinking");
    c.sendAudio(quiet(700)); // EndOfTurn
    const done = await c.waitFor("reply-done");
    expect(done.metrics.speculative).toBe(true);
    expect(done.metrics.endOfTurn).toBe("flux");
    expect((await fakeAi.liveCalls(id))[0]!.forcedEnds).toBe(0);
    expect(c.of("transcript").map((t) => t.text)).toEqual(["tell me a joke"]);
    const calls = await fakeAi.calls(id);
    expect(calls.filter((x) => x.kind === "llm")).toHaveLength(1);
    // The held reply came out in order once confirmed.
    const types = c.frames.map((f) => f.type).filter((t) => t === "transcript" || t === "reply-delta" || t === "segment");
    expect(types[0]).toBe("transcript");
    // The held reply's turn gets the utterance Flux ended as its recording.
    await playedOutAndRecorded(c, id, done.replyId);
    c.close();
  });

  it("finished words Flux is slow to end are forced after 600 ms of silence: ForceEndTurn, and the reply held since the eager end is released", async () => {
    // Flux alone would wait 3 s of silence.
    const { id, c } = await openSession({
      live: { transcripts: ["tell me a joke"], eagerSilenceMs: 200, endSilenceMs: 3_000, msPerWord: 150 },
    });
    c.sendAudio(concat(quiet(300), speech(900), quiet(500)));
    await speculativeLlmCall(id);
    // 500 ms of silence: not yet.
    await sleep(300);
    expect((await fakeAi.liveCalls(id))[0]!.forcedEnds).toBe(0);
    expect(c.of("transcript")).toHaveLength(0);
    c.sendAudio(quiet(200));
    const done = await c.waitFor("reply-done");
    const live = (await fakeAi.liveCalls(id))[0]!;
    expect(live.forcedEnds).toBe(1);
    expect(live.events).toContain("EndOfTurn:tell me a joke");
    // Decided by Parley's reading of the words; the reply started at the eager end is the one released.
    expect(done.metrics.endOfTurn).toBe("transcript");
    expect(done.metrics.speculative).toBe(true);
    expect(c.of("transcript").map((t) => t.text)).toEqual(["tell me a joke"]);
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "llm")).toHaveLength(1);
    c.close();
  });

  it("words that read as unfinished are left to Flux: no ForceEndTurn, however long the silence before Flux's own end of turn", async () => {
    const { id, c } = await openSession({
      live: { transcripts: ["set a timer for"], eagerSilenceMs: 200, endSilenceMs: 1_500, msPerWord: 150 },
    });
    const done = await speakAndWait(c, concat(quiet(300), speech(900), quiet(1_700)));
    expect((await fakeAi.liveCalls(id))[0]!.forcedEnds).toBe(0);
    expect(done.metrics.endOfTurn).toBe("flux");
    expect(c.of("transcript").map((t) => t.text)).toEqual(["set a timer for"]);
    c.close();
  });

  it("TurnResumed cancels the speculative reply: nothing of it is sent or stored, and what it spent is billed as wasted with the turn that follows", async () => {
    const { id, c } = await openSession({
      live: { transcripts: ["set a timer for ten minutes"], eagerSilenceMs: 200, endSilenceMs: 600, msPerWord: 200 },
      llm: { tokenMs: 20 },
    });
    c.sendAudio(concat(quiet(300), speech(600), quiet(300)));
    await speculativeLlmCall(id);
    // The user goes on after the pause: Flux says TurnResumed.
    c.sendAudio(concat(speech(800, 5), quiet(800)));
    const done = await c.waitFor("reply-done");
    const live = await fakeAi.liveCalls(id);
    expect(live[0]!.events).toContain("TurnResumed");
    const llmCalls = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    expect(llmCalls).toHaveLength(2);
    // The speculative reply was stopped before it was generated in full.
    expect(llmCalls[0]!.tokensSent ?? 0).toBeLessThan(llmCalls[1]!.tokensSent!);
    // One utterance, one reply: the client never saw the first one.
    expect(c.of("transcript").map((t) => t.text)).toEqual(["set a timer for ten minutes"]);
    expect(new Set(c.of("reply-delta").map((d) => d.replyId))).toEqual(new Set([done.replyId]));
    expect(done.usage.wasted?.replies).toBe(1);
    const t = await transcriptOf(id);
    expect(t.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
    c.close();
  });

  it("a Flux socket drop mid-turn reopens it and sends the turn's audio again: nothing the user said is lost", async () => {
    const { id, c } = await openSession({
      live: { transcripts: ["remind me to call my mother"], endSilenceMs: 500, dropAfterAudioMs: 800, msPerWord: 150 },
    });
    const done = await speakAndWait(c, utterance(1200, 900));
    expect(c.of("transcript")[0]!.text).toBe("remind me to call my mother");
    const live = await fakeAi.liveCalls(id);
    expect(live).toHaveLength(2);
    expect(live[0]!.closed).toBe("1011 fake drop");
    // The second socket heard the turn from its start again (the replay), not only what came after the drop.
    expect(live[1]!.events[0]).toBe("StartOfTurn");
    expect(live[1]!.events).toContain("EndOfTurn:remind me to call my mother");
    expect(live[0]!.audioMs + live[1]!.audioMs).toBeGreaterThan(2_400);
    expect(done.status).toBe("complete");
    c.close();
  });

  it("a Flux model error falls back to batch recognition: one stt_failed error, then Whisper answers the turn", async () => {
    const { c } = await openSession({
      live: { fail: { code: 5007, message: "No such model @cf/deepgram/flux" } },
      stt: { transcripts: ["fallback works"] },
    });
    c.sendAudio(utterance(1000, 900));
    const err = await c.waitFor("error", (e) => e.code === "stt_failed");
    expect(err.message).toMatch(/batch recognition/);
    const done = await c.waitFor("reply-done", undefined, { timeoutMs: 10_000 });
    expect(c.of("transcript")[0]!.text).toBe("fallback works");
    expect(done.metrics.endOfTurn).not.toBe("flux");
    expect(c.of("error").filter((e) => e.code === "stt_failed")).toHaveLength(1);
    c.close();
  });

  it("StartOfTurn while a reply is being prepared holds it as a barge-in candidate, and the user's words take the turn", async () => {
    const { c } = await openSession({
      live: { transcripts: ["what time is it", "no wait tell me the date"], endSilenceMs: 500, msPerWord: 150 },
      llm: { firstTokenMs: 1_000 },
    });
    c.sendAudio(utterance(900, 700));
    await c.waitFor("state", (s) => s.state === "thinking");
    c.sendAudio(utterance(1200, 900, 7));
    await c.waitFor("transcript", (t) => t.text === "no wait tell me the date");
    const done = await c.waitFor("reply-done", (d) => d.status === "complete", { timeoutMs: 10_000 });
    expect(c.of("transcript").map((t) => t.text)).toContain("no wait tell me the date");
    expect(done.text).toContain("no wait tell me the date");
    c.close();
  });
});
