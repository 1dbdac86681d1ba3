// A finished reply shows the heard words, then the planned words never heard: live and reopened alike.
import { describe, expect, it } from "vitest";
import { splitHeard } from "../../../../client/views/heard-split.ts";

describe("splitHeard", () => {
  it("splits the planned text where the heard text ends", () => {
    expect(splitHeard("I heard you.", "I heard you. This is the second sentence.")).toEqual({
      heard: "I heard you.",
      unheard: " This is the second sentence.",
    });
  });

  it("matches heard text built from segments joined by single spaces against the planned whitespace", () => {
    const planned = "First sentence.\n\nSecond  sentence here. Third.";
    const split = splitHeard("First sentence. Second sentence", planned);
    expect(split).toEqual({ heard: "First sentence.\n\nSecond  sentence", unheard: " here. Third." });
    expect(split.heard + split.unheard).toBe(planned);
  });

  it("a reply heard whole has nothing unheard", () => {
    expect(splitHeard("All of it.", "All of it.")).toEqual({ heard: "All of it.", unheard: "" });
  });

  it("nothing heard: all of the plan is unheard", () => {
    expect(splitHeard("", "Never said.")).toEqual({ heard: "", unheard: "Never said." });
  });

  it("without a planned text, or when the heard text is not a prefix of it, the heard text is shown alone", () => {
    expect(splitHeard("Kept words.", "")).toEqual({ heard: "Kept words.", unheard: "" });
    expect(splitHeard("Other words.", "Planned text.")).toEqual({ heard: "Other words.", unheard: "" });
  });
});
