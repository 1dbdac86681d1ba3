// The offline responder (local-ai/engines/offline-responder.ts): deterministic, honest, short.
import { describe, expect, it } from "vitest";
import { JOKE, OfflineResponder, offlineReply, parseDuration, parseNumber } from "../../../../local-ai/engines/offline-responder.ts";
import type { StreamPiece } from "../../../../local-ai/sse.ts";
import { enginesFromEnv, pacingFromEnv } from "../../../../local-ai/engine-server.ts";

const at = new Date("2026-11-27T15:05:00Z");
const ctx = { now: at, timeZone: "UTC" };
const user = (content: string) => [
  { role: "system", content: "You are Parley." },
  { role: "user", content },
];
const sentences = (s: string) => s.split(/(?<=[.!?])\s+/).filter(Boolean);

describe("offlineReply", () => {
  it("tells the time from the machine clock", () => {
    expect(offlineReply(user("What time is it?"), ctx)).toBe("It's 3:05 PM on this computer's clock.");
    expect(offlineReply(user("can you tell me the time please"), ctx)).toMatch(/^It's 3:05 PM/);
  });

  it("sets a simulated timer, with durations spoken in words or digits", () => {
    expect(offlineReply(user("set a timer for ten minutes"), ctx)).toBe(
      "Okay, a timer for 10 minutes. It's only simulated: I'm Parley's offline stand-in, so nothing will ring.",
    );
    expect(offlineReply(user("Set a timer for 25 seconds."), ctx)).toMatch(/timer for 25 seconds\. It's only simulated/);
    expect(offlineReply(user("set a timer for twenty five minutes"), ctx)).toMatch(/timer for 25 minutes/);
    expect(offlineReply(user("start a timer for an hour"), ctx)).toMatch(/timer for 1 hour\./);
    expect(offlineReply(user("set a timer for half an hour"), ctx)).toMatch(/timer for 30 minutes/);
    expect(offlineReply(user("set a timer"), ctx)).toBe("How long should the timer run? Say, for example, set a timer for ten minutes.");
  });

  it("tells one fixed joke", () => {
    expect(offlineReply(user("tell me a joke"), ctx)).toBe(JOKE);
    expect(offlineReply(user("Do you know any good jokes? Tell me a joke!"), ctx)).toBe(JOKE);
  });

  it("otherwise says plainly it is the offline stand-in and echoes what it heard", () => {
    expect(offlineReply(user("what is the weather in paris tomorrow"), ctx)).toBe(
      "I'm Parley's offline stand-in, so there's no language model here. I heard: what is the weather in paris tomorrow.",
    );
    expect(offlineReply(user("Explain quantum physics?"), ctx)).toMatch(/I heard: Explain quantum physics\?$/);
  });

  it("answers the last user message, not the system prompt or older turns", () => {
    const messages = [
      { role: "system", content: "Tell me a joke whenever you can." },
      { role: "user", content: "what time is it" },
      { role: "assistant", content: "It's 3:05 PM." },
      { role: "user", content: "thanks" },
    ];
    expect(offlineReply(messages, ctx)).toMatch(/I heard: thanks\.$/);
  });

  it("never claims to be a language model and keeps to 1-3 short sentences", () => {
    const inputs = ["what time is it", "set a timer for 5 minutes", "set a timer", "tell me a joke", "hello", "", "   ", "x ".repeat(200)];
    for (const text of inputs) {
      const reply = offlineReply(user(text), ctx);
      const n = sentences(reply).length;
      expect(n, reply).toBeGreaterThanOrEqual(1);
      expect(n, reply).toBeLessThanOrEqual(3);
      expect(reply).not.toMatch(/\bI am an? (AI|language model|assistant model)\b/i);
      expect(reply.length).toBeLessThan(260);
    }
    expect(offlineReply(user(""), ctx)).toMatch(/didn't catch anything.*offline stand-in/);
  });

  it("parses spoken numbers and durations", () => {
    expect(parseNumber(["twenty", "five", "minutes"])).toEqual({ value: 25, used: 2 });
    expect(parseNumber(["a", "hundred", "and", "five"])).toEqual({ value: 105, used: 4 });
    expect(parseNumber(["12"])).toEqual({ value: 12, used: 1 });
    expect(parseNumber(["minutes"])).toBeUndefined();
    expect(parseDuration("for a couple of minutes")).toBe("2 minutes");
    expect(parseDuration("for ninety seconds")).toBe("90 seconds");
    expect(parseDuration("for one minute")).toBe("1 minute");
    expect(parseDuration("for a while")).toBeUndefined();
  });
});

describe("OfflineResponder", () => {
  const signal = new AbortController().signal;

  it("streams the reply token by token with model-like pacing, then usage", async () => {
    const r = new OfflineResponder({ pacing: { firstTokenMs: 60, tokenMs: 5 }, context: () => ctx });
    const started = performance.now();
    const pieces: StreamPiece[] = [];
    let firstAt = 0;
    for await (const p of r.stream({ messages: user("tell me a joke"), signal })) {
      if (!firstAt) firstAt = performance.now() - started;
      pieces.push(p);
    }
    const tokens = pieces.flatMap((p) => ("token" in p ? [p.token] : []));
    expect(tokens.join("")).toBe(JOKE);
    expect(tokens.length).toBeGreaterThan(10);
    expect(firstAt).toBeGreaterThanOrEqual(55);
    const last = pieces.at(-1)!;
    if (!("usage" in last)) throw new Error("the stream must end with usage");
    expect(last.usage.completion_tokens).toBe(tokens.length);
    expect(last.usage.total_tokens).toBe(last.usage.prompt_tokens + tokens.length);
  });

  it("honours max_tokens and stops when aborted", async () => {
    const r = new OfflineResponder({ pacing: { firstTokenMs: 0, tokenMs: 0 }, context: () => ctx });
    const { response, usage } = await r.complete({ messages: user("tell me a joke"), maxTokens: 3, signal });
    expect(response).toBe("Why did the");
    expect(usage.completion_tokens).toBe(3);

    const slow = new OfflineResponder({ pacing: { firstTokenMs: 10, tokenMs: 1000 }, context: () => ctx });
    const ac = new AbortController();
    const seen: string[] = [];
    const run = (async () => {
      for await (const p of slow.stream({ messages: user("tell me a joke"), signal: ac.signal })) if ("token" in p) seen.push(p.token);
    })();
    setTimeout(() => ac.abort(new Error("barge-in")), 50);
    await expect(run).rejects.toThrow("barge-in");
    expect(seen).toEqual(["Why"]);
  });
});

describe("pacing is opt-in", () => {
  it("is off unless LOCAL_LLM_PACING=1 or a pacing variable is set; LOCAL_LLM_PACING=0 wins", () => {
    expect(pacingFromEnv({})).toBeNull();
    expect(pacingFromEnv({ LOCAL_LLM_PACING: "1" })).toEqual({ firstTokenMs: 150, tokenMs: 20 });
    expect(pacingFromEnv({ LOCAL_LLM_PACING: "true", LOCAL_AI_TOKEN_MS: "5" })).toEqual({ firstTokenMs: 150, tokenMs: 5 });
    expect(pacingFromEnv({ LOCAL_AI_FIRST_TOKEN_MS: "20", LOCAL_AI_TOKEN_MS: "2" })).toEqual({ firstTokenMs: 20, tokenMs: 2 });
    expect(pacingFromEnv({ LOCAL_LLM_PACING: "0", LOCAL_AI_FIRST_TOKEN_MS: "20" })).toBeNull();
  });

  it("the responder npm start gets streams its first token at once", async () => {
    const { reply, tts } = enginesFromEnv({});
    tts.close();
    expect(reply).toBeInstanceOf(OfflineResponder);
    expect((reply as OfflineResponder).pacing).toEqual({ firstTokenMs: 0, tokenMs: 0 });
    const started = performance.now();
    for await (const p of reply.stream({ messages: user("tell me a joke"), signal: new AbortController().signal })) {
      expect("token" in p).toBe(true);
      break;
    }
    expect(performance.now() - started).toBeLessThan(50);
    expect(new OfflineResponder().pacing).toEqual({ firstTokenMs: 0, tokenMs: 0 });
  });
});
