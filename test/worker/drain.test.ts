// The dev server's drain (what `npm start` calls on SIGTERM): replies in flight stored as cut off by
// shutdown with what was heard, sockets closed with 1001, and everything picked up again after the restart.
import { env, exports } from "cloudflare:workers";
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DRAIN_PATH, DRAIN_SECRET_HEADER, type SessionDrainReport } from "../../server/restart/drain-contract.ts";
import { RETRY_OPENING } from "../../server/turn/turn-recovery.ts";
import { SessionClient, fakeAi, newSessionId, openSession, transcriptOf, utterance } from "./support/session-client.ts";

const secret = (env as unknown as { DRAIN_SECRET: string }).DRAIN_SECRET;

function drain(headers: Record<string, string> = { [DRAIN_SECRET_HEADER]: secret }, method = "POST") {
  return exports.default.fetch(`http://parley.test${DRAIN_PATH}`, { method, headers });
}

async function drainReport(id: string): Promise<SessionDrainReport | undefined> {
  const res = await drain();
  expect(res.status).toBe(200);
  const body = await res.json<{ sessions: SessionDrainReport[]; failed: unknown[] }>();
  return body.sessions.find((s) => s.session === id);
}

function closeCode(c: SessionClient): Promise<number> {
  return new Promise((resolve) => c.ws.addEventListener("close", (e: CloseEvent) => resolve(e.code)));
}

describe("drain", () => {
  it("the drain route answers only a POST with the secret npm start generated", async () => {
    expect((await drain({})).status).toBe(403);
    expect((await drain({ [DRAIN_SECRET_HEADER]: `${secret}x` })).status).toBe(403);
    expect((await drain({ [DRAIN_SECRET_HEADER]: secret }, "GET")).status).toBe(405);
    // The session's own route does not drain without it either.
    const id = newSessionId();
    const res = await exports.default.fetch(`http://parley.test/parties/voice-session/${id}`, {
      method: "POST",
      headers: { [DRAIN_SECRET_HEADER]: "nope" },
    });
    expect(res.ok).toBe(false);
  });

  it("a drain stores the reply in flight as cut off by shutdown with what was heard, closes sockets with 1001, and the reply is retried after the restart", async () => {
    const { id, c } = await openSession({
      llm: {
        tokenMs: 150,
        reply: "The first sentence is short. The second sentence takes a long while to arrive because the model is slow today.",
      },
    });
    const closed = closeCode(c);
    c.send({ type: "text", text: "Tell me something." });
    const seg = await c.waitFor("segment");
    c.send({ type: "playback", replyId: seg.replyId, segment: 1, playedMs: 0, state: "playing" });
    c.send({ type: "ping", t: 1 });
    await c.waitFor("pong");

    expect(await drainReport(id)).toEqual({ session: id, cutReplies: 1, transcribing: 0, closed: 1 });
    expect(await closed).toBe(1001);
    const stored = await transcriptOf(id);
    expect(stored.turns[0]).toMatchObject({ status: "interrupted", endReason: "shutdown", retry: "pending" });
    expect(stored.messages.map((m) => [m.role, m.status, m.text])).toEqual([
      ["user", "complete", "Tell me something."],
      ["assistant", "interrupted", "The first sentence is short."],
    ]);

    // The process is gone and comes back: the client reconnects and hears the rest.
    await abortAllDurableObjects();
    await fakeAi.configure(id, { llm: { reply: "The second sentence." } });
    const again = await SessionClient.connect(id);
    const done = await again.waitFor("reply-done");
    expect(done.text).toBe(`${RETRY_OPENING} The second sentence.`);
    again.close();
  });

  it("a drain leaves a turn in speech-to-text to run again from its kept utterance", async () => {
    const { id, c } = await openSession({ stt: { latencyMs: 1_200, transcripts: ["Call me back."] } });
    const closed = closeCode(c);
    c.sendAudio(utterance(1000, 900));
    await c.waitFor("state", (s) => s.state === "thinking");
    expect(await drainReport(id)).toEqual({ session: id, cutReplies: 0, transcribing: 1, closed: 1 });
    expect(await closed).toBe(1001);
    await abortAllDurableObjects();

    await fakeAi.configure(id, { stt: { transcripts: ["Call me back."] } });
    const again = await SessionClient.connect(id);
    expect((await again.waitFor("transcript")).text).toBe("Call me back.");
    expect((await again.waitFor("reply-done")).status).toBe("complete");
    again.close();
  });
});
