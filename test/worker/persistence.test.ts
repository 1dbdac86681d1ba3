// The conversation outlives connections, evictions and restarts of the Durable Object.
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MIGRATIONS, migrate } from "../../server/storage/migrations.ts";
import { SessionClient, fakeAi, openSession, speakAndWait, transcriptOf, waitClosed } from "./support/session-client.ts";

describe("persistence", () => {
  it("migrations are versioned and applying them again changes nothing", async () => {
    const { id, c } = await openSession();
    c.send({ type: "text", text: "Keep this." });
    await c.waitFor("reply-done");
    const stub = env.VoiceSession.getByName(id);
    const result = await runInDurableObject(stub, (_instance, state) => {
      const version = migrate(state.storage);
      const count = state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM messages").one().n;
      return { version, count };
    });
    expect(result).toEqual({ version: MIGRATIONS.length, count: 2 });
    c.close();
  });

  it("a session torn down under a live socket drops it; the client that reconnects finds the LLM still sees the earlier turns", async () => {
    const { id, c } = await openSession();
    const first = await speakAndWait(c, "My favourite colour is teal.");
    await c.playedOut(first.replyId);
    await c.waitFor("state", (s) => s.state === "listening");
    // No hibernation (server/voice-session.ts): an object that goes away takes its live sockets with it.
    await abortAllDurableObjects();
    await waitClosed(c);
    const again = await SessionClient.connect(id);
    expect(again.of("ready")[0]!.history.map((m) => m.text)).toEqual(["My favourite colour is teal.", first.text]);
    again.send({ type: "text", text: "What is my favourite colour?" });
    const second = await again.waitFor("reply-done");
    expect(second.status).toBe("complete");
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    const messages = llm[1]!.input as { role: string; content: string }[];
    expect(messages.map((m) => m.content)).toContain(first.text);
    again.close();
  });

  it("a restart before any of a reply was heard keeps the user's words, the empty reply cut off by shutdown, and the session usable", async () => {
    const { id, c } = await openSession({ llm: { tokenMs: 200 } });
    c.send({ type: "text", text: "Start a slow answer." });
    await c.waitFor("reply-delta");
    await abortAllDurableObjects();

    await fakeAi.configure(id, {});
    const again = await SessionClient.connect(id);
    const ready = again.of("ready")[0]!;
    expect(ready.state).toBe("listening");
    expect(ready.activeReplyId).toBeNull();
    expect(ready.history.map((m) => [m.role, m.status, m.text])).toEqual([
      ["user", "complete", "Start a slow answer."],
      ["assistant", "interrupted", ""],
    ]);
    const stored = await transcriptOf(id);
    expect(stored.turns[0]).toMatchObject({ status: "interrupted", endReason: "shutdown" });

    // The cut reply is retried for the connected client (test/worker/restart.test.ts); what the user says next is answered after it.
    const retried = await again.waitFor("reply-done");
    await again.playedOut(retried.replyId);
    const from = again.frames.length;
    again.send({ type: "text", text: "Are you back?" });
    expect((await again.waitFor("reply-done", undefined, { from })).status).toBe("complete");
    again.close();
  });

  it("the transcript API returns messages with per-turn timings, usage and cost", async () => {
    const { id, c } = await openSession();
    c.send({ type: "text", text: "First." });
    await c.playedOut((await c.waitFor("reply-done")).replyId);
    c.send({ type: "text", text: "Second." });
    await c.waitFor("reply-done", (d) => d.text.includes("Second"));
    const t = await transcriptOf(id);
    expect(t.messages).toHaveLength(4);
    expect(t.turns).toHaveLength(2);
    for (const turn of t.turns) {
      expect(turn.status).toBe("complete");
      expect(turn.metrics.firstAudioMs).toBeGreaterThan(0);
      expect(turn.usage.ttsCharacters).toBeGreaterThan(0);
    }
    expect(t.totals.neurons).toBeCloseTo(t.turns[0]!.usage.neurons + t.turns[1]!.usage.neurons, 9);
    c.close();
  });
});
