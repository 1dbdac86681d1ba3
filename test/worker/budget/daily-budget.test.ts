// The daily budget across sessions (DAILY_BUDGET_NEURONS = 300 in this project: about three replies'
// worth of reservations). One DailyBudget Durable Object keeps the day for every session.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OperatorHealth } from "../../../shared/protocol.ts";
import { operatorKey, signKey } from "../../../server/access/session-keys.ts";
import { DAILY_BUDGET_NAME } from "../../../server/budget/daily-budget.ts";
import type { Transcript } from "../../../server/transcript/transcript.ts";
import {
  SessionClient,
  fakeAi,
  newSessionId,
  openSession,
  speakAndWait,
  transcriptOf,
  utterance,
  visitorAddress,
} from "../support/session-client.ts";

const LIMIT = 300;
const keeper = () => env.DailyBudget.getByName(DAILY_BUDGET_NAME);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const get = (path: string, key?: string) =>
  exports.default.fetch(`http://parley.test${path}`, {
    headers: { "CF-Connecting-IP": visitorAddress(), ...(key ? { Authorization: `Bearer ${key}` } : {}) },
  });

describe("who sees the budgets", () => {
  it("the operator key shows the day's spending at /api/health; the public sees only ok, and a session's key is not the operator's", async () => {
    const { id, c } = await openSession();
    c.send({ type: "text", text: "Spend something." });
    await c.waitFor("reply-done");
    await sleep(100);
    expect(await (await get("/api/health")).json()).toEqual({ ok: true });
    const health = OperatorHealth.parse(await (await get("/api/health", await operatorKey(env.SESSION_SECRET!))).json());
    expect(health.budget.daily).toMatchObject({ limitNeurons: LIMIT, reservedNeurons: 0 });
    expect(health.budget.daily.spentNeurons).toBeGreaterThan(0);
    expect(health.budget.sessionUsd).toBe(0.055);
    const owner = await signKey(env.SESSION_SECRET!, id, { role: "owner" });
    expect((await get("/api/health", owner)).status).toBe(403);
    expect((await get("/api/health", await operatorKey("another secret of at least thirty-two characters"))).status).toBe(403);
    c.close();
  });

  it("the transcript shows the session's spending against its limit to anyone with a key, and the day's only to the owner", async () => {
    const { id, c } = await openSession();
    const done = await speakAndWait(c, "Spend something.");
    const mine = await transcriptOf(id);
    expect(mine.budget?.session).toEqual({ spentUsd: done.usage.usd, limitUsd: 0.055 });
    expect(mine.budget?.daily?.limitNeurons).toBe(LIMIT);
    const review = await signKey(env.SESSION_SECRET!, id, { role: "review", version: 1 });
    const shared = await (await get(`/api/sessions/${id}`, review)).json<Transcript>();
    expect(shared.budget?.session.spentUsd).toBe(done.usage.usd);
    expect(shared.budget?.daily).toBeNull();
    c.close();
  });
});

describe("daily budget", () => {
  it("every turn of every session is settled with the day's keeper, what it really spent, not its reservation", async () => {
    const before = await keeper().status(LIMIT);
    const a = await SessionClient.connect(newSessionId());
    const b = await SessionClient.connect(newSessionId());
    a.send({ type: "text", text: "Hello from the first session." });
    b.send({ type: "text", text: "Hello from the second session." });
    const [da, db] = await Promise.all([a.waitFor("reply-done"), b.waitFor("reply-done")]);
    await sleep(100); // settling is not on the reply's path
    const after = await keeper().status(LIMIT);
    expect(after.spentNeurons - before.spentNeurons).toBeCloseTo(da.usage.neurons + db.usage.neurons, 6);
    expect(after.reservedNeurons).toBe(0);
    a.close();
    b.close();
  });

  it("when the day's budget is spent a voice turn keeps the user's words and answers budget_exceeded with the reset time; the next utterance is refused before any model call", async () => {
    // Another session spent the day (charged straight to the keeper, as a barge-in's transcription is).
    const s = await keeper().status(LIMIT);
    await keeper().charge(Math.max(0, LIMIT - s.spentNeurons - 10));
    const { id, c } = await openSession();
    c.sendAudio(utterance(800, 900));
    const err = await c.waitFor("error");
    expect(err).toMatchObject({ code: "budget_exceeded", retryable: false });
    expect(err.message).toMatch(/resets at 00:00 UTC, in \d+ (h \d+ )?min|under a minute/);
    // Nothing said is lost: the words are in the conversation, with no reply.
    const t = await transcriptOf(id);
    expect(t.messages.filter((m) => m.role === "user")).toHaveLength(1);
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "llm")).toHaveLength(0);
    // The session now knows: the next utterance is not even transcribed.
    const sttBefore = (await fakeAi.calls(id)).filter((x) => x.kind === "stt").length;
    c.sendAudio(utterance(800, 900, 2));
    await c.waitFor("error", (e) => e.code === "budget_exceeded" && e !== err);
    expect((await fakeAi.calls(id)).filter((x) => x.kind === "stt")).toHaveLength(sttBefore);
    // A new session does not get around it.
    const other = await SessionClient.connect(newSessionId());
    other.send({ type: "text", text: "Maybe a new session can talk?" });
    expect(await other.waitFor("error")).toMatchObject({ code: "budget_exceeded" });
    c.close();
    other.close();
  });
});
