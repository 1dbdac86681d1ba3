// What the review page and a reopened session need stored per turn: when each stage on the way to first
// audio began, the client's own time to first audio (from its playback report), and a failed turn's code,
// in the transcript (the shared SessionTranscript schema) and in `ready`'s history.
import { describe, expect, it } from "vitest";
import { SessionTranscript } from "../../shared/protocol.ts";
import { SessionClient, openSession, speakAndWait, transcriptOf, utterance } from "./support/session-client.ts";

describe("stored metrics for review", () => {
  it("a typed turn stores when the LLM request and the first sentence went out, in pipeline order, and no STT start", async () => {
    const { id, c } = await openSession();
    c.send({ type: "text", text: "Tell me about the sea." });
    await c.playedOut((await c.waitFor("reply-done")).replyId);
    const t = SessionTranscript.parse(await transcriptOf(id));
    const m = t.turns[0]!.metrics;
    expect(m.sttStartMs).toBeUndefined();
    expect(m.llmStartMs).toBeGreaterThanOrEqual(0);
    // The first sentence goes to TTS only once the LLM's first token came; its audio is sent after it.
    expect(m.firstChunkMs!).toBeGreaterThanOrEqual(m.llmStartMs! + m.llmFirstTokenMs!);
    expect(m.firstAudioMs!).toBeGreaterThanOrEqual(m.firstChunkMs!);
    expect(t.turns[0]!.clientFirstAudioMs).toBeNull();
    c.close();
  });

  it("a spoken turn's speech-to-text starts at the end of the turn (before it, when the reply started speculatively) and the LLM request follows it", async () => {
    const { id, c } = await openSession({ stt: { transcripts: ["How deep is the ocean?"] } });
    const done = await speakAndWait(c, utterance(1000, 900));
    // Relative to the end-of-turn decision: a reply started on an early signal began transcribing before it.
    if (done.metrics.speculative) expect(done.metrics.sttStartMs!).toBeLessThan(0);
    else expect(done.metrics.sttStartMs).toBe(0);
    expect(done.metrics.llmStartMs!).toBeGreaterThanOrEqual(done.metrics.sttStartMs! + done.metrics.sttMs);
    await c.playedOut(done.replyId);
    const stored = SessionTranscript.parse(await transcriptOf(id)).turns[0]!.metrics;
    expect(stored).toMatchObject({
      sttStartMs: done.metrics.sttStartMs,
      llmStartMs: done.metrics.llmStartMs,
      firstChunkMs: done.metrics.firstChunkMs,
    });
    c.close();
  });

  it("the client's first-audio report is stored once (the first wins) and a reconnecting client gets it back in ready's history", async () => {
    const { id, c } = await openSession();
    const done = await speakAndWait(c, "Hello there.");
    c.send({ type: "playback", replyId: done.replyId, segment: 0, playedMs: 0, state: "playing", firstAudioMs: 432 });
    c.send({ type: "playback", replyId: done.replyId, segment: 0, playedMs: 100, state: "playing", firstAudioMs: 999 });
    await c.playedOut(done.replyId);
    c.close();

    const again = await SessionClient.connect(id);
    const reply = again.of("ready")[0]!.history.find((h) => h.role === "assistant")!;
    expect(reply.meta).toMatchObject({
      clientFirstAudioMs: 432,
      firstAudioMs: done.metrics.firstAudioMs,
      backend: done.backend,
      usd: done.usage.usd,
    });
    expect(SessionTranscript.parse(await transcriptOf(id)).turns[0]!.clientFirstAudioMs).toBe(432);
    again.close();
  });

  it("a first-audio report out of range is refused with bad_message and the session goes on", async () => {
    const { id, c } = await openSession();
    const done = await speakAndWait(c, "Hi.");
    c.send({ type: "playback", replyId: done.replyId, segment: 0, playedMs: 0, state: "playing", firstAudioMs: -5 });
    expect((await c.waitFor("error")).code).toBe("bad_message");
    await c.playedOut(done.replyId);
    expect(SessionTranscript.parse(await transcriptOf(id)).turns[0]!.clientFirstAudioMs).toBeNull();
    c.close();
  });

  it("a failed turn's error code is in ready's history meta, so a reopened session shows what failed", async () => {
    const { id, c } = await openSession({ llm: { fail: { code: 502 } } });
    c.send({ type: "text", text: "Hello?" });
    expect((await c.waitFor("reply-done")).status).toBe("failed");
    await c.waitFor("reply-heard");
    c.close();
    const again = await SessionClient.connect(id);
    const reply = again.of("ready")[0]!.history.find((h) => h.role === "assistant")!;
    expect(reply.status).toBe("failed");
    expect(reply.meta?.errorCode).toBe("ai_unavailable");
    expect(SessionTranscript.parse(await transcriptOf(id)).turns[0]!.errorCode).toBe("ai_unavailable");
    again.close();
  });
});
