// Streaming Nova-3 with Parley's own end of turn (STT_MODE=streaming, STT_STREAMING_MODEL=@cf/deepgram/nova-3,
// END_OF_TURN=transcript): interim results are captions and the transcript signal's evidence; the
// server's Finalize gives the turn's words. This is the shape the offline stand-in speaks too.
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { SessionClient, fakeAi, openSession, speakAndWait, transcriptOf } from "../support/session-client.ts";
import { concat, roomTone as quiet, speech } from "../../support/signals.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("streaming recognition with Nova-3 and the transcript signal", () => {
  it("interim results become live captions and Finalize's answer is the turn's transcript, with no batch transcription", async () => {
    const { id, c } = await openSession({ live: { transcripts: ["tell me a joke"], msPerWord: 200 } });
    const done = await speakAndWait(c, concat(quiet(300), speech(1000), quiet(900)));
    expect(c.of("transcript").map((t) => t.text)).toEqual(["tell me a joke"]);
    expect(c.of("user-partial").length).toBeGreaterThan(0);
    const calls = await fakeAi.calls(id);
    expect(calls.filter((x) => x.kind === "stt")).toHaveLength(0);
    const live = await fakeAi.liveCalls(id);
    expect(live).toHaveLength(1);
    expect(live[0]!.finalizes).toBeGreaterThanOrEqual(1);
    expect(live[0]!.inputs).toMatchObject({ encoding: "linear16", sample_rate: "16000", interim_results: "true" });
    expect((await transcriptOf(id)).turns[0]!.models.stt).toBe("@cf/deepgram/nova-3");
    expect(done.status).toBe("complete");
    c.close();
  });

  it("a phrase ending in 'for' is unfinished: a 0.7 s pause does not end the turn, and the words after it join it", async () => {
    const { c } = await openSession({ live: { transcripts: ["set a timer for", "ten minutes"], msPerWord: 150 } });
    c.sendAudio(concat(quiet(300), speech(900), quiet(300)));
    await sleep(150);
    c.sendAudio(concat(quiet(400), speech(700, 5), quiet(900)));
    const done = await c.waitFor("reply-done");
    expect(c.of("transcript").map((t) => t.text)).toEqual(["set a timer for ten minutes"]);
    expect(done.metrics.endOfTurn).toBe("transcript");
    // The reply started at the first pause ("set a timer for") was thrown away unseen.
    expect(done.usage.wasted?.replies).toBe(1);
    c.close();
  });

  it("words that catch up during the pause are judged again: interim 'set a timer' reads finished, the final 'set a timer for' keeps the turn open", async () => {
    // One word per 300 ms of speech: at the pause the interim result still lacks "for".
    const { id, c } = await openSession({ live: { transcripts: ["set a timer for", "ten minutes"], msPerWord: 300 } });
    c.sendAudio(concat(quiet(300), speech(900), quiet(300)));
    await sleep(150);
    c.sendAudio(concat(quiet(400), speech(700, 5), quiet(900)));
    const done = await c.waitFor("reply-done");
    const live = await fakeAi.liveCalls(id);
    expect(live[0]!.events).toContain("Results:interim:set a timer");
    expect(c.of("transcript").map((t) => t.text)).toEqual(["set a timer for ten minutes"]);
    expect(done.metrics.endOfTurn).toBe("transcript");
    c.close();
  });
});

describe("streaming recognition and restarts", () => {
  it("a restart while the turn's final words are awaited transcribes its kept audio with the batch model when the session starts again", async () => {
    // Every recognizer event comes late: the Finalize answer is still on its way when the object restarts.
    const { id, c } = await openSession({ live: { transcripts: ["tell me a joke"], msPerWord: 200, eventDelayMs: 700 } });
    c.sendAudio(concat(quiet(300), speech(1000), quiet(900)));
    await c.waitFor("state", (s) => s.state === "thinking");
    expect(c.of("transcript")).toEqual([]);
    await abortAllDurableObjects();

    await fakeAi.configure(id, { stt: { transcripts: ["tell me a joke"] } });
    const again = await SessionClient.connect(id);
    expect((await again.waitFor("transcript")).text).toBe("tell me a joke");
    expect((await again.waitFor("reply-done")).status).toBe("complete");
    const stt = (await fakeAi.calls(id)).filter((x) => x.kind === "stt" && !x.partial);
    expect(stt.map((x) => x.model)).toEqual(["@cf/openai/whisper-large-v3-turbo"]);
    expect(stt[0]!.input).toBeGreaterThan(900);
    const turns = (await transcriptOf(id)).turns;
    expect(turns.map((t) => [t.status, t.endReason])).toEqual([
      ["failed", "shutdown"],
      ["complete", "completed"],
    ]);
    again.close();
  });
});
