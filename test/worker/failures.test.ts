// Bad input and Workers AI faults: each gets a clear error with a code, the turn ends cleanly,
// and the connection and the stored conversation survive for the next turn.
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SessionClient, fakeAi, newSessionId, openSession, speakAndWait, transcriptOf, utterance } from "./support/session-client.ts";

async function nextTurnStillWorks(c: SessionClient, after: number) {
  const from = c.frames.length;
  c.send({ type: "text", text: "Are you still there?" });
  const done = await c.waitFor("reply-done", undefined, { from });
  expect(done.status).toBe("complete");
  const stored = await transcriptOf(c.sessionId);
  expect(stored.messages.length).toBeGreaterThan(after);
}

describe("bad input", () => {
  it("malformed and unknown messages get error codes and the next valid turn still works", async () => {
    const c = await SessionClient.connect(newSessionId());
    c.sendRaw("{not json");
    expect((await c.waitFor("error")).code).toBe("bad_message");
    c.send({ type: "teleport", to: "mars" });
    expect((await c.waitFor("error", (e) => e.code === "unknown_message")).message).toContain("teleport");
    c.send({ type: "text", text: "" });
    expect((await c.waitFor("error", (e) => e.message.includes("invalid text"))).code).toBe("bad_message");
    c.send({ type: "playback", replyId: "r1", segment: -1, playedMs: 10 });
    await c.waitFor("error", (e) => e.message.includes("segment"));
    c.sendRaw(JSON.stringify([1, 2, 3]));
    await c.waitFor("error", (e) => e.message.includes("no string `type`"));
    c.send({ type: "start", protocol: 99 });
    await c.waitFor("error", (e) => e.code === "unsupported_protocol");
    expect(c.closed).toBe(false);
    await nextTurnStillWorks(c, 0);
    c.close();
  });

  it("odd-length, empty and oversized audio frames are rejected without closing the connection", async () => {
    const c = await SessionClient.connect(newSessionId());
    c.sendRaw(new Uint8Array(641).buffer);
    expect((await c.waitFor("error", (e) => e.code === "bad_audio")).message).toContain("odd length");
    c.sendRaw(new ArrayBuffer(0));
    await c.waitFor("error", (e) => e.message.includes("empty"));
    c.sendRaw(new ArrayBuffer(70_000));
    await c.waitFor("error", (e) => e.code === "audio_too_large");
    await nextTurnStillWorks(c, 0);
    c.close();
  });

  it("a flood of messages is cut off with rate_limited once per second, not once per message", async () => {
    const c = await SessionClient.connect(newSessionId());
    for (let i = 0; i < 400; i++) c.send({ type: "ping", t: i });
    await c.waitFor("error", (e) => e.code === "rate_limited");
    await new Promise((r) => setTimeout(r, 100));
    expect(c.of("error").filter((e) => e.code === "rate_limited")).toHaveLength(1);
    const pongs = c.of("pong").length;
    expect(pongs).toBeGreaterThan(50);
    expect(pongs).toBeLessThan(400);
    await new Promise((r) => setTimeout(r, 1100));
    await nextTurnStillWorks(c, 0);
    c.close();
  });

  it("audio faster than real time is dropped with rate_limited", async () => {
    const c = await SessionClient.connect(newSessionId());
    const frame = new Int16Array(16_000); // 1 s per frame, 32 000 bytes
    for (let i = 0; i < 12; i++) c.sendRaw(frame.slice().buffer);
    const err = await c.waitFor("error", (e) => e.code === "rate_limited");
    expect(err.message).toContain("faster than real time");
    c.close();
  });

  it("bad session ids are refused with a 400 and a code", async () => {
    for (const bad of ["has space", "x".repeat(41), "semi;colon"]) {
      const res = await exports.default.fetch(`http://parley.test/parties/voice-session/${encodeURIComponent(bad)}`, {
        headers: { Upgrade: "websocket" },
      });
      expect(res.status).toBe(400);
      expect((await res.json<{ error: { code: string } }>()).error.code).toBe("bad_session_id");
    }
    const api = await exports.default.fetch("http://parley.test/api/sessions/bad%20id");
    expect(api.status).toBe(400);
  });
});

describe("Workers AI faults", () => {
  it("a stream that breaks mid-reply ends the turn as failed, keeping what was spoken, and the session keeps working", async () => {
    const { id, c } = await openSession({ llm: { breakAfterTokens: 9 } });
    c.send({ type: "text", text: "Break please." });
    const err = await c.waitFor("error");
    expect(err).toMatchObject({ code: "ai_stream_broken", retryable: true });
    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("failed");
    expect(done.text.split(" ").length).toBe(9);
    await c.waitFor("state", (s) => s.state === "listening");
    // Everything already sent as audio will be heard; the unspoken rest stays only in the planned text.
    const spoken = c
      .of("segment")
      .map((x) => x.text)
      .join(" ");
    expect(spoken.length).toBeGreaterThan(0);
    const stored = await transcriptOf(id);
    expect(stored.messages[1]).toMatchObject({ role: "assistant", status: "failed", text: spoken });
    expect([spoken, done.text]).toContain(stored.messages[1]!.plannedText ?? stored.messages[1]!.text);
    expect(stored.turns[0]!.errorCode).toBe("ai_stream_broken");

    await fakeAi.configure(id, {});
    await nextTurnStillWorks(c, 2);
    c.close();
  });

  it("capacity errors (3040) are retried and the turn succeeds", async () => {
    const { id, c } = await openSession({ stt: { fail: { code: 3040, times: 1 } }, llm: { fail: { code: 3040, times: 1 } } });
    const done = await speakAndWait(c, utterance(800, 900));
    expect(done.status).toBe("complete");
    expect(done.metrics.retries).toBe(2);
    expect(c.of("error")).toHaveLength(0);
    const calls = await fakeAi.calls(id);
    expect(calls.filter((x) => x.kind === "stt")).toHaveLength(2);
    expect(calls.filter((x) => x.kind === "llm")).toHaveLength(2);
    c.close();
  });

  it("retries are bounded: a 5xx that never clears fails the turn after maxRetries", async () => {
    const { id, c } = await openSession({ llm: { fail: { code: 502 } } });
    c.send({ type: "text", text: "Hello?" });
    const err = await c.waitFor("error");
    expect(err).toMatchObject({ code: "ai_unavailable", retryable: true });
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "llm")).toHaveLength(3);
    expect((await c.waitFor("reply-done")).status).toBe("failed");
    c.close();
  });

  it("the daily allocation (3036) is not retried and says when it resets", async () => {
    const { id, c } = await openSession({ stt: { fail: { code: 3036, message: "You have used up your daily free allocation" } } });
    c.sendAudio(utterance(800, 900));
    const err = await c.waitFor("error");
    expect(err).toMatchObject({ code: "ai_quota", retryable: false });
    expect(err.message).toContain("00:00 UTC");
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "stt")).toHaveLength(1);
    expect((await c.waitFor("reply-done")).status).toBe("failed");
    c.close();
  });

  it("a request too large (3006) becomes ai_too_large", async () => {
    const { c } = await openSession({ tts: { fail: { code: 3006 } } });
    c.send({ type: "text", text: "Say something." });
    expect((await c.waitFor("error")).code).toBe("ai_too_large");
    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("failed");
    expect(c.of("binary")).toHaveLength(0);
    c.close();
  });

  it("a reply stream that stalls is cut off by the idle timeout instead of hanging the turn", async () => {
    const { id, c } = await openSession({ llm: { stallAfterTokens: 4 } });
    c.send({ type: "text", text: "Stall now." });
    const err = await c.waitFor("error", undefined, { timeoutMs: 6000 });
    expect(err.code).toBe("ai_timeout");
    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("failed");
    const llm = (await fakeAi.calls(id)).find((x) => x.kind === "llm")!;
    expect(llm.cancelled).toBe(true);
    await fakeAi.configure(id, {});
    await nextTurnStillWorks(c, 2);
    c.close();
  });

  it("slow speech-to-text times out with ai_timeout and is retried", async () => {
    const { id, c } = await openSession({ stt: { latencyMs: 2500 } });
    c.sendAudio(utterance(800, 900));
    const err = await c.waitFor("error", undefined, { timeoutMs: 10_000 });
    expect(err.code).toBe("ai_timeout");
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "stt")).toHaveLength(3);
    c.close();
  });
});

describe("budgets", () => {
  it("a session over its spending limit gets budget_exceeded and makes no AI calls", async () => {
    const { id, c } = await openSession();
    const done = await speakAndWait(c, "Spend a little.");
    expect(done.usage.usd).toBeGreaterThan(0);
    // Lower this session's limit below what it has spent (the limit normally comes from SESSION_BUDGET_USD).
    await runInDurableObject(env.VoiceSession.getByName(id), (instance) => {
      (instance as unknown as { config: { budgets: { sessionUsd: number } } }).config.budgets.sessionUsd = done.usage.usd / 2;
    });
    const callsBefore = (await fakeAi.calls(id)).length;
    c.send({ type: "text", text: "Spend more." });
    const err = await c.waitFor("error");
    expect(err).toMatchObject({ code: "budget_exceeded", retryable: false });
    expect((await fakeAi.calls(id)).length).toBe(callsBefore);
    c.close();
  });
});

describe("cancel and barge-in", () => {
  it("cancel stops all further output for that reply and stores it as interrupted", async () => {
    const { id, c } = await openSession({ llm: { tokenMs: 50 } });
    c.send({ type: "text", text: "Tell me a long story." });
    const seg = await c.waitFor("segment");
    // As the browser does: report where playback stopped, then cancel.
    c.send({ type: "playback", replyId: seg.replyId, segment: 0, playedMs: seg.durationMs / 2, state: "stopped" });
    c.send({ type: "cancel" });
    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("interrupted");
    const doneAt = c.frames.indexOf(done);
    await new Promise((r) => setTimeout(r, 400));
    const after = c.frames.slice(doneAt + 1);
    expect(after.filter((f) => f.type === "segment" || f.type === "reply-delta" || f.type === "binary")).toEqual([]);
    const llm = (await fakeAi.calls(id)).find((x) => x.kind === "llm")!;
    expect(llm.cancelled).toBe(true);
    const tokensAtCancel = llm.tokensSent!;
    await new Promise((r) => setTimeout(r, 300));
    expect((await fakeAi.calls(id)).find((x) => x.kind === "llm")!.tokensSent).toBe(tokensAtCancel);

    const stored = await transcriptOf(id);
    expect(stored.messages[1]).toMatchObject({ role: "assistant", status: "interrupted", replyId: seg.replyId, plannedText: done.text });
    // Half of the first segment's audio was played: the words in the first half of its text.
    const words = seg.text.split(" ");
    const heard = stored.messages[1]!.text;
    expect(seg.text.startsWith(heard)).toBe(true);
    expect(heard.length).toBeLessThanOrEqual(seg.text.length / 2);
    expect(heard.split(" ").length).toBeGreaterThanOrEqual(Math.floor(words.length / 2) - 2);
    expect(stored.turns[0]!.status).toBe("interrupted");
    await nextTurnStillWorks(c, 2);
    c.close();
  });

  it("the user talking over the reply (speech start) aborts it and the new utterance gets its own reply", async () => {
    const { id, c } = await openSession({ llm: { tokenMs: 40 }, stt: { transcripts: ["First question.", "Actually, never mind."] } });
    c.sendAudio(utterance(800, 900, 1));
    const first = await c.waitFor("segment");
    c.sendAudio(utterance(800, 900, 2));
    const interrupted = await c.waitFor("reply-done", (d) => d.replyId === first.replyId);
    expect(interrupted.status).toBe("interrupted");
    const second = await c.waitFor("reply-done", (d) => d.replyId !== first.replyId, { timeoutMs: 15_000 });
    expect(second.status).toBe("complete");
    expect(second.text).toContain("Actually, never mind");
    const stored = await transcriptOf(id);
    expect(stored.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "interrupted"],
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    c.close();
  });

  it("a new typed turn while one is in flight interrupts it; both user messages are kept in order", async () => {
    const { id, c } = await openSession({ llm: { tokenMs: 40 } });
    c.send({ type: "text", text: "One." });
    await c.waitFor("reply-delta");
    c.send({ type: "text", text: "Two." });
    await c.waitFor("reply-done", (d) => d.status === "complete", { timeoutMs: 15_000 });
    const stored = await transcriptOf(id);
    // The first reply was cut before any of it was spoken: nothing heard, the started text kept for review.
    expect(stored.messages.map((m) => [m.role, m.text.split(" ")[0], m.status])).toEqual([
      ["user", "One.", "complete"],
      ["assistant", "", "interrupted"],
      ["user", "Two.", "complete"],
      ["assistant", "I", "complete"],
    ]);
    expect(stored.messages[1]!.plannedText).toMatch(/^I/);
    expect(stored.messages[3]!.text).toContain("Two");
  });
});
