import { describe, expect, it } from "vitest";
import { AiCallError, classifyAiError, upstreamCodeOf } from "../../../../server/models/ai-errors.ts";
import { backoffMs, withDeadline, withRetry } from "../../../../server/models/retry.ts";

describe("Workers AI error classification", () => {
  it("reads the internal code at the start of the binding's message", () => {
    expect(upstreamCodeOf("3040: No more data centers to forward the request to")).toBe(3040);
    expect(upstreamCodeOf("InferenceUpstreamError: 3036: You have used up your daily free allocation")).toBe(3036);
    expect(upstreamCodeOf("upstream returned status 503")).toBe(503);
    expect(upstreamCodeOf("something odd")).toBeUndefined();
  });

  it.each([
    ["3040: No more data centers", "ai_capacity", true],
    ["3036: daily allocation", "ai_quota", false],
    ["3006: Request is too large", "ai_too_large", false],
    ["5035: This model requires the Workers Paid plan", "ai_paid_plan", false],
    ["3007: Request timeout", "ai_timeout", true],
    ["502: Bad gateway", "ai_unavailable", true],
    ["3043: Internal server error", "ai_unavailable", true],
    ["502 Bad Gateway", "ai_unavailable", true],
    ["<html><head><title>503 Service Unavailable</title></head></html>", "ai_unavailable", true],
    ["504 Gateway Time-out", "ai_unavailable", true],
    ["5007: No such model @cf/x/y", "llm_failed", false],
  ] as const)("%s -> %s (retryable %s)", (message, code, retryable) => {
    const e = classifyAiError(new Error(message), "llm");
    expect(e.code).toBe(code);
    expect(e.retryable).toBe(retryable);
  });

  it("a model that needs the Workers Paid plan says so and names the variable that picks another model", () => {
    const llm = classifyAiError(new Error("InferenceUpstreamError: 5035: Forbidden"), "llm");
    expect(llm.message).toMatch(/Workers Paid plan/);
    expect(llm.message).toMatch(/LLM_MODEL/);
    expect(classifyAiError(new Error("5035: Forbidden"), "tts").message).toMatch(/TTS_MODEL/);
  });

  it("names the failing stage in the message of a non-retryable failure", () => {
    expect(classifyAiError(new Error("5004: Invalid data"), "stt")).toMatchObject({ code: "stt_failed" });
    expect(classifyAiError(new Error("weird"), "tts").message).toMatch(/^Speech synthesis failed/);
  });

  it("a TimeoutError is ai_timeout", () => {
    expect(classifyAiError(new DOMException("late", "TimeoutError"), "tts").code).toBe("ai_timeout");
  });
});

describe("retries", () => {
  const base = { stage: "llm" as const, maxRetries: 2, retryBaseMs: 1, timeoutMs: 1000 };

  it("a timed-out attempt is aborted before its retry starts (no duplicate call left running)", async () => {
    const log: string[] = [];
    let n = 0;
    const r = await withRetry(
      (signal) => {
        const k = ++n;
        log.push(`start ${k}`);
        if (k === 1) {
          // Hangs until aborted, like an upstream call that never answers.
          return new Promise<string>((_, reject) =>
            signal.addEventListener("abort", () => (log.push(`abort ${k}`), reject(signal.reason))),
          );
        }
        return Promise.resolve("ok");
      },
      { ...base, timeoutMs: 30, signal: new AbortController().signal },
    );
    expect(r).toEqual({ value: "ok", retries: 1 });
    expect(log).toEqual(["start 1", "abort 1", "start 2"]);
  });

  it("a successful attempt's signal stays live (a stream it returned keeps reading) and still follows the turn's cancel", async () => {
    const turn = new AbortController();
    let seen: AbortSignal | undefined;
    await withRetry(
      async (signal) => {
        seen = signal;
        return 1;
      },
      { ...base, signal: turn.signal },
    );
    await new Promise((r) => setTimeout(r, 5));
    expect(seen!.aborted).toBe(false);
    turn.abort();
    expect(seen!.aborted).toBe(true);
  });

  it("retries retryable failures and reports how many retries it took", async () => {
    let n = 0;
    const seen: number[] = [];
    const r = await withRetry(
      async () => {
        if (++n < 3) throw new Error("3040: busy");
        return "ok";
      },
      { ...base, signal: new AbortController().signal, onRetry: (_e, attempt) => seen.push(attempt) },
    );
    expect(r).toEqual({ value: "ok", retries: 2 });
    expect(seen).toEqual([1, 2]);
  });

  /** withRetry over an attempt that always throws `message`; `attempts()` counts the tries. */
  function alwaysFailing(message: string) {
    let n = 0;
    const p = withRetry(
      async () => {
        n++;
        throw new Error(message);
      },
      { ...base, signal: new AbortController().signal },
    );
    return { p, attempts: () => n };
  }

  it("gives up after maxRetries with the classified error", async () => {
    const { p, attempts } = alwaysFailing("503: down");
    await expect(p).rejects.toMatchObject({ code: "ai_unavailable" });
    expect(attempts()).toBe(3);
  });

  it("does not retry what cannot succeed", async () => {
    const { p, attempts } = alwaysFailing("3036: quota");
    await expect(p).rejects.toBeInstanceOf(AiCallError);
    expect(attempts()).toBe(1);
  });

  it("a cancelled turn stops retrying at once with an AbortError", async () => {
    const ac = new AbortController();
    let n = 0;
    const p = withRetry(
      async () => {
        n++;
        setTimeout(() => ac.abort(), 5);
        throw new Error("3040: busy");
      },
      { ...base, retryBaseMs: 1000, signal: ac.signal },
    );
    await expect(p).rejects.toMatchObject({ name: "AbortError" });
    expect(n).toBe(1);
  });

  it("an attempt that never answers times out", async () => {
    const p = withDeadline(new Promise(() => {}), 20, new AbortController().signal);
    await expect(p).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("backoff doubles per attempt within +-20%", () => {
    for (let i = 0; i < 50; i++) {
      const b1 = backoffMs(1, 100);
      const b3 = backoffMs(3, 100);
      expect(b1).toBeGreaterThanOrEqual(80);
      expect(b1).toBeLessThanOrEqual(120);
      expect(b3).toBeGreaterThanOrEqual(320);
      expect(b3).toBeLessThanOrEqual(480);
    }
  });
});
