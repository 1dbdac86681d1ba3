// Floods and sizes: rate limits per connection, per client IP within a session and per session (a
// connection that keeps going is closed with 1008), `ready` within its byte budget, stored text caps.
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, TEXT_LIMITS, UPSTREAM_AUDIO } from "../../shared/protocol.ts";
import { ConversationStore } from "../../server/storage/conversation-store.ts";
import { DEFAULT_CONFIG } from "../../server/config.ts";
import {
  openSession,
  newSessionId,
  SessionClient,
  waitClosed,
  utterance,
  speakAndWait,
  transcriptOf,
  fakeAi,
} from "./support/session-client.ts";

const L = DEFAULT_CONFIG.limits;

const pings = (c: SessionClient, n: number) => {
  for (let i = 0; i < n; i++) c.send({ type: "ping", t: i });
};

/** Wait until `c` has had no new frame for `quietMs`: everything it was sent has been answered. */
async function settled(c: SessionClient, quietMs = 300): Promise<void> {
  let n = -1;
  while (n !== c.frames.length) {
    n = c.frames.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

/** Most a bucket can admit over `ms`: its 2 s burst plus what refilled meanwhile (the bound a slow, busy machine still keeps). */
const allowance = (perSecond: number, ms: number) => 2 * perSecond + (perSecond * ms) / 1000;

const rateErrors = (c: SessionClient) => c.of("error").filter((e) => e.code === "rate_limited");

describe("rate limits", () => {
  it("a connection that keeps flooding is warned with rate_limited, then closed with 1008 and a reason; the conversation survives", async () => {
    const { id, c } = await openSession();
    const first = await speakAndWait(c, "Remember this.");
    await c.playedOut(first.replyId);

    const t0 = Date.now();
    pings(c, L.closeAfterDrops + 2 * L.messagesPerSecond + 200);
    await waitClosed(c);
    const elapsed = Date.now() - t0;
    expect(c.closeCode).toBe(CLOSE_CODES.rateLimited);
    expect(c.closeReason).toMatch(/rate limited: too many messages on this connection/);
    // Told first, with a code, before the close.
    expect(rateErrors(c)).toHaveLength(1);
    expect(rateErrors(c)[0]!.retryable).toBe(true);
    // Only the burst (and what refilled while the flood arrived) got through.
    expect(c.of("pong").length).toBeLessThanOrEqual(allowance(L.messagesPerSecond, elapsed));

    const again = await SessionClient.connect(id);
    expect(again.of("ready")[0]!.history.map((m) => m.text)).toEqual(["Remember this.", first.text]);
    again.send({ type: "text", text: "Still there?" });
    expect((await again.waitFor("reply-done")).status).toBe("complete");
    again.close();
  });

  it("a short overrun inside the grace period is dropped and warned, and the connection goes on", async () => {
    const c = await SessionClient.connect(newSessionId());
    pings(c, 2 * L.messagesPerSecond + 60);
    await settled(c);
    expect(rateErrors(c)).toHaveLength(1);
    expect(c.of("pong").length).toBeGreaterThanOrEqual(2 * L.messagesPerSecond);
    expect(c.of("pong").length).toBeLessThan(2 * L.messagesPerSecond + 60);
    await new Promise((r) => setTimeout(r, 500));
    const from = c.frames.length;
    c.send({ type: "ping", t: 1 });
    await c.waitFor("pong", (p) => p.t === 1, { from });
    expect(c.closed).toBe(false);
    c.close();
  });

  it("connections of one session share the session's limit: more connections do not multiply the allowance", async () => {
    const id = newSessionId();
    const clients = await Promise.all(
      [1, 2, 3].map((i) => SessionClient.connect(id, { headers: { "cf-connecting-ip": `198.51.100.${i}` } })),
    );
    // Each stays inside its own burst (2 s of messagesPerSecond); together they are over the session's.
    const each = 2 * L.messagesPerSecond - 10;
    expect(3 * each).toBeGreaterThan(2 * L.sessionMessagesPerSecond);
    const t0 = Date.now();
    for (const c of clients) pings(c, each);
    await Promise.all(clients.map((c) => settled(c)));
    const answered = clients.reduce((n, c) => n + c.of("pong").length, 0);
    expect(answered).toBeGreaterThanOrEqual(2 * L.sessionMessagesPerSecond);
    expect(answered).toBeLessThanOrEqual(allowance(L.sessionMessagesPerSecond, Date.now() - t0));
    expect(answered).toBeLessThan(3 * each);
    const errors = clients.flatMap(rateErrors);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => /in this session/.test(e.message))).toBe(true);
    for (const c of clients) c.close();
  });

  it("connections from one address share that address's limit within the session; another address is not held back", async () => {
    const id = newSessionId();
    const same = await Promise.all([1, 2].map(() => SessionClient.connect(id, { headers: { "cf-connecting-ip": "203.0.113.7" } })));
    const other = await SessionClient.connect(id, { headers: { "cf-connecting-ip": "192.0.2.44" } });
    const each = 2 * L.messagesPerSecond - 10;
    expect(2 * each).toBeGreaterThan(2 * L.ipMessagesPerSecond);
    const t0 = Date.now();
    for (const c of same) pings(c, each);
    pings(other, 20);
    await Promise.all([...same, other].map((c) => settled(c)));
    const fromAddress = same.reduce((n, c) => n + c.of("pong").length, 0);
    expect(fromAddress).toBeGreaterThanOrEqual(2 * L.ipMessagesPerSecond);
    expect(fromAddress).toBeLessThanOrEqual(allowance(L.ipMessagesPerSecond, Date.now() - t0));
    expect(fromAddress).toBeLessThan(2 * each);
    expect(same.flatMap(rateErrors).every((e) => /from this address/.test(e.message))).toBe(true);
    expect(same.flatMap(rateErrors).length).toBeGreaterThan(0);
    expect(other.of("pong")).toHaveLength(20);
    expect(rateErrors(other)).toHaveLength(0);
    for (const c of [...same, other]) c.close();
  });

  it("a burst of typed turns starts only a few replies, with one rate_limited notice", async () => {
    const { id, c } = await openSession();
    for (let i = 0; i < 20; i++) c.send({ type: "text", text: `Message ${i}.` });
    await settled(c, 500);
    const errors = rateErrors(c);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/too many typed turns on this connection/);
    const transcripts = c.of("transcript").map((t) => t.text);
    expect(transcripts.length).toBeGreaterThanOrEqual(2 * L.turnsPerSecond);
    expect(transcripts.length).toBeLessThanOrEqual(2 * L.turnsPerSecond + 1);
    const llmCalls = (await fakeAi.calls(id)).filter((x) => x.kind === "llm").length;
    expect(llmCalls).toBeLessThanOrEqual(transcripts.length);
    expect(c.closed).toBe(false);
    c.close();
  });

  it("a flood of tiny binary frames counts as audio, is dropped before it is checked, and ends in a 1008 close", async () => {
    const c = await SessionClient.connect(newSessionId());
    const t0 = Date.now();
    for (let i = 0; i < L.closeAfterDrops + 400; i++) c.sendRaw(new Uint8Array(3).buffer);
    await waitClosed(c);
    const elapsed = Date.now() - t0;
    expect(c.closeCode).toBe(CLOSE_CODES.rateLimited);
    expect(c.closeReason).toMatch(/audio faster than real time/);
    // Only the frames inside the audio burst were checked (and answered bad_audio); the rest were dropped unread.
    const checked = c.of("error").filter((e) => e.code === "bad_audio").length;
    const framesPerSecond = (L.audioRealtimeFactor * 1000) / 20;
    // The audio burst is 2 s of the rate, but never less than two of the largest frames (2 x 64 KiB).
    const burstFrames = Math.max(2 * framesPerSecond, (2 * UPSTREAM_AUDIO.maxFrameBytes) / 640);
    expect(checked).toBeGreaterThan(0);
    expect(checked).toBeLessThanOrEqual(burstFrames + (framesPerSecond * elapsed) / 1000);
    expect(checked).toBeLessThan(L.closeAfterDrops);
  });
});

describe("sizes", () => {
  it("ready carries the newest history within its byte budget and says where the older messages are", async () => {
    const { id, c } = await openSession();
    c.close();
    // A long conversation of escaped text (each character six bytes of JSON), written straight to storage.
    const total = 300;
    await runInDurableObject(env.VoiceSession.getByName(id), (_instance, state) => {
      const store = new ConversationStore(state.storage.sql);
      for (let i = 0; i < total; i++) {
        store.addMessage({
          role: i % 2 ? "assistant" : "user",
          text: `${i}:${"\u0001".repeat(1_000)}`,
          status: "complete",
          source: "text",
          turnId: `t-${i}`,
          createdAt: i,
        });
      }
    });
    const again = await SessionClient.connect(id);
    const ready = again.of("ready")[0]!;
    const bytes = new TextEncoder().encode(JSON.stringify(ready.history)).byteLength;
    expect(bytes).toBeLessThanOrEqual(L.readyHistoryBytes);
    expect(bytes).toBeGreaterThan(L.readyHistoryBytes - 7_000);
    expect(ready.history[ready.history.length - 1]!.text.startsWith(`${total - 1}:`)).toBe(true);
    expect(ready.olderHistory).toEqual({ messages: total - ready.history.length, transcriptPath: `/api/sessions/${id}` });
    // The transcript API has them all.
    expect((await transcriptOf(id)).messages).toHaveLength(total);
    again.close();
  });

  it("a short history has no marker", async () => {
    const c = await SessionClient.connect(newSessionId());
    expect(c.of("ready")[0]!.olderHistory).toBeUndefined();
    c.close();
  });

  it("typed text over its cap is rejected with too_long and the connection and conversation go on", async () => {
    const c = await SessionClient.connect(newSessionId());
    c.send({ type: "text", text: "x".repeat(TEXT_LIMITS.userText + 1) });
    const err = await c.waitFor("error");
    expect(err).toMatchObject({ code: "too_long", retryable: false });
    c.send({ type: "text", text: "Short one." });
    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("complete");
    expect(c.of("transcript").map((t) => t.text)).toEqual(["Short one."]);
    c.close();
  });

  it("a transcript longer than its cap is cut to it where it is sent and stored", async () => {
    const { id, c } = await openSession({ stt: { transcripts: ["word ".repeat(3 * TEXT_LIMITS.transcript)] }, llm: { reply: "Noted." } });
    c.sendAudio(utterance(1000, 900));
    const transcript = await c.waitFor("transcript");
    expect(transcript.text).toHaveLength(TEXT_LIMITS.transcript);
    await c.waitFor("reply-done");
    const user = (await transcriptOf(id)).messages.find((m) => m.role === "user")!;
    expect(user.text).toHaveLength(TEXT_LIMITS.transcript);
    c.close();
  });

  it("a stored reply, its planned text and its heard text are capped at the storage boundary", async () => {
    const id = newSessionId();
    (await SessionClient.connect(id)).close();
    const got = await runInDurableObject(env.VoiceSession.getByName(id), (_instance, state) => {
      const store = new ConversationStore(state.storage.sql);
      const huge = "y".repeat(3 * TEXT_LIMITS.reply);
      store.addMessage({
        role: "assistant",
        text: huge,
        plannedText: huge,
        status: "complete",
        source: "voice",
        turnId: "t-1",
        replyId: "r-1",
        createdAt: 1,
      });
      const stored = store.reply("r-1")!;
      store.markReplyHeard("r-1", huge);
      return { text: stored.text.length, planned: stored.plannedText.length, heard: store.reply("r-1")!.text.length };
    });
    expect(got).toEqual({ text: TEXT_LIMITS.reply, planned: TEXT_LIMITS.reply, heard: TEXT_LIMITS.reply });
  });
});

describe("idle connections", () => {
  /** Run the session's idle check as if `aheadMs` had passed since now (the real check runs on a timer). */
  const checkIdleAhead = (id: string, aheadMs: number) =>
    runInDurableObject(env.VoiceSession.getByName(id), (instance) =>
      (instance as unknown as { checkIdle(now: number): void }).checkIdle(Date.now() + aheadMs),
    );

  it("a session nobody spoke or typed in for IDLE_CLOSE_MS closes its connections with 4408; pings do not keep it open; the conversation is kept", async () => {
    const { id, c } = await openSession();
    const reply = await speakAndWait(c, "Remember the number seven.");
    await c.playedOut(reply.replyId);
    await c.waitFor("state", (s) => s.state === "listening");
    pings(c, 3);
    await settled(c, 100);
    await checkIdleAhead(id, L.idleCloseMs - 5_000);
    await settled(c, 100);
    expect(c.closed).toBe(false);

    await checkIdleAhead(id, L.idleCloseMs + 1);
    await waitClosed(c);
    expect(c.closeCode).toBe(CLOSE_CODES.idle);
    expect(c.closeReason).toMatch(/^idle: nobody spoke or typed for 10 min/);
    const again = await SessionClient.connect(id);
    expect(again.of("ready")[0]!.history.map((m) => m.text)).toEqual(["Remember the number seven.", reply.text]);
    again.close();
  });

  it("a reply still being prepared keeps the session open past the idle time", async () => {
    const { id, c } = await openSession({ llm: { tokenMs: 150 } });
    c.send({ type: "text", text: "Take your time with this one." });
    await c.waitFor("reply-delta");
    await checkIdleAhead(id, L.idleCloseMs + 1);
    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("complete");
    expect(c.closed).toBe(false);
    c.close();
  });
});
