import { describe, expect, it } from "vitest";
import { SCRIPTED_FAILURE_LOG } from "../../support/scripted-failure-logs.ts";

describe("which workerd logs are a scripted failure of the fake Workers AI", () => {
  it("an exception thrown by the fake's maybeFail is one", () => {
    const log =
      "uncaught exception; source = Uncaught (in promise); stack = Error: 502: fake llm failure\n    at maybeFail (file:///repo/fake-ai.js:598:11)\n    at FakeAi.run (file:///repo/fake-ai.js:698:9)\n";
    expect(SCRIPTED_FAILURE_LOG.test(log)).toBe(true);
  });

  it("any other uncaught exception, even from the fake, still prints", () => {
    const fromFake =
      "uncaught exception; source = Uncaught (in promise); stack = Error: 5007: No such model @cf/x or task\n    at FakeAi.run (file:///repo/fake-ai.js:760:11)\n";
    const fromServer =
      "uncaught exception; source = Uncaught (in promise); stack = Error: boom\n    at maybeFail (file:///repo/server/voice-session.js:1:1)\n";
    expect(SCRIPTED_FAILURE_LOG.test(fromFake)).toBe(false);
    expect(SCRIPTED_FAILURE_LOG.test(fromServer)).toBe(false);
    expect(SCRIPTED_FAILURE_LOG.test("[parley] llm retry after ai_unavailable: The language model failed upstream (502).\n")).toBe(false);
  });
});
