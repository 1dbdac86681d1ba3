// The phone transport on a fake clock: admission by token, the caller's audio in, paced media with a
// mark per segment out, playback reports from echoed marks, clear on interruptions and a new reply,
// the keypad, and the call's end.
import { describe, expect, it } from "vitest";
import { encodeWav } from "../../../../shared/audio/wav.ts";
import { PhoneCall, type PhoneCallDeps, type PhonePlayback } from "../../../../server/phone/phone-call.ts";
import { MediaPacer } from "../../../../server/phone/media-pacer.ts";
import { PlaybackMarks } from "../../../../server/phone/playback-marks.ts";
import type { ServerMessage } from "../../../../shared/protocol.ts";

const STREAM = "MZ1";

function harness(o: { admit?: boolean } = {}) {
  let now = 1_000;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 0;
  const sent: { event: string; name?: string }[] = [];
  const log: string[] = [];
  const audio: Int16Array[] = [];
  const reports: PhonePlayback[] = [];
  const deps: PhoneCallDeps = {
    send: (text) => sent.push(((m) => ({ event: m.event, ...(m.mark ? { name: m.mark.name } : {}) }))(JSON.parse(text))),
    admit: async (token) => (o.admit === false || token !== "good" ? { ok: false, reason: "forged" } : { ok: true, caller: "+1•••0123" }),
    now: () => now,
    setTimer: (fn, ms) => {
      const t = { at: now + ms, fn, id: ++nextId };
      timers.push(t);
      return t.id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    started: (c) => log.push(`started ${c.callSid} ${c.caller}`),
    audio: (f) => audio.push(f),
    playback: (r) => reports.push(r),
    interrupt: () => log.push("interrupt"),
    commit: () => log.push("commit"),
    ended: (how) => log.push(`ended ${how}`),
    refuse: (reason) => log.push(`refused ${reason}`),
    problem: (m) => log.push(`problem ${m}`),
  };
  const call = new PhoneCall(deps, { leadMs: 100, startTimeoutMs: 5_000 });
  const advance = (ms: number) => {
    const until = now + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > until) break;
      timers.shift();
      now = Math.max(now, t.at);
      t.fn();
    }
    now = until;
  };
  const twilio = (m: object) => call.receive(JSON.stringify(m));
  const start = async (token = "good") => {
    twilio({ event: "connected", protocol: "Call", version: "1.0.0" });
    twilio({ event: "start", streamSid: STREAM, start: { callSid: "CA1", customParameters: { token } } });
    await Promise.resolve();
    await Promise.resolve();
  };
  const segment = (replyId: string, index: number, ms: number) => {
    const header = {
      type: "segment",
      replyId,
      index,
      text: `s${index}`,
      container: "wav",
      codec: "pcm_s16le",
      sampleRate: 8000,
      channels: 1,
      durationMs: ms,
      bytes: 0,
    } as ServerMessage;
    call.event(header);
    call.audio(encodeWav(new Int16Array((ms * 8000) / 1000).fill(2000), 8000));
  };
  return { call, sent, log, audio, reports, advance, twilio, start, segment, media: () => sent.filter((s) => s.event === "media").length };
}

describe("MediaPacer and PlaybackMarks", () => {
  it("lets audio out `leadMs` ahead of real time, and all of it again after a clear", () => {
    const p = new MediaPacer(20, 100);
    expect(p.room(0)).toBe(5);
    p.sent(0, 5);
    expect(p.room(0)).toBe(0);
    expect(p.room(19)).toBe(0);
    expect(p.room(20)).toBe(1);
    expect(p.nextRoomAt(0)).toBe(20);
    p.cleared(30);
    expect(p.room(30)).toBe(5);
    expect(p.idle(30)).toBe(true);
  });

  it("forgets the marks a clear dropped: their echoes move nothing", () => {
    const m = new PlaybackMarks();
    const a = m.add({ replyId: "r", segment: 0 });
    const b = m.add({ replyId: "r", segment: 1 });
    expect(m.echoed(a)).toEqual({ replyId: "r", segment: 0 });
    m.clear();
    expect(m.echoed(b)).toBeNull();
    expect(m.pendingFor("r")).toBe(0);
  });
});

describe("PhoneCall", () => {
  it("hears nothing before a start with a valid token, and refuses a stream that shows none in time", async () => {
    const h = harness();
    h.twilio({ event: "media", streamSid: STREAM, media: { payload: btoa("\xff".repeat(160)) } });
    expect(h.audio).toHaveLength(0);
    h.advance(5_000);
    expect(h.log).toEqual(["refused no valid stream token within 5000 ms"]);

    const bad = harness();
    await bad.start("forged-token");
    expect(bad.log).toEqual(["refused stream token refused: forged"]);
  });

  it("turns the caller's 20 ms μ-law payloads into 20 ms frames of 16 kHz PCM once admitted", async () => {
    const h = harness();
    await h.start();
    expect(h.log).toEqual(["started CA1 +1•••0123"]);
    for (let i = 0; i < 10; i++)
      h.twilio({ event: "media", streamSid: STREAM, media: { track: "inbound", payload: btoa("\x80".repeat(160)) } });
    expect(h.audio.length).toBeGreaterThanOrEqual(9);
    expect(h.audio.every((f) => f.length === 320)).toBe(true);
    h.twilio({ event: "media", streamSid: "MZother", media: { payload: btoa("\x80".repeat(160)) } });
    expect(h.log.at(-1)).toMatch(/another stream/);
  });

  it("sends a segment's media at once up to the lead, the rest at real time, then a mark; echoed marks report playback, the last one `finished`", async () => {
    const h = harness();
    await h.start();
    h.segment("r1", 0, 200);
    // Sent the moment it arrives, up to 100 ms ahead: the reply is heard from now.
    expect(h.media()).toBe(5);
    expect(h.reports).toEqual([{ replyId: "r1", segment: 0, playedMs: 0, state: "playing" }]);
    h.advance(100);
    expect(h.media()).toBe(10);
    const mark1 = h.sent.find((s) => s.event === "mark")!.name!;
    h.segment("r1", 1, 100);
    h.call.event({ type: "reply-done", replyId: "r1" } as ServerMessage);
    h.twilio({ event: "mark", streamSid: STREAM, mark: { name: mark1 } });
    expect(h.reports.at(-1)).toEqual({ replyId: "r1", segment: 1, playedMs: 0, state: "playing" });
    h.advance(200);
    const mark2 = h.sent.filter((s) => s.event === "mark")[1]!.name!;
    h.twilio({ event: "mark", streamSid: STREAM, mark: { name: mark2 } });
    expect(h.reports.at(-1)).toEqual({ replyId: "r1", segment: 2, playedMs: 0, state: "finished" });
  });

  it("an interruption clears Twilio's buffer at once and drops the queue; the cleared marks' echoes report nothing", async () => {
    const h = harness();
    await h.start();
    h.segment("r1", 0, 1_000);
    h.advance(200);
    const before = h.media();
    h.call.event({ type: "interruption", replyId: "r1", decision: "confirmed", reason: "words" });
    expect(h.sent.at(-1)).toEqual({ event: "clear" });
    h.advance(2_000);
    expect(h.media()).toBe(before);
    const reports = h.reports.length;
    h.twilio({ event: "mark", streamSid: STREAM, mark: { name: "m1" } });
    expect(h.reports).toHaveLength(reports);
    // A decision to resume clears nothing.
    h.segment("r2", 0, 200);
    h.call.event({ type: "interruption", replyId: "r2", decision: "resumed", reason: "backchannel" });
    expect(h.sent.filter((s) => s.event === "clear")).toHaveLength(1);
  });

  it("a new reply replaces one still playing (clear first); the greeting's marks are not reported to the session", async () => {
    const h = harness();
    await h.start();
    h.call.speak("greeting", encodeWav(new Int16Array(800), 8000), "wav");
    h.advance(200);
    const greetingMark = h.sent.find((s) => s.event === "mark")!.name!;
    h.twilio({ event: "mark", streamSid: STREAM, mark: { name: greetingMark } });
    expect(h.reports).toEqual([]);
    h.segment("r1", 0, 1_000);
    h.advance(100);
    h.segment("r2", 0, 200);
    const clearAt = h.sent.findIndex((s) => s.event === "clear");
    expect(clearAt).toBeGreaterThan(0);
    expect(h.sent.slice(clearAt + 1).filter((s) => s.event === "media").length).toBeGreaterThan(0);
    expect(h.reports.at(-1)).toEqual({ replyId: "r2", segment: 0, playedMs: 0, state: "playing" });
  });

  it("keypad: 0 clears and interrupts, # commits the caller's turn; stop ends the call once", async () => {
    const h = harness();
    await h.start();
    h.segment("r1", 0, 1_000);
    h.twilio({ event: "dtmf", streamSid: STREAM, dtmf: { track: "inbound_track", digit: "0" } });
    expect(h.sent.at(-1)).toEqual({ event: "clear" });
    expect(h.log.at(-1)).toBe("interrupt");
    h.twilio({ event: "dtmf", streamSid: STREAM, dtmf: { digit: "#" } });
    expect(h.log.at(-1)).toBe("commit");
    h.twilio({ event: "dtmf", streamSid: STREAM, dtmf: { digit: "5" } });
    expect(h.log.at(-1)).toBe("commit");
    h.twilio({ event: "stop", streamSid: STREAM, stop: { callSid: "CA1" } });
    h.call.closed();
    expect(h.log.filter((l) => l.startsWith("ended"))).toEqual(["ended stop"]);
    h.segment("r2", 0, 200);
    expect(h.sent.filter((s) => s.event === "media").length).toBeLessThanOrEqual(5);
  });

  it("garbage on the stream is logged and ignored; the call goes on", async () => {
    const h = harness();
    await h.start();
    h.call.receive("not json");
    h.call.receive(JSON.stringify({ event: "media", streamSid: STREAM }));
    expect(h.log.filter((l) => l.startsWith("problem"))).toHaveLength(2);
    expect(h.call.live).toBe(true);
  });
});
