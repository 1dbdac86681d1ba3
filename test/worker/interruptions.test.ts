// Interruptions decided before acting: speech over the reply pauses it, and the server confirms it
// (stop, keep what was heard, answer the new turn) or resumes it (a backchannel, the reply's own
// echo, a noise, nothing in time). Over real WebSockets against the deterministic fake Workers AI;
// the test plays the browser's part (its echo-aware detector's `barge-in` messages).
import { describe, expect, it } from "vitest";
import type { ClientMessageInput } from "../../shared/protocol.ts";
import {
  SessionClient,
  fakeAi,
  newSessionId,
  openSession,
  silence,
  speakAndWait,
  transcriptOf,
  until,
  utterance,
} from "./support/session-client.ts";
import { concat, mix, noise, syllables } from "../support/signals.ts";

const REPLY = "First sentence is right here. Second sentence has quite a few more words in it. Third one ends the reply.";

type BargeIn = Extract<ClientMessageInput, { type: "barge-in" }>;
const bargeIn = (replyId: string, event: BargeIn["event"], segment: number, playedMs: number, speechMs: number): BargeIn => ({
  type: "barge-in",
  replyId,
  event,
  segment,
  playedMs,
  speechMs,
  playingMs: 2_000,
});

/**
 * A new session with a typed question whose reply (three segments) has been generated; returns the
 * session, its client, the reply and its segments. The microphone is open hands-free meanwhile: the server's VAD has heard the quiet room.
 */
async function replyPlaying(extra: Parameters<typeof fakeAi.configure>[1] = {}) {
  const { id, c } = await openSession();
  await fakeAi.configure(id, { llm: { reply: REPLY, tokenMs: 5 }, ...extra });
  c.sendAudio(noise(1000, -62, 42));
  c.send({ type: "text", text: "Tell me three things." });
  const done = await c.waitFor("reply-done");
  const segs = c.of("segment").filter((s) => s.replyId === done.replyId);
  expect(segs.length).toBeGreaterThanOrEqual(3);
  return { id, c, done, segs };
}

describe("interruptions: pause, confirm, resume", () => {
  it("uh-huh during segment 2 resumes the reply, keeps the backchannel and never answers it", async () => {
    const { id, c, done, segs } = await replyPlaying({ stt: { transcripts: ["Uh-huh."] } });
    const from = c.frames.length;
    c.send(bargeIn(done.replyId, "onset", 1, segs[1]!.durationMs * 0.3, 100));
    await c.waitFor("state", (s) => s.state === "paused", { from });
    c.sendAudio(utterance(400, 700, 2, 0));
    c.send(bargeIn(done.replyId, "ended", 1, segs[1]!.durationMs * 0.3, 400));

    const decision = await c.waitFor("interruption", undefined, { from });
    expect(decision).toMatchObject({ replyId: done.replyId, decision: "resumed", reason: "backchannel", transcript: "Uh-huh." });
    expect(c.of("transcript").find((t) => t.kind === "backchannel")).toMatchObject({ text: "Uh-huh.", replyId: done.replyId });
    await c.waitFor("state", (s) => s.state === "speaking", { from: c.frames.indexOf(decision) });
    expect(c.of("reply-done")).toHaveLength(1); // no reply to the backchannel

    const heard = await c.playedOut(done.replyId);
    expect(heard).toMatchObject({ status: "complete", text: REPLY, endReason: "completed" });
    const stored = await transcriptOf(id);
    // Stored in the order things were settled; the backchannel names the reply it was said over.
    expect(stored.messages.map((m) => [m.role, m.kind ?? "turn", m.text, m.replyId ?? null])).toEqual([
      ["user", "turn", "Tell me three things.", null],
      ["assistant", "turn", REPLY, done.replyId],
      ["user", "backchannel", "Uh-huh.", done.replyId],
    ]);
    expect(stored.interruptions).toMatchObject([{ decision: "resumed", reason: "backchannel", source: "client", segment: 1 }]);
    expect(stored.totals).toMatchObject({ interruptionsResumed: 1, interruptionsConfirmed: 0 });

    // The backchannel is not a turn: the next LLM call does not see it.
    c.send({ type: "text", text: "And a fourth?" });
    const next = await c.waitFor("reply-done", (d) => d.replyId !== done.replyId);
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    const contents = (llm[1]!.input as { role: string; content: string }[]).map((m) => m.content);
    expect(contents.join("\n")).not.toContain("Uh-huh");
    expect(contents).toContain(REPLY);
    expect(next.status).toBe("complete");
    c.close();
  });

  it("confirmed barge-in after generation ended but while audio plays stores the heard part", async () => {
    const { id, c, done, segs } = await replyPlaying({ stt: { transcripts: ["Wait, what was the second one?"] } });
    const heldMs = segs[1]!.durationMs * 0.5;
    const from = c.frames.length;
    c.send(bargeIn(done.replyId, "onset", 1, heldMs, 100));
    c.sendAudio(concat(silence(100), syllables(900, -20)));
    c.send(bargeIn(done.replyId, "sustained", 1, heldMs, 500));

    const decision = await c.waitFor("interruption", undefined, { from });
    expect(decision).toMatchObject({ decision: "confirmed", reason: "words" });
    const heard = await c.waitFor("reply-heard", (h) => h.replyId === done.replyId, { from });
    expect(heard).toMatchObject({ status: "interrupted", endReason: "barge-in", plannedText: REPLY });
    // The first segment whole, then the words of the second that fit in half its duration.
    expect(heard.text.startsWith(`${segs[0]!.text} `)).toBe(true);
    const ofSecond = heard.text.slice(segs[0]!.text.length + 1);
    expect(segs[1]!.text.startsWith(ofSecond)).toBe(true);
    expect(ofSecond.length).toBeGreaterThan(0);
    expect(ofSecond.length).toBeLessThanOrEqual(segs[1]!.text.length / 2);

    // The speech goes on and ends: it is the next turn, answered with what was heard as context.
    c.sendAudio(utterance(300, 800, 3, 0));
    const next = await c.waitFor("reply-done", (d) => d.replyId !== done.replyId, { timeoutMs: 15_000 });
    expect(next.status).toBe("complete");
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    const messages = llm[1]!.input as { role: string; content: string }[];
    expect(messages.find((m) => m.role === "assistant")!.content).toBe(heard.text);
    expect(messages[messages.length - 1]!.content).toContain("Wait, what was the second one?");
    const stored = await transcriptOf(id);
    expect(stored.turns[0]).toMatchObject({ status: "interrupted", endReason: "barge-in" });
    expect(stored.interruptions).toMatchObject([{ decision: "confirmed", reason: "words", segment: 1 }]);
    c.close();
  });

  it("a real interruption that ends before it is confirmed is decided by its whole transcript and answered without transcribing it again; its utterance is the new turn's recording", async () => {
    const { id, c, done, segs } = await replyPlaying({ stt: { transcripts: ["Stop."] } });
    const from = c.frames.length;
    c.send(bargeIn(done.replyId, "onset", 0, segs[0]!.durationMs * 0.5, 100));
    c.sendAudio(utterance(300, 700, 4, 0)); // shorter than minInterruptionMs: no `sustained`
    const decision = await c.waitFor("interruption", undefined, { from });
    expect(decision).toMatchObject({ decision: "confirmed", reason: "words", transcript: "Stop." });
    const answer = await c.waitFor("reply-done", (d) => d.replyId !== done.replyId, { timeoutMs: 15_000 });
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    expect((llm[1]!.input as { content: string }[]).at(-1)!.content).toBe("Stop.");
    await c.playedOut(answer.replyId);
    const stt = (await fakeAi.calls(id)).filter((x) => x.kind === "stt" && !x.partial);
    expect(stt).toHaveLength(1);
    // The interrupting utterance is the new turn's recording, though the turn did not transcribe it itself.
    await until(
      async () => ((await transcriptOf(id)).turns[1]?.recordings.user ? true : undefined),
      "the interrupting turn's utterance recorded",
    );
    c.close();
  });

  it("echo of the reply at -20 dB does not interrupt: its words are the reply's own", async () => {
    const { id, c, done, segs } = await replyPlaying();
    // The reply is playing segment 1; the client's echo guard did not pause, but the server's VAD
    // hears the echo (speech-like, 20 dB under a -20 dBFS reply) and transcribes it when it ends.
    c.send({ type: "playback", replyId: done.replyId, segment: 1, playedMs: 200, state: "playing" });
    await fakeAi.configure(id, {
      llm: { reply: REPLY, tokenMs: 5 },
      stt: { transcripts: [segs[1]!.text.split(" ").slice(0, 5).join(" ")] },
    });
    const from = c.frames.length;
    c.sendAudio(concat(mix(syllables(1200, -40), noise(1200, -62, 5)), noise(700, -62, 6)));
    await new Promise((r) => setTimeout(r, 400));
    const stt = (await fakeAi.calls(id)).filter((x) => x.kind === "stt");
    expect(stt.length).toBe(1);
    expect(c.frames.slice(from).filter((f) => f.type === "interruption" || f.type === "transcript" || f.type === "reply-heard")).toEqual(
      [],
    );
    expect(c.of("state").at(-1)!.state).toBe("speaking");
    expect((await c.playedOut(done.replyId)).status).toBe("complete");
    const stored = await transcriptOf(id);
    expect(stored.messages).toHaveLength(2);
    expect(stored.interruptions).toMatchObject([{ decision: "resumed", reason: "echo", source: "server" }]);
    c.close();
  });

  it("speech far quieter than the user's own voice that the client did not pause for (a TV, a loud echo) is not the user", async () => {
    const { id, c } = await openSession({
      llm: { reply: REPLY, tokenMs: 5 },
      stt: { transcripts: ["Tell me three things.", "And now the weather for the weekend."] },
    });
    const done = await speakAndWait(c, utterance(900, 700, 1)); // the user, at -20 dBFS
    const from = c.frames.length;
    c.sendAudio(concat(mix(syllables(1500, -44), noise(1500, -70, 13)), noise(700, -70, 14)));
    await new Promise((r) => setTimeout(r, 300));
    expect(c.frames.slice(from).filter((f) => f.type === "interruption" || f.type === "transcript")).toEqual([]);
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "stt")).toHaveLength(1); // not even transcribed
    expect((await c.playedOut(done.replyId)).status).toBe("complete");
    expect((await transcriptOf(id)).interruptions).toMatchObject([{ decision: "resumed", reason: "noise", source: "server", sttCalls: 0 }]);
    c.close();
  });

  it("echo loud enough to pause the reply (-10 dB) is recognised by its words and the reply resumes", async () => {
    const { id, c, done, segs } = await replyPlaying();
    const played = segs[2]!.text.split(" ").slice(0, 3).join(" ");
    await fakeAi.configure(id, { llm: { reply: REPLY, tokenMs: 5 }, stt: { transcripts: [played] } });
    const from = c.frames.length;
    c.send(bargeIn(done.replyId, "onset", 2, segs[2]!.durationMs * 0.4, 100));
    c.sendAudio(concat(syllables(300, -30), noise(800, -62, 7)));
    const decision = await c.waitFor("interruption", undefined, { from });
    expect(decision).toMatchObject({ decision: "resumed", reason: "echo" });
    expect(c.frames.slice(from).filter((f) => f.type === "transcript")).toEqual([]);
    expect((await c.playedOut(done.replyId)).status).toBe("complete");
    c.close();
  });

  it("false interruption timeout resumes: a pause with no speech after it", async () => {
    const { id, c, done, segs } = await replyPlaying();
    const from = c.frames.length;
    const t0 = Date.now();
    c.send(bargeIn(done.replyId, "onset", 1, segs[1]!.durationMs * 0.2, 80));
    c.sendAudio(noise(300, -62, 8));
    const decision = await c.waitFor("interruption", undefined, { from, timeoutMs: 6_000 });
    expect(decision).toMatchObject({ decision: "resumed", reason: "timeout" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_400); // FALSE_INTERRUPTION_TIMEOUT_MS default 1500
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "stt")).toEqual([]);
    expect((await c.playedOut(done.replyId)).status).toBe("complete");
    c.close();
  });

  it("a click that paused the reply resumes it as noise as soon as the client hears the speech end", async () => {
    const { c, done, segs } = await replyPlaying();
    const from = c.frames.length;
    const t0 = Date.now();
    c.send(bargeIn(done.replyId, "onset", 1, segs[1]!.durationMs * 0.2, 80));
    c.sendAudio(concat(noise(40, -15, 9), noise(400, -62, 10)));
    c.send(bargeIn(done.replyId, "ended", 1, segs[1]!.durationMs * 0.2, 80));
    const decision = await c.waitFor("interruption", undefined, { from });
    expect(decision).toMatchObject({ decision: "resumed", reason: "noise" });
    expect(Date.now() - t0).toBeLessThan(1_400); // well before the timeout
    c.close();
  });

  it("a cough while the reply is being prepared holds it, and it goes on when the cough transcribes to nothing", async () => {
    const { id, c } = await openSession({
      llm: { reply: REPLY, firstTokenMs: 1_200, tokenMs: 5 },
      stt: { transcripts: ["Tell me three things.", ""] },
    });
    c.sendAudio(utterance(800, 700, 1));
    await c.waitFor("transcript");
    const from = c.frames.length;
    c.sendAudio(concat(syllables(250, -22), noise(700, -70, 11)));
    await c.waitFor("state", (s) => s.state === "paused", { from });
    const decision = await c.waitFor("interruption", undefined, { from });
    expect(decision).toMatchObject({ decision: "resumed", reason: "noise" });
    const done = await c.waitFor("reply-done", undefined, { from });
    expect(done).toMatchObject({ status: "complete", text: REPLY });
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "llm")).toHaveLength(1);
    c.close();
  });

  it("speech over a reply that the client did not pause for still interrupts once its words are known", async () => {
    const { id, c, done } = await replyPlaying({ stt: { transcripts: ["Hold on, I have a question."] } });
    c.send({ type: "playback", replyId: done.replyId, segment: 1, playedMs: 100, state: "playing" });
    const from = c.frames.length;
    c.sendAudio(utterance(900, 800, 12, 0));
    const decision = await c.waitFor("interruption", undefined, { from });
    expect(decision).toMatchObject({ decision: "confirmed", reason: "words" });
    expect(await c.waitFor("reply-heard", (h) => h.replyId === done.replyId, { from })).toMatchObject({
      status: "interrupted",
      endReason: "barge-in",
    });
    await c.waitFor("reply-done", (d) => d.replyId !== done.replyId, { timeoutMs: 15_000 });
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    expect((llm[1]!.input as { content: string }[]).at(-1)!.content).toBe("Hold on, I have a question.");
    c.close();
  });

  it("a wedged previous turn cannot block the next one", async () => {
    // Speech-to-text that never answers: each attempt times out (1.5 s in tests) and is retried twice.
    const { c } = await openSession({ stt: { latencyMs: 60_000 } });
    c.sendAudio(utterance(800, 700, 1));
    await c.waitFor("state", (s) => s.state === "thinking");
    const t0 = Date.now();
    c.send({ type: "text", text: "Never mind, just answer this." });
    const done = await c.waitFor("reply-done", (d) => d.status === "complete", { timeoutMs: 10_000 });
    const waited = Date.now() - t0;
    // The first turn settles only after ~5 s of failing attempts; the new one waited at most turnSettleMs (3 s).
    expect(waited).toBeLessThan(4_500);
    expect(done.text).toContain("Never mind");
    const failed = await c.waitFor("error", (e) => e.code === "ai_timeout", { timeoutMs: 10_000 });
    expect(c.frames.indexOf(failed)).toBeGreaterThan(c.frames.indexOf(done));
    c.close();
  });

  it("without a report from the client the reply is over once its audio has had time to play; progress reports extend that", async () => {
    const { c } = await openSession({ llm: { reply: "Short one.", tokenMs: 5 } });
    const done = await speakAndWait(c, "Say something short.");
    const audioMs = c.of("segment").reduce((n, s) => n + s.durationMs, 0);
    const t0 = Date.now();
    // Playback is running late (a gap): at t0 + 1 s the client has played only 100 ms.
    await new Promise((r) => setTimeout(r, 1_000));
    c.send({ type: "playback", replyId: done.replyId, segment: 0, playedMs: 100, state: "playing" });
    const heard = await c.waitFor("reply-heard", undefined, { timeoutMs: 10_000 });
    const waited = Date.now() - t0;
    expect(heard).toMatchObject({ status: "complete", endReason: "completed" });
    // Not at first audio + duration + 2 s grace, but after the report + what was left + grace.
    expect(waited).toBeGreaterThanOrEqual(1_000 + audioMs - 100 + 2_000 - 150);
    await c.waitFor("state", (s) => s.state === "listening");
    c.close();
  });

  it("a stop reported after the turn was already over still cuts the stored reply, and says why", async () => {
    const { id, c, done, segs } = await replyPlaying();
    await c.playedOut(done.replyId); // the server considers it over...
    c.send({ type: "playback", replyId: done.replyId, segment: 1, playedMs: 1, state: "stopped" }); // ...but the client had stopped it
    const heard = await c.waitFor("reply-heard", (h) => h.status === "interrupted");
    expect(heard).toMatchObject({ text: segs[0]!.text, endReason: "cancel" });
    expect((await transcriptOf(id)).turns[0]).toMatchObject({ status: "interrupted", endReason: "cancel" });
    c.close();
  });

  it("a barge-in for a reply the session never sent gets bad_message; the session goes on", async () => {
    const c = await SessionClient.connect(newSessionId());
    c.send(bargeIn("r-nope", "onset", 0, 0, 80));
    expect(await c.waitFor("error")).toMatchObject({ code: "bad_message" });
    c.send({ type: "text", text: "Still there?" });
    expect((await c.waitFor("reply-done")).status).toBe("complete");
    c.close();
  });
});
