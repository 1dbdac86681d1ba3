// The daily budget across sessions (DAILY_BUDGET_NEURONS = 300 in this project: about three replies'
// worth of reservations). One DailyBudget Durable Object keeps the day for every session.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DAILY_BUDGET_NAME } from "../../../server/budget/daily-budget.ts";
import { SessionClient, fakeAi, newSessionId, transcriptOf, utterance } from "../support/session-client.ts";

const LIMIT = 300;
const keeper = () => env.DailyBudget.getByName(DAILY_BUDGET_NAME);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const id = newSessionId();
    const c = await SessionClient.connect(id);
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
