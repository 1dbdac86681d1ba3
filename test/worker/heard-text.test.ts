// The conversation keeps what the user heard: a reply cut short is stored up to the played
// position, the full planned text beside it, and the next LLM call sees only the heard part.
import { describe, expect, it } from "vitest";
import { SessionClient, fakeAi, newSessionId, openSession, speakAndWait, transcriptOf, utterance } from "./support/session-client.ts";

const REPLY = "First sentence is right here. Second sentence has quite a few more words in it. Third one ends the reply.";

describe("heard-text accounting", () => {
  it("barge-in before first audio stores an empty heard reply", async () => {
    const { id, c } = await openSession({
      llm: { reply: REPLY, tokenMs: 60 },
      stt: { transcripts: ["Tell me three things.", "Stop, never mind."] },
    });
    c.sendAudio(utterance(800, 900, 1));
    const delta = await c.waitFor("reply-delta");
    expect(c.of("segment")).toHaveLength(0);
    c.sendAudio(utterance(800, 900, 2)); // the user talks again before anything was spoken
    await c.waitFor("reply-done", (d) => d.replyId === delta.replyId);
    await c.waitFor("reply-done", (d) => d.replyId !== delta.replyId, { timeoutMs: 15_000 });

    const stored = await transcriptOf(id);
    const cut = stored.messages.find((m) => m.replyId === delta.replyId)!;
    expect(cut).toMatchObject({ role: "assistant", status: "interrupted", text: "" });
    expect(REPLY.startsWith(cut.plannedText!)).toBe(true);
    // The LLM's second call has no trace of the unheard reply.
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    const second = llm[1]!.input as { role: string; content: string }[];
    expect(second.filter((m) => m.role === "assistant")).toEqual([]);
    expect(
      second
        .filter((m) => m.role === "user")
        .map((m) => m.content)
        .join(" "),
    ).toContain("Tell me three things.");
    c.close();
  });

  it("a stop in the middle of the second segment keeps the first segment and the heard words of the second", async () => {
    const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 } });
    const done = await speakAndWait(c, "Tell me three things.");
    const segs = c.of("segment");
    expect(segs.length).toBeGreaterThanOrEqual(3);
    // Played the first segment, then 40% of the second, then the user pressed stop.
    c.send({ type: "playback", replyId: done.replyId, segment: 0, playedMs: segs[0]!.durationMs, state: "playing" });
    c.send({ type: "playback", replyId: done.replyId, segment: 1, playedMs: segs[1]!.durationMs * 0.4, state: "stopped" });
    c.send({ type: "ping" });
    await c.waitFor("pong");

    const stored = await transcriptOf(id);
    const reply = stored.messages[1]!;
    expect(reply.status).toBe("interrupted");
    expect(reply.plannedText).toBe(REPLY);
    expect(reply.text.startsWith(`${segs[0]!.text} `)).toBe(true);
    const heardOfSecond = reply.text.slice(segs[0]!.text.length + 1);
    expect(segs[1]!.text.startsWith(heardOfSecond)).toBe(true);
    expect(heardOfSecond.length).toBeGreaterThan(0);
    expect(heardOfSecond.length).toBeLessThanOrEqual(segs[1]!.text.length * 0.4);
    expect(stored.turns[0]!.status).toBe("interrupted");

    // The next turn's LLM context holds only what was heard.
    c.send({ type: "text", text: "Go on." });
    await c.waitFor("reply-done", (d) => d.replyId !== done.replyId);
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    const messages = llm[1]!.input as { role: string; content: string }[];
    expect(messages.find((m) => m.role === "assistant")!.content).toBe(reply.text);
    c.close();
  });

  it("playback that runs to the end leaves the reply complete", async () => {
    const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 } });
    const done = await speakAndWait(c, "Tell me three things.");
    const segs = c.of("segment");
    const last = segs[segs.length - 1]!;
    c.send({ type: "playback", replyId: done.replyId, segment: last.index, playedMs: last.durationMs, state: "finished" });
    c.send({ type: "playback", replyId: done.replyId, segment: last.index, playedMs: last.durationMs, state: "stopped" });
    c.send({ type: "ping" });
    await c.waitFor("pong");
    const stored = await transcriptOf(id);
    expect(stored.messages[1]).toMatchObject({ status: "complete", text: REPLY });
    expect(stored.turns[0]).toMatchObject({ status: "complete", endReason: "completed" });
    c.close();
  });

  it("a playback report for a reply this session never sent gets bad_message", async () => {
    const c = await SessionClient.connect(newSessionId());
    c.send({ type: "playback", replyId: "r-nope", segment: 0, playedMs: 10, state: "stopped" });
    const err = await c.waitFor("error");
    expect(err.code).toBe("bad_message");
    expect(err.message).toContain("unknown reply");
    c.close();
  });
});

describe("speech that resumes after a pause", () => {
  it("talking on while the first part is still being transcribed keeps both parts, answered as one turn", async () => {
    const { id, c } = await openSession({ stt: { latencyMs: 300, transcripts: ["So I was thinking", "about going to Paris."] } });
    c.sendAudio(utterance(800, 600, 1)); // a pause long enough to end the turn...
    c.sendAudio(utterance(800, 900, 2, 0)); // ...but the user goes on before any reply
    const done = await c.waitFor("reply-done", (d) => d.status === "complete", { timeoutMs: 15_000 });
    expect(c.of("transcript").map((t) => t.text)).toEqual(["So I was thinking", "about going to Paris."]);

    // The first part's reply may have started while the second part was being confirmed as speech;
    // it was cut off then. The reply that was heard answers both parts.
    const llm = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    // Cut off: cancelled while streaming, or cut while its stream was on the way (the server cancels a
    // stream it never reads, which the fake does not see over RPC: it never sent a token nor finished).
    for (const early of llm.slice(0, -1))
      expect(early.cancelled === true || (early.tokensSent === 0 && early.endedAt === undefined)).toBe(true);
    const messages = llm[llm.length - 1]!.input as { role: string; content: string }[];
    expect(messages.map((m) => m.role)).toEqual(["system", "user"]);
    expect(messages[1]!.content).toContain("So I was thinking");
    expect(messages[1]!.content).toContain("about going to Paris.");

    const stored = await transcriptOf(id);
    expect(stored.messages.map((m) => [m.role, m.status, m.text])).toEqual([
      ["user", "complete", "So I was thinking"],
      ["assistant", "interrupted", ""],
      ["user", "complete", "about going to Paris."],
      ["assistant", "complete", done.text],
    ]);
    c.close();
  });
});
