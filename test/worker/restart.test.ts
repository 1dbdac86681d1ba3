// Nothing lost on a restart: a restart lands during speech-to-text or mid-reply (the fake Workers AI
// made slow), the Durable Object is aborted, and the session starts again when a client reconnects.
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { RETRY_OPENING } from "../../server/turn/turn-recovery.ts";
import { SessionClient, fakeAi, newSessionId, openSession, transcriptOf, utterance } from "./support/session-client.ts";

const SLOW_REPLY =
  "The first sentence is short. The second sentence takes a long while to arrive because the model is slow today. A third one follows it.";
const SLOW_LLM = { llm: { tokenMs: 150, reply: SLOW_REPLY } };

/** The server has handled everything sent before (and its writes are durable: the pong waits for them). */
async function settled(c: SessionClient): Promise<void> {
  const t = Math.random();
  c.send({ type: "ping", t });
  await c.waitFor("pong", (p) => p.t === t);
}

const llmCalls = async (id: string) => (await fakeAi.calls(id)).filter((x) => x.kind === "llm");

const keptUtterances = (id: string) =>
  runInDurableObject(
    env.VoiceSession.getByName(id),
    (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM pending_utterances").one().n,
  );

/** A text turn whose first sentence was sent and (the client reports) played; the rest is still being written. */
async function firstSentenceHeard(id: string) {
  await fakeAi.configure(id, SLOW_LLM);
  const c = await SessionClient.connect(id);
  c.send({ type: "text", text: "Tell me something." });
  const seg = await c.waitFor("segment");
  expect(seg.text).toBe("The first sentence is short.");
  // The first segment played through; the client waits for the next one.
  c.send({ type: "playback", replyId: seg.replyId, segment: 1, playedMs: 0, state: "playing" });
  await settled(c);
  return { c, replyId: seg.replyId };
}

describe("restarts", () => {
  it("restart during speech-to-text re-runs the stored utterance when the session starts again", async () => {
    const { id, c } = await openSession({ stt: { latencyMs: 1_200, transcripts: ["Remember to buy milk."] } });
    c.sendAudio(utterance(1000, 900));
    await c.waitFor("state", (s) => s.state === "thinking");
    expect(await keptUtterances(id)).toBe(1);
    expect(c.of("transcript")).toEqual([]);
    await abortAllDurableObjects();

    await fakeAi.configure(id, { stt: { transcripts: ["Remember to buy milk."] } });
    const again = await SessionClient.connect(id);
    const transcript = await again.waitFor("transcript");
    expect(transcript.text).toBe("Remember to buy milk.");
    const done = await again.waitFor("reply-done");
    expect(done).toMatchObject({ status: "complete" });
    expect(done.text).toContain("Remember to buy milk");
    await again.playedOut(done.replyId);

    // The utterance went to speech-to-text again, and its audio is gone once the transcript is stored.
    const stt = (await fakeAi.calls(id)).filter((x) => x.kind === "stt");
    expect(stt).toHaveLength(1);
    expect(stt[0]!.input).toBeGreaterThan(1_000);
    expect(await keptUtterances(id)).toBe(0);
    const stored = await transcriptOf(id);
    expect(stored.turns.map((t) => [t.status, t.endReason])).toEqual([
      ["failed", "shutdown"],
      ["complete", "completed"],
    ]);
    expect(stored.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    again.close();
  });

  it("restart mid-reply keeps the heard first sentence and retries the turn once with a client connected", async () => {
    const id = newSessionId();
    const { replyId } = await firstSentenceHeard(id);
    await abortAllDurableObjects();

    await fakeAi.configure(id, { llm: { reply: "The second thing is that it works." } });
    const again = await SessionClient.connect(id);
    const ready = again.of("ready")[0]!;
    expect(ready.history.map((m) => [m.role, m.status, m.text])).toEqual([
      ["user", "complete", "Tell me something."],
      ["assistant", "interrupted", "The first sentence is short."],
    ]);
    expect(ready.history[1]).toMatchObject({ replyId, meta: { endReason: "shutdown" } });

    // The retry starts as soon as the client is there: no new transcript, the opening first.
    const done = await again.waitFor("reply-done");
    expect(done.replyId).not.toBe(replyId);
    expect(done.status).toBe("complete");
    expect(done.text).toBe(`${RETRY_OPENING} The second thing is that it works.`);
    expect(again.of("reply-delta")[0]!.text.trim()).toBe(RETRY_OPENING);
    expect(again.of("transcript")).toEqual([]);
    expect(again.of("segment").filter((s) => s.replyId === done.replyId).length).toBeGreaterThan(0);

    // The model was told what the user heard and answered the same question.
    const [call] = await llmCalls(id);
    const messages = call!.input as { role: string; content: string }[];
    expect(messages[0]!.content).toContain('heard only this much of it: "The first sentence is short."');
    expect(messages.at(-1)).toEqual({ role: "user", content: "Tell me something." });
    await again.playedOut(done.replyId);

    // Once: a second client connecting does not start it again.
    const other = await SessionClient.connect(id);
    await settled(other);
    expect(await llmCalls(id)).toHaveLength(1);
    const stored = await transcriptOf(id);
    expect(stored.turns.map((t) => [t.status, t.endReason, t.retry ?? null, t.retryOf ?? null])).toEqual([
      ["interrupted", "shutdown", "started", null],
      ["complete", "completed", null, stored.turns[0]!.turnId],
    ]);
    expect(stored.messages.map((m) => [m.role, m.text])).toEqual([
      ["user", "Tell me something."],
      ["assistant", "The first sentence is short."],
      ["assistant", done.text],
    ]);
    again.close();
    other.close();
  });

  it("a playing reply's progress is written for restarts at most every 2 s, a stop at once", async () => {
    const { id, c } = await openSession(SLOW_LLM);
    c.send({ type: "text", text: "Tell me something." });
    const seg = await c.waitFor("segment");
    const stored = () =>
      runInDurableObject(env.VoiceSession.getByName(id), (_i, state) =>
        state.storage.sql
          .exec<{ state: string; played_ms: number }>("SELECT state, played_ms FROM playback_reports WHERE reply_id = ?", seg.replyId)
          .toArray(),
      );
    for (const playedMs of [100, 600, 1100]) c.send({ type: "playback", replyId: seg.replyId, segment: 0, playedMs, state: "playing" });
    await settled(c);
    // The first progress report is kept; the next ones, well within 2 s of it, only in memory.
    expect(await stored()).toEqual([{ state: "playing", played_ms: 100 }]);
    c.send({ type: "playback", replyId: seg.replyId, segment: 0, playedMs: 1200, state: "stopped" });
    await settled(c);
    expect(await stored()).toEqual([{ state: "stopped", played_ms: 1200 }]);
    c.close();
  });

  it("a restarted turn is not retried when the user spoke since", async () => {
    const { id, c } = await openSession(SLOW_LLM);
    c.send({ type: "text", text: "Tell me something." });
    const seg = await c.waitFor("segment");
    // The user talks over the reply: the client pauses it 600 ms into its first sentence.
    c.send({ type: "barge-in", replyId: seg.replyId, event: "onset", segment: 0, playedMs: 600, speechMs: 120, playingMs: 600 });
    await c.waitFor("state", (s) => s.state === "paused");
    await settled(c);
    await abortAllDurableObjects();

    await fakeAi.configure(id, {});
    const again = await SessionClient.connect(id);
    const heard = again.of("ready")[0]!.history[1]!;
    expect(heard).toMatchObject({ role: "assistant", status: "interrupted", text: "The first", meta: { endReason: "shutdown" } });
    await settled(again);
    expect(await llmCalls(id)).toEqual([]);
    expect((await transcriptOf(id)).turns[0]).toMatchObject({ status: "interrupted", endReason: "shutdown", retry: "skipped" });

    // What the user says next is answered as usual.
    again.send({ type: "text", text: "Never mind." });
    const done = await again.waitFor("reply-done");
    expect(done.text.startsWith(RETRY_OPENING)).toBe(false);
    again.close();
  });

  it("a turn is retried at most once", async () => {
    const id = newSessionId();
    await firstSentenceHeard(id);
    await abortAllDurableObjects();

    // The retry is cut off by a second restart once its opening was sent.
    await fakeAi.configure(id, SLOW_LLM);
    const second = await SessionClient.connect(id);
    const opening = await second.waitFor("segment");
    expect(opening.text).toContain("Sorry");
    await settled(second);
    await abortAllDurableObjects();

    await fakeAi.configure(id, {});
    const third = await SessionClient.connect(id);
    await settled(third);
    const fourth = await SessionClient.connect(id);
    await settled(fourth);
    expect(await llmCalls(id)).toEqual([]);
    const stored = await transcriptOf(id);
    expect(stored.turns.map((t) => [t.status, t.endReason, t.retry ?? null, t.retryOf ?? null])).toEqual([
      ["interrupted", "shutdown", "started", null],
      ["interrupted", "shutdown", "skipped", stored.turns[0]!.turnId],
    ]);
    // Both cut replies keep what was heard of them (the retry's opening had just been sent).
    expect(stored.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "interrupted"],
      ["assistant", "interrupted"],
    ]);
    expect(stored.messages[1]!.text).toBe("The first sentence is short.");
    expect(stored.messages[2]!.plannedText ?? stored.messages[2]!.text).toContain("Sorry");
    third.close();
    fourth.close();
  });
});
