// Phone calls over Twilio Media Streams, end to end in workerd: the voice webhook, the stream into
// the session, greeting, turns, barge-in with `clear` and marks, the keypad, caller continuity and
// hanging up mid-reply, against the fake Twilio client and the fake Workers AI.
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HttpError, KEY_SUBPROTOCOL_PREFIX, SESSION_SUBPROTOCOL } from "../../shared/protocol.ts";
import { ConversationPage } from "../../shared/review.ts";
import { operatorKey } from "../../server/access/session-keys.ts";
import { DEFAULT_PHONE } from "../../server/config.ts";
import { parseStreamTwiml } from "../support/fake-twilio.ts";
import { fakeAi, silence, transcriptOf, utterance, visitorAddress } from "./support/session-client.ts";
import { hangUp, openStream, placeCall, randomCaller, ring, sessionOfCaller, type LiveCall } from "./support/phone-client.ts";
import { speech } from "../support/signals.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A caller whose session is set up with `scenario` before they ring. */
async function callerWith(scenario: Parameters<typeof fakeAi.configure>[1]): Promise<{ from: string; sessionId: string }> {
  const from = randomCaller();
  const sessionId = await sessionOfCaller(from);
  await fakeAi.configure(sessionId, scenario);
  return { from, sessionId };
}

/** Frames played after the greeting's mark came back. */
function greetingFrames(c: LiveCall): number {
  return c.call.echoed[0]?.framesPlayed ?? 0;
}

function mediaCount(c: LiveCall): number {
  return c.call.mediaReceived;
}

const LONG_REPLY =
  "One two three four five six. Seven eight nine ten eleven twelve. Thirteen fourteen fifteen sixteen seventeen. Eighteen nineteen twenty twenty-one twenty-two. Twenty-three twenty-four twenty-five twenty-six.";

/** After the greeting, the caller asks something and `frames` 20 ms frames of the reply play; returns the greeting's frames. */
async function askAndHearReply(c: LiveCall, frames: number): Promise<number> {
  await c.call.until(() => c.call.echoed.length >= 1, 5_000, "the greeting");
  await c.call.say(utterance(900, 800, 1));
  const greeting = greetingFrames(c);
  await c.call.until(() => c.call.played.length >= greeting + frames, 10_000, "the reply playing");
  return greeting;
}

describe("the voice webhook", () => {
  it("refuses a request without a valid X-Twilio-Signature (403) and answers a signed one with TwiML streaming to a session", async () => {
    const from = randomCaller();
    const unsigned = await ring({ from, signature: false });
    expect(unsigned.res.status).toBe(403);
    expect(((await unsigned.res.json()) as { error: { code: string } }).error.code).toBe("bad_signature");
    const forged = await ring({ from, signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" });
    expect(forged.res.status).toBe(403);

    const { res } = await ring({ from });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/xml");
    const xml = await res.text();
    expect(xml).toContain("<Connect><Stream");
    const twiml = parseStreamTwiml(xml);
    expect(twiml.url).toMatch(/^ws:\/\/parley\.test\/phone\/stream\/[a-z2-7]{26}$/);
    expect(twiml.parameters.token).toMatch(/^ps1\./);
    // The number is in neither the URL nor the token's readable claims.
    expect(xml).not.toContain(from.slice(1));
  });

  it("a stream without a valid token is closed and hears nothing; one with another call's token too", async () => {
    const from = randomCaller();
    const { res, callSid } = await ring({ from });
    const xml = await res.text();
    const forged = await openStream(xml, callSid, { token: "ps1.e30.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
    expect((await forged.closed).code).toBe(1008);
    expect(forged.call.mediaReceived).toBe(0);

    const otherCall = await openStream(xml, "CAanotherCallEntirely");
    const closed = await otherCall.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain("other-call");
    expect(otherCall.call.mediaReceived).toBe(0);
  });
});

describe("a phone call", () => {
  it("is greeted within 1 s of the stream starting, then a two-turn call is heard, stored and reviewed as a phone call", async () => {
    const { from, sessionId } = await callerWith({
      stt: { transcripts: ["What is the weather?", "And tomorrow?"] },
      tts: { msPerChar: 8 },
    });
    const startedAt = Date.now();
    const c = await placeCall(from);
    await c.call.until(() => c.call.mediaReceived > 0, 3_000, "the greeting");
    const firstMedia = c.call.received.find((r) => r.message.event === "media")!.at;
    expect(firstMedia - startedAt).toBeLessThan(1_000);
    await c.call.until(() => c.call.echoed.length >= 1, 5_000, "the greeting's mark");
    expect(c.call.echoed[0]!.played).toBe(true);

    for (const turn of [0, 1]) {
      const marksBefore = c.call.echoed.length;
      await c.call.say(utterance(900, 800, turn + 1));
      // The reply is played to its end: its marks come back, played.
      await c.call.until(
        () =>
          c.call.echoed.length >= marksBefore + 2 &&
          c.call.received.at(-1)!.message.event === "mark" &&
          c.call.echoed.length === c.call.received.filter((r) => r.message.event === "mark").length,
        15_000,
        `reply ${turn + 1} played out`,
      );
    }
    await sleep(300);
    hangUp(c);
    await sleep(300);
    const t = await transcriptOf(sessionId);
    expect(t.messages.map((m) => [m.role, m.status])).toEqual([
      ["user", "complete"],
      ["assistant", "complete"],
      ["user", "complete"],
      ["assistant", "complete"],
    ]);
    expect(t.messages[0]!.text).toBe("What is the weather?");
    expect(t.turns.every((turn) => turn.models.tts === DEFAULT_PHONE.ttsModel)).toBe(true);
    expect(c.call.received.some((r) => r.message.event === "clear")).toBe(false);
    // The caller heard audio, not silence: the fake's tone survived WAV -> 8 kHz -> μ-law.
    const heard = c.call.heardPcm();
    let peak = 0;
    for (const s of heard) peak = Math.max(peak, Math.abs(s));
    expect(peak).toBeGreaterThan(3_000);
    const calls = (
      t as unknown as { phoneCalls?: { caller: string; durationMs: number | null; endReason: string | null; usd: number | null }[] }
    ).phoneCalls;
    expect(calls).toHaveLength(1);
    expect(calls![0]!.caller).toBe(`+1${"•".repeat(6)}${from.slice(-4)}`);
    expect(calls![0]!.endReason).toBe("stop");
    expect(calls![0]!.durationMs).toBeGreaterThan(2_000);
    expect(calls![0]!.usd).toBeGreaterThan(0);
  });

  it("barge-in sends clear at once, nothing of the old reply is heard after it, and the stored reply is what the marks say was heard", async () => {
    const { from, sessionId } = await callerWith({
      stt: { transcripts: ["Tell me a long story.", "Stop, tell me something else."] },
      llm: { reply: LONG_REPLY },
      tts: { msPerChar: 40 },
    });
    const c = await placeCall(from);
    // About 1.2 s of the reply played, then the caller talks over it.
    const greeting = await askAndHearReply(c, 60);
    await c.call.say(utterance(1000, 800, 7));
    await c.call.until(() => c.call.received.some((r) => r.message.event === "clear"), 10_000, "clear");
    const clearIndex = c.call.received.findIndex((r) => r.message.event === "clear");
    const frames = c.call.played.length;
    await sleep(600);
    // After the clear, nothing more of the first reply: any media now belongs to the next reply.
    const t = await transcriptOf(sessionId);
    const first = t.messages.find((m) => m.role === "assistant")!;
    expect(first.status).toBe("interrupted");
    expect(t.interruptions.some((i) => i.decision === "confirmed")).toBe(true);
    const audio = t.replyAudio.find((r) => r.replyId === first.replyId)!;
    // Frames of the first reply heard: those played between the greeting and the clear.
    const heardMs = (frames - greeting) * 20;
    expect(heardMs).toBeLessThan(audio.audioMs - 500);
    const planned = (first.plannedText ?? "").split(/\s+/);
    const heardWords = first.text.split(/\s+/);
    expect(planned.slice(0, heardWords.length).join(" ")).toBe(heardWords.join(" "));
    const fraction = heardWords.length / planned.length;
    expect(Math.abs(fraction - heardMs / audio.audioMs)).toBeLessThan(0.2);
    // The clear dropped what Twilio had buffered, unplayed; the heard position came from the marks that were played.
    expect(c.call.dropped).toBeGreaterThan(0);
    expect(clearIndex).toBeGreaterThan(0);
    expect(c.call.echoed.filter((e) => e.played).length).toBeGreaterThanOrEqual(2);
    hangUp(c);
  });

  it("DTMF 0 stops the assistant (clear, reply cut) and # ends the caller's turn at once", async () => {
    const { from, sessionId } = await callerWith({
      stt: { transcripts: ["Talk for a while.", "Pressed hash."] },
      llm: { reply: LONG_REPLY },
      tts: { msPerChar: 40 },
    });
    const c = await placeCall(from);
    await askAndHearReply(c, 25);
    const pressedAt = Date.now();
    c.call.dtmf("0");
    await c.call.until(() => c.call.received.some((r) => r.message.event === "clear"), 2_000, "clear after DTMF 0");
    expect(c.call.received.find((r) => r.message.event === "clear")!.at - pressedAt).toBeLessThan(500);
    await sleep(300);
    let t = await transcriptOf(sessionId);
    const cut = t.messages.find((m) => m.role === "assistant")!;
    expect(cut.status).toBe("interrupted");
    expect(t.turns[0]!.endReason).toBe("cancel");

    // Speech with no pause after it: only the keypad's # ends the turn.
    await c.call.say(speech(900, 3));
    c.call.dtmf("#");
    await c.call.say(silence(200));
    await c.call.until(
      () => c.call.mediaReceived > mediaCount(c) - 1 && c.call.received.filter((r) => r.message.event === "mark").length >= 3,
      8_000,
      "the second reply",
    );
    t = await transcriptOf(sessionId);
    expect(t.turns[1]!.metrics.endOfTurn).toBe("commit");
    expect(t.messages.filter((m) => m.role === "user").map((m) => m.text)).toEqual(["Talk for a while.", "Pressed hash."]);
    hangUp(c);
  });

  it("a caller who rings again continues the same conversation with its memory; another caller does not", async () => {
    const { from, sessionId } = await callerWith({ stt: { transcripts: ["My name is Ada.", "What is my name?"] }, tts: { msPerChar: 8 } });
    // Ring, hear the greeting, say utterance `seed`, hear the reply, hang up.
    const callOnce = async (seed: number, reply: string) => {
      const c = await placeCall(from);
      expect(c.sessionId).toBe(sessionId);
      await c.call.until(() => c.call.echoed.length >= 1, 5_000, "the greeting");
      await c.call.say(utterance(900, 800, seed));
      await c.call.until(() => c.call.received.filter((r) => r.message.event === "mark").length >= 3, 10_000, reply);
      hangUp(c);
      await sleep(300);
    };
    await callOnce(1, "the first reply");
    await callOnce(2, "the second reply");
    const llm = (await fakeAi.calls(sessionId)).filter((call) => call.kind === "llm");
    const prompt = JSON.stringify(llm.at(-1)!.input);
    expect(prompt).toContain("My name is Ada.");
    expect(prompt).toContain("What is my name?");
    const t = await transcriptOf(sessionId);
    expect((t as unknown as { phoneCalls: unknown[] }).phoneCalls).toHaveLength(2);

    expect(await sessionOfCaller(randomCaller())).not.toBe(sessionId);
  });

  it("hanging up mid-reply ends the turn cleanly: the reply keeps what was heard, the call its duration and cost", async () => {
    const { from, sessionId } = await callerWith({
      stt: { transcripts: ["Tell me everything."] },
      llm: { reply: LONG_REPLY },
      tts: { msPerChar: 40 },
    });
    const c = await placeCall(from);
    await c.call.until(() => c.call.echoed.length >= 1, 5_000, "the greeting");
    await c.call.say(utterance(900, 800, 1));
    const greeting = greetingFrames(c);
    await c.call.until(() => c.call.played.length >= greeting + 40, 10_000, "the reply playing");
    hangUp(c);
    await sleep(800);
    const t = await transcriptOf(sessionId);
    const reply = t.messages.find((m) => m.role === "assistant")!;
    expect(reply.status).toBe("interrupted");
    expect(reply.text.length).toBeGreaterThan(0);
    expect(reply.text.length).toBeLessThan((reply.plannedText ?? "").length);
    const calls = (t as unknown as { phoneCalls: { endedAt: number | null; durationMs: number | null; usd: number | null }[] }).phoneCalls;
    expect(calls[0]!.endedAt).not.toBeNull();
    expect(calls[0]!.durationMs).toBeGreaterThan(1_000);
    expect(calls[0]!.usd).toBeGreaterThan(0);
  });
});

describe("reviewing phone calls", () => {
  /** A request with the operator key (`npm run operator-key`). */
  async function asOperator(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${await operatorKey(env.SESSION_SECRET!)}`);
    headers.set("CF-Connecting-IP", visitorAddress());
    return exports.default.fetch(`http://parley.test${path}`, { ...init, headers });
  }

  async function errorCode(res: Response): Promise<string | undefined> {
    return HttpError.safeParse(await res.json()).data?.error.code;
  }

  it("the operator key reads a phone session's transcript, exports and recordings, but cannot join it live or delete it; the index lists it for the operator under the masked caller", async () => {
    const marker = `zebra${crypto.randomUUID().replace(/-/g, "").slice(0, 8)}`;
    const { from, sessionId } = await callerWith({ stt: { transcripts: [`Book a table, ${marker}.`] }, tts: { msPerChar: 8 } });
    const c = await placeCall(from);
    await c.call.until(() => c.call.echoed.length >= 1, 5_000, "the greeting");
    await c.call.say(utterance(900, 800, 1));
    await c.call.until(() => c.call.received.filter((r) => r.message.event === "mark").length >= 3, 10_000, "the reply");
    hangUp(c);
    await sleep(300);

    const transcript = await asOperator(`/api/sessions/${sessionId}`);
    expect(transcript.status).toBe(200);
    const t = (await transcript.json()) as { messages: { role: string; text: string }[]; phoneCalls: { caller: string }[] };
    expect(t.messages[0]!.text).toBe(`Book a table, ${marker}.`);
    expect(t.phoneCalls[0]!.caller).toBe(`+1${"•".repeat(6)}${from.slice(-4)}`);
    const md = await asOperator(`/api/sessions/${sessionId}/export?format=md`);
    expect(md.status).toBe(200);
    expect(await md.text()).toContain(marker);
    // The caller's recorded utterance too (the test fake records, as local development does).
    const firstTurn = (t as unknown as { turns: { turnId: string; recordings: { user: boolean } }[] }).turns[0]!;
    expect(firstTurn.recordings.user).toBe(true);
    const wav = await asOperator(`/api/sessions/${sessionId}/recordings/${firstTurn.turnId}/user`);
    expect(wav.status).toBe(200);
    expect(wav.headers.get("Content-Type")).toBe("audio/wav");
    await wav.arrayBuffer();

    // Read-only: no live socket, no delete (the session is still there afterwards).
    const live = await exports.default.fetch(`http://parley.test/parties/voice-session/${sessionId}`, {
      headers: {
        Upgrade: "websocket",
        "Sec-WebSocket-Protocol": `${SESSION_SUBPROTOCOL}, ${KEY_SUBPROTOCOL_PREFIX}${await operatorKey(env.SESSION_SECRET!)}`,
        "CF-Connecting-IP": visitorAddress(),
      },
    });
    expect(live.status).toBe(403);
    expect(await errorCode(live)).toBe("read_only");
    const del = await asOperator(`/api/sessions/${sessionId}`, { method: "DELETE" });
    expect(del.status).toBe(403);
    expect(await errorCode(del)).toBe("read_only");
    expect((await asOperator(`/api/sessions/${sessionId}`)).status).toBe(200);
    // Nor does it open anything with a broken MAC.
    const forged = await exports.default.fetch(`http://parley.test/api/sessions/${sessionId}`, {
      headers: { Authorization: `Bearer op.${"A".repeat(43)}`, "CF-Connecting-IP": visitorAddress() },
    });
    expect(forged.status).toBe(403);

    // The index: listed for the operator, labelled with the masked caller, never the number.
    const deadline = Date.now() + 8_000;
    let page: ConversationPage;
    let raw = "";
    for (;;) {
      const res = await asOperator(`/api/conversations?${new URLSearchParams({ q: marker }).toString()}`);
      raw = await res.text();
      page = ConversationPage.parse(JSON.parse(raw));
      if (page.items.length > 0 || Date.now() > deadline) break;
      await sleep(50);
    }
    expect(page.items.map((i) => [i.id, i.caller, i.owner])).toEqual([[sessionId, `+1${"•".repeat(6)}${from.slice(-4)}`, null]]);
    expect(raw).not.toContain(from.slice(2));
  });
});
