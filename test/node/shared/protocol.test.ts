import { describe, expect, it } from "vitest";
import { ServerMessage, SessionId, TEXT_LIMITS, checkAudioFrame, clampText, parseClientMessage } from "../../../shared/protocol.ts";

describe("client messages", () => {
  it("accepts every well-formed message type and applies defaults", () => {
    const good = [
      { type: "start", protocol: 1 },
      { type: "start", protocol: 1, mode: "push-to-talk", language: "fr" },
      { type: "commit" },
      { type: "cancel" },
      { type: "text", text: "hello" },
      { type: "playback", replyId: "r-1", segment: 0, playedMs: 120.5 },
      { type: "ping", t: 5 },
      { type: "barge-in", replyId: "r-1", event: "onset", segment: 1, playedMs: 820, speechMs: 100, playingMs: 2500 },
      { type: "barge-in", replyId: "r-1", event: "sustained", segment: 1, playedMs: 820, speechMs: 500, playingMs: 2500 },
    ];
    for (const m of good) {
      const r = parseClientMessage(JSON.stringify(m));
      expect(r.ok, JSON.stringify(m)).toBe(true);
    }
    const start = parseClientMessage(JSON.stringify({ type: "start", protocol: 1 }));
    expect(start.ok && start.message.type === "start" && start.message.mode).toBe("hands-free");
    const pb = parseClientMessage(JSON.stringify({ type: "playback", replyId: "r", segment: 1, playedMs: 0 }));
    expect(pb.ok && pb.message.type === "playback" && pb.message.state).toBe("playing");
  });

  it("rejects a barge-in with an unknown event or a negative position", () => {
    const base = { type: "barge-in", replyId: "r-1", event: "onset", segment: 0, playedMs: 0, speechMs: 80, playingMs: 0 };
    expect(parseClientMessage(JSON.stringify(base)).ok).toBe(true);
    expect(parseClientMessage(JSON.stringify({ ...base, event: "stop" }))).toMatchObject({ ok: false, code: "bad_message" });
    expect(parseClientMessage(JSON.stringify({ ...base, playedMs: -1 }))).toMatchObject({ ok: false, code: "bad_message" });
    expect(parseClientMessage(JSON.stringify({ ...base, segment: 1.5 }))).toMatchObject({ ok: false, code: "bad_message" });
    expect(parseClientMessage(JSON.stringify({ ...base, replyId: "" }))).toMatchObject({ ok: false, code: "bad_message" });
  });

  it("trims typed text and rejects text that is empty after trimming or over 2000 chars", () => {
    const r = parseClientMessage(JSON.stringify({ type: "text", text: "  hi  " }));
    expect(r.ok && r.message.type === "text" && r.message.text).toBe("hi");
    expect(parseClientMessage(JSON.stringify({ type: "text", text: "   " })).ok).toBe(false);
    expect(parseClientMessage(JSON.stringify({ type: "text", text: "x".repeat(2001) })).ok).toBe(false);
  });

  it("tells malformed JSON, missing types, unknown types and schema failures apart", () => {
    expect(parseClientMessage("{oops")).toMatchObject({ ok: false, code: "bad_message" });
    expect(parseClientMessage("42")).toMatchObject({ ok: false, code: "bad_message" });
    expect(parseClientMessage('{"type":7}')).toMatchObject({ ok: false, code: "bad_message" });
    expect(parseClientMessage('{"type":"dance"}')).toMatchObject({ ok: false, code: "unknown_message" });
    const bad = parseClientMessage('{"type":"playback","replyId":"r","segment":-1,"playedMs":3}');
    expect(bad).toMatchObject({ ok: false, code: "bad_message" });
    expect(!bad.ok && bad.message).toContain("segment");
    expect(parseClientMessage('{"type":"start","protocol":1,"mode":"walkie"}')).toMatchObject({ ok: false, code: "bad_message" });
    expect(parseClientMessage('{"type":"start","protocol":1,"language":"english"}')).toMatchObject({ ok: false, code: "bad_message" });
  });
});

describe("audio frames", () => {
  it("accept even lengths up to 64 KiB and reject empty, odd and oversized frames", () => {
    expect(checkAudioFrame(640)).toBeNull();
    expect(checkAudioFrame(65_536)).toBeNull();
    expect(checkAudioFrame(0)?.code).toBe("bad_audio");
    expect(checkAudioFrame(641)?.code).toBe("bad_audio");
    expect(checkAudioFrame(65_538)?.code).toBe("audio_too_large");
  });
});

describe("server messages and ids", () => {
  it("segment headers must carry a positive byte count and a known container", () => {
    const seg = {
      type: "segment",
      replyId: "r",
      index: 0,
      text: "Hi.",
      container: "mp3",
      codec: "mp3",
      sampleRate: 24000,
      channels: 1,
      durationMs: 500,
      bytes: 100,
    };
    expect(ServerMessage.safeParse(seg).success).toBe(true);
    expect(ServerMessage.safeParse({ ...seg, bytes: 0 }).success).toBe(false);
    expect(ServerMessage.safeParse({ ...seg, container: "ogg" }).success).toBe(false);
  });

  it("session ids are the server's 26 base32 characters, nothing hand-made", () => {
    expect(SessionId.safeParse("abcdefghijklmnopqrstuvwxyz").success).toBe(true);
    for (const bad of ["", "a", "---", "abc-DEF-123", "a b", "a/b", "x".repeat(41), "ünïcode", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"])
      expect(SessionId.safeParse(bad).success).toBe(false);
  });
});

describe("text caps", () => {
  it("rejects typed text over its cap with too_long, and a frame too large to parse before parsing it", () => {
    const ok = parseClientMessage(JSON.stringify({ type: "text", text: "a".repeat(TEXT_LIMITS.userText) }));
    expect(ok.ok).toBe(true);
    const long = parseClientMessage(JSON.stringify({ type: "text", text: "a".repeat(TEXT_LIMITS.userText + 1) }));
    expect(long).toMatchObject({ ok: false, code: "too_long" });
    const huge = parseClientMessage(`{"type":"ping","pad":"${"x".repeat(TEXT_LIMITS.clientMessage)}"}`);
    expect(huge).toMatchObject({ ok: false, code: "too_long" });
    // The longest valid typed message, every character escaped, still fits the frame cap.
    expect(JSON.stringify({ type: "text", text: "\u0001".repeat(TEXT_LIMITS.userText) }).length).toBeLessThanOrEqual(
      TEXT_LIMITS.clientMessage,
    );
    expect(parseClientMessage(JSON.stringify({ type: "playback", replyId: "r".repeat(65), segment: 0, playedMs: 0 }))).toMatchObject({
      code: "too_long",
    });
  });

  it("cuts text to its cap without splitting a surrogate pair", () => {
    expect(clampText("hello", 10)).toBe("hello");
    expect(clampText("hello", 3)).toBe("hel");
    const s = "ab😀cd"; // the emoji is two code units at 2 and 3
    expect(clampText(s, 3)).toBe("ab");
    expect(clampText(s, 4)).toBe("ab😀");
  });
});
