// RECORD_AUDIO=false (its own project, vitest.config.ts): a session records nothing, and says so.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openSession, speakAndWait, transcriptOf, utterance } from "../support/session-client.ts";

describe("with RECORD_AUDIO=false", () => {
  it("a voice turn played out stores no recording in R2 and its transcript turn lists none", async () => {
    const { id, c } = await openSession({ llm: { reply: "One sentence. And another one.", tokenMs: 5 } });
    const done = await speakAndWait(c, utterance(800, 900, 1));
    await c.playedOut(done.replyId);
    // A second turn after the first settled: any write of the first would have been made by now.
    c.send({ type: "text", text: "Go on." });
    const next = await c.waitFor("reply-done", (d) => d.replyId !== done.replyId);
    await c.playedOut(next.replyId);
    const turns = (await transcriptOf(id)).turns;
    expect(turns).toHaveLength(2);
    for (const t of turns) expect(t.recordings).toEqual({ user: false, reply: false });
    expect((await env.RECORDINGS.list({ prefix: `sessions/${id}/` })).objects).toEqual([]);
    c.close();
  });
});
