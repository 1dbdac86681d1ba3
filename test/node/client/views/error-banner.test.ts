// What the page shows for a server `error` event, or a microphone that cannot start.
import { describe, expect, it } from "vitest";
import { errorBanner, micErrorBanner } from "../../../../client/views/error-banner.ts";

describe("errorBanner", () => {
  it("AI faults share one banner with a title naming the fault, and say when trying again may help", () => {
    expect(errorBanner("ai_capacity", "busy", true)).toEqual({
      key: "ai-error",
      title: "Workers AI is over capacity",
      body: "busy — you can try again.",
    });
    expect(errorBanner("tts_failed", "no voice", false)).toEqual({ key: "ai-error", title: "Speech synthesis failed", body: "no voice" });
    expect(errorBanner("budget_exceeded", "limit", false).key).toBe("ai-error");
  });

  it("rejected messages go to the other banner", () => {
    expect(errorBanner("bad_message", "invalid barge-in", false)).toEqual({
      key: "error",
      title: "The server rejected a message",
      body: "invalid barge-in",
    });
    expect(errorBanner("rate_limited", "slow down", true).title).toBe("Too many messages");
  });
});

describe("micErrorBanner", () => {
  it("says what to do for each way the microphone can fail, and passes unknown failures through", () => {
    expect(micErrorBanner("denied", "NotAllowedError").title).toBe("Microphone access is blocked");
    expect(micErrorBanner("no-device", "x").body).toMatch(/You can still type/);
    expect(micErrorBanner("insecure", "x").body).toMatch(/https/);
    expect(micErrorBanner("other", "device exploded")).toEqual({ title: "Couldn't start the microphone", body: "device exploded" });
  });
});
