// Fuzz: 10,000 seeded random and mutated inputs against one live session. Every bad input is answered
// with an error that has a code, nothing crashes or closes the socket, and afterwards a valid turn works
// and the stored conversation is intact. Runs in its own project with the rate limits raised (vars in
// vitest.config.ts): the limits themselves are tested in limits.test.ts.
import { describe, expect, it } from "vitest";
import { ErrorCode, checkAudioFrame, parseClientMessage } from "../../shared/protocol.ts";
import { fuzzInputs } from "../support/fuzz-inputs.ts";
import { openSession, speakAndWait, transcriptOf } from "./support/session-client.ts";

const INPUTS = 10_000;
const SEED = 20261129;
/** Inputs sent between two round trips, so the session keeps up and the test's memory stays bounded. */
const BATCH = 250;

describe("fuzzing a live session", () => {
  it(`answers ${INPUTS} random and mutated inputs with coded errors, stays open, and still holds a conversation`, async () => {
    const { id, c } = await openSession();
    const before = await speakAndWait(c, "Remember the fuzz.");
    await c.playedOut(before.replyId);

    let expectedErrors = 0;
    const kinds = new Map<string, number>();
    let sent = 0;
    const from = c.frames.length;
    for (const input of fuzzInputs(SEED, INPUTS)) {
      kinds.set(input.kind, (kinds.get(input.kind) ?? 0) + 1);
      if (typeof input.data === "string") {
        const parsed = parseClientMessage(input.data);
        if (!parsed.ok) expectedErrors++;
        c.sendRaw(input.data);
      } else {
        if (checkAudioFrame(input.data.byteLength)) expectedErrors++;
        c.sendRaw(input.data.slice().buffer);
      }
      if (++sent % BATCH === 0) {
        const mark = c.frames.length;
        c.send({ type: "ping", t: -sent });
        await c.waitFor("pong", (p) => p.t === -sent, { from: mark, timeoutMs: 15_000 });
      }
    }
    expect(sent).toBe(INPUTS);
    // Every message type was mutated, and each family of bad input was sent.
    for (const type of ["start", "commit", "cancel", "text", "playback", "ping", "barge-in"])
      expect(kinds.get(`mutated-${type}`) ?? 0).toBeGreaterThan(50);
    for (const kind of [
      "random-text",
      "truncated-json",
      "unknown-type",
      "not-an-object",
      "random-binary",
      "oversized-binary",
      "silent-binary",
    ])
      expect(kinds.get(kind) ?? 0).toBeGreaterThan(50);

    // Nothing closed the socket; every error has a code from the protocol, and every bad input got one.
    expect(c.closed).toBe(false);
    const errors = c.frames.slice(from).filter((f) => f.type === "error");
    for (const e of errors) expect(ErrorCode.options).toContain(e.code);
    expect(errors.filter((e) => e.code !== "rate_limited").length).toBeGreaterThanOrEqual(expectedErrors);
    expect(errors.some((e) => e.code === "rate_limited")).toBe(false);

    // A valid turn still works on the same socket...
    c.send({ type: "cancel" });
    const mark = c.frames.length;
    c.send({ type: "text", text: "Still with me?" });
    const transcript = await c.waitFor("transcript", (t) => t.text === "Still with me?", { from: mark });
    const done = await c.waitFor("reply-done", (d) => d.replyId === transcript.turnId.replace(/^t-/, "r-"), {
      from: mark,
      timeoutMs: 15_000,
    });
    expect(done.status).toBe("complete");
    c.close();

    // ...and the stored conversation is intact: the turn before, the turn after, nothing garbled in between.
    const stored = await transcriptOf(id);
    expect(stored.messages[0]).toMatchObject({ role: "user", text: "Remember the fuzz." });
    expect(stored.messages[1]).toMatchObject({ role: "assistant", text: before.text });
    // (A superseded voice turn's transcript still finishes and is kept; one slower than turnSettleMs may land
    // after later turns, so the new turn is looked up, not assumed last.)
    const asked = stored.messages.findIndex((m) => m.role === "user" && m.text === "Still with me?");
    expect(asked).toBeGreaterThan(1);
    expect(stored.messages.find((m) => m.replyId === done.replyId)).toMatchObject({
      role: "assistant",
      status: "complete",
      text: done.text,
    });
    for (const m of stored.messages) {
      expect(["user", "assistant"]).toContain(m.role);
      expect(["complete", "interrupted", "failed"]).toContain(m.status);
    }
  }, 60_000);
});
