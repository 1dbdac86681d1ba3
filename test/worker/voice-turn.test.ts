// One conversation turn end to end over a real WebSocket, against the deterministic fake Workers AI.
import { describe, expect, it } from "vitest";
import { PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { SessionClient, fakeAi, newSessionId, openSession, speakAndWait, transcriptOf, utterance } from "./support/session-client.ts";

describe("a spoken turn", () => {
  it("speech frames in give a transcript, streamed reply text and ordered audio segments out, all persisted", async () => {
    const { id, c } = await openSession({ stt: { transcripts: ["What is the weather in Paris tomorrow?"] } });
    c.sendAudio(utterance(1000, 900));

    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("complete");
    const transcript = c.of("transcript")[0]!;
    expect(transcript.text).toBe("What is the weather in Paris tomorrow?");
    expect(transcript.source).toBe("voice");

    const deltas = c.of("reply-delta").filter((d) => d.replyId === done.replyId);
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.map((d) => d.text).join("")).toBe(done.text);
    expect(done.text).toContain("I heard you say: What is the weather in Paris tomorrow");

    // Every segment header is immediately followed by its binary audio, indexes in order.
    const segs: number[] = [];
    c.frames.forEach((f, i) => {
      if (f.type !== "segment") return;
      const next = c.frames[i + 1]!;
      expect(next.type).toBe("binary");
      expect((next as { data: ArrayBuffer }).data.byteLength).toBe(f.bytes);
      expect(f.container).toBe("mp3");
      expect(f.durationMs).toBeGreaterThan(0);
      segs.push(f.index);
    });
    expect(segs.length).toBeGreaterThanOrEqual(2);
    expect(segs).toEqual(segs.map((_, i) => i));

    // The reply stays `speaking` while its audio plays; the client's `finished` report ends it.
    await new Promise((r) => setTimeout(r, 100));
    expect(c.of("state").map((s) => s.state)).toEqual(["user-speaking", "thinking", "speaking"]);
    const heard = await c.playedOut(done.replyId);
    expect(heard).toMatchObject({ status: "complete", text: done.text, plannedText: done.text, endReason: "completed" });
    await c.waitFor("state", (s) => s.state === "listening");
    const states = c.of("state").map((s) => s.state);
    expect(states).toEqual(["user-speaking", "thinking", "speaking", "listening"]);

    expect(done.metrics.endpointingMs).toBeGreaterThanOrEqual(400);
    expect(done.metrics.firstAudioMs).not.toBeNull();
    expect(done.metrics.llmFirstTokenMs).not.toBeNull();
    expect(done.usage.audioInSeconds).toBeGreaterThan(0.9);
    expect(done.usage.completionTokens).toBeGreaterThan(0);
    expect(done.usage.neurons).toBeGreaterThan(0);
    expect(done.usage.usd).toBeCloseTo((done.usage.neurons * 0.011) / 1000, 10);
    expect(done.backend).toBe("workers-ai");

    const stored = await transcriptOf(id);
    expect(stored.messages.map((m) => [m.role, m.status, m.source])).toEqual([
      ["user", "complete", "voice"],
      ["assistant", "complete", "voice"],
    ]);
    expect(stored.messages[1]!.text).toBe(done.text);
    expect(stored.turns).toHaveLength(1);
    expect(stored.turns[0]!.status).toBe("complete");
    expect(stored.turns[0]!.metrics.sttMs).toBeGreaterThan(0);
    expect(stored.totals.usd).toBeCloseTo(done.usage.usd, 12);
    c.close();
  });

  it("the first audio segment is sent before the LLM has finished writing the reply", async () => {
    const id = newSessionId();
    const reply =
      "Sure thing, here is the first sentence. " +
      "Then a much longer second sentence follows it with many more words to stream. ".repeat(3);
    await fakeAi.configure(id, { llm: { reply, firstTokenMs: 20, tokenMs: 40 } });
    const c = await SessionClient.connect(id);
    c.send({ type: "text", text: "Tell me something long." });

    await c.waitFor("binary");
    const llm = (await fakeAi.calls(id)).find((call) => call.kind === "llm")!;
    const totalTokens = reply.match(/\s*\S+/g)!.length;
    expect(llm.endedAt).toBeUndefined();
    expect(llm.tokensSent).toBeLessThan(totalTokens);
    expect(c.of("reply-done")).toHaveLength(0);

    const done = await c.waitFor("reply-done", undefined, { timeoutMs: 15_000 });
    expect(done.status).toBe("complete");
    c.close();
  });

  it("a typed turn gets a spoken reply without speech-to-text", async () => {
    const { id, c } = await openSession();
    const done = await speakAndWait(c, "  Hello from the keyboard  ");
    expect(done.status).toBe("complete");
    expect(c.of("transcript")[0]).toMatchObject({ text: "Hello from the keyboard", source: "text" });
    expect(done.metrics.sttMs).toBe(0);
    expect(done.usage.audioInSeconds).toBe(0);
    expect((await fakeAi.calls(id)).map((x) => x.kind)).not.toContain("stt");
    c.close();
  });

  it("the second turn's LLM input contains the first turn", async () => {
    const { id, c } = await openSession();
    const first = await speakAndWait(c, "My name is Ada.");
    await c.playedOut(first.replyId);
    c.send({ type: "text", text: "What is my name?" });
    await c.waitFor("reply-done", (d) => d.replyId !== first.replyId);

    const llmCalls = (await fakeAi.calls(id)).filter((x) => x.kind === "llm");
    expect(llmCalls).toHaveLength(2);
    const messages = llmCalls[1]!.input as { role: string; content: string }[];
    expect(messages[0]!.role).toBe("system");
    expect(messages.slice(1)).toEqual([
      { role: "user", content: "My name is Ada." },
      { role: "assistant", content: first.text },
      { role: "user", content: "What is my name?" },
    ]);
    c.close();
  });

  it("noise that transcribes to nothing starts no reply and stores no message", async () => {
    const { id, c } = await openSession({ stt: { transcripts: [" ... "] } });
    c.sendAudio(utterance(600, 900));
    await c.waitFor("state", (s) => s.state === "listening");
    // Give a would-be reply time to show up.
    await new Promise((r) => setTimeout(r, 200));
    expect(c.of("reply-done")).toHaveLength(0);
    expect(c.of("transcript")).toHaveLength(0);
    expect((await fakeAi.calls(id)).map((x) => x.kind)).toEqual(["stt"]);
    const stored = await transcriptOf(id);
    expect(stored.messages).toHaveLength(0);
    expect(stored.turns[0]!.status).toBe("no-speech");
    c.close();
  });

  it("push-to-talk ignores pauses and replies to the whole utterance on commit", async () => {
    const { id, c } = await openSession();
    c.send({ type: "start", protocol: PROTOCOL_VERSION, mode: "push-to-talk" });
    c.sendAudio(utterance(700, 1200, 1));
    c.sendAudio(utterance(700, 300, 2, 0));
    await new Promise((r) => setTimeout(r, 300));
    expect((await fakeAi.calls(id)).length).toBe(0);
    c.send({ type: "commit" });
    const done = await c.waitFor("reply-done");
    expect(done.status).toBe("complete");
    expect(done.metrics.endpointingMs).toBe(0);
    const stt = (await fakeAi.calls(id)).filter((x) => x.kind === "stt");
    expect(stt).toHaveLength(1);
    expect(stt[0]!.input as number).toBeGreaterThan(1800); // both phrases and the pause between them
    c.close();
  });

  it("a three-letter language tag is kept whole: a client speaking yue-HK is heard as Cantonese (yue), not as yu", async () => {
    const { id, c } = await openSession();
    c.send({ type: "start", protocol: PROTOCOL_VERSION, language: "yue-HK" });
    c.sendAudio(utterance(700, 900));
    await c.waitFor("reply-done");
    const stt = (await fakeAi.calls(id)).filter((x) => x.kind === "stt");
    expect(stt.map((x) => x.language)).toEqual(["yue"]);
    c.close();
  });

  it("every connection to a session receives the turn's events", async () => {
    const { id, c: a } = await openSession();
    const b = await SessionClient.connect(id);
    a.send({ type: "text", text: "Hello both of you." });
    const [da, db] = await Promise.all([a.waitFor("reply-done"), b.waitFor("reply-done")]);
    expect(db.replyId).toBe(da.replyId);
    expect(b.of("segment").length).toBe(a.of("segment").length);
    expect(b.of("binary").length).toBe(a.of("binary").length);
    a.close();
    b.close();
  });

  it("a reconnecting client gets the history and the current state back", async () => {
    const { id, c: first } = await openSession();
    const done = await speakAndWait(first, "Remember the number seven.");
    await first.playedOut(done.replyId);
    first.close();

    const again = await SessionClient.connect(id);
    const ready = again.of("ready")[0]!;
    expect(ready.sessionId).toBe(id);
    expect(ready.state).toBe("listening");
    expect(ready.activeReplyId).toBeNull();
    expect(ready.history.map((m) => [m.role, m.text])).toEqual([
      ["user", "Remember the number seven."],
      ["assistant", done.text],
    ]);
    expect(ready.models.llm).toMatch(/^@cf\/meta\/llama/);
    expect(ready.aiBackend).toBe("fake");
    again.close();
  });

  it("a client that connects mid-reply is told which reply is in flight", async () => {
    const { id, c: a } = await openSession({ llm: { tokenMs: 60 } });
    a.send({ type: "text", text: "Talk slowly please." });
    const delta = await a.waitFor("reply-delta");
    const b = await SessionClient.connect(id);
    const ready = b.of("ready")[0]!;
    expect(ready.activeReplyId).toBe(delta.replyId);
    expect(["thinking", "speaking"]).toContain(ready.state);
    await b.waitFor("reply-done");
    a.close();
    b.close();
  });
});
