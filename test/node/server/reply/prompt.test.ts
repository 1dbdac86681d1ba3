import { describe, expect, it } from "vitest";
import { DEFAULT_SYSTEM_PROMPT, buildLlmMessages, type HistoryMessage, type LlmMessage } from "../../../../server/reply/prompt.ts";

const SYS = "Be brief.";
const u = (text: string): HistoryMessage => ({ role: "user", text });
const a = (text: string): HistoryMessage => ({ role: "assistant", text });
const roles = (m: LlmMessage[]): string => m.map((x) => x.role[0]).join("");
const contentChars = (m: LlmMessage[]): number => m.reduce((n, x) => n + x.content.length, 0);

describe("DEFAULT_SYSTEM_PROMPT", () => {
  it("asks for short spoken answers without markdown, lists or emoji", () => {
    const p = DEFAULT_SYSTEM_PROMPT.toLowerCase();
    expect(p).toMatch(/read aloud|spoken/);
    expect(p).toMatch(/one to three/);
    expect(p).toMatch(/no markdown/);
    expect(p).toMatch(/list/);
    expect(p).toMatch(/no emoji/);
    expect(p).toMatch(/clarifying question/);
    expect(p).toMatch(/numbers.*(say|spoken)/);
  });

  it("itself contains no markdown or emoji the model could imitate", () => {
    expect(DEFAULT_SYSTEM_PROMPT).not.toMatch(/[*#`_[\]]|^\s*[-•]/m);
    expect(DEFAULT_SYSTEM_PROMPT).not.toMatch(/\p{Extended_Pictographic}/u);
  });
});

describe("buildLlmMessages", () => {
  it("puts the system prompt first, history in order, and the user turn last", () => {
    const m = buildLlmMessages({ systemPrompt: SYS, history: [u("hi"), a("hello")], userText: "how are you?", budgetChars: 1000 });
    expect(m).toEqual([
      { role: "system", content: SYS },
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
      { role: "user", content: "how are you?" },
    ]);
  });

  it("keeps the most recent history that fits and drops the oldest whole messages", () => {
    const history = [u("1111111111"), a("2222222222"), u("3333333333"), a("4444444444")];
    // system 9 + user 5 + two messages of 10 = 34; the third-newest would make 44.
    const m = buildLlmMessages({ systemPrompt: SYS, history, userText: "five!", budgetChars: 40 });
    expect(m.map((x) => x.content)).toEqual([SYS, "3333333333", "4444444444", "five!"]);
    expect(contentChars(m)).toBeLessThanOrEqual(40);
  });

  it("never starts the kept history with an assistant message", () => {
    const history = [u("aaaaaaaaaaaaaaaaaaaa"), a("bb"), u("cc"), a("dd")];
    // Budget leaves room for the last three (6 chars), which would open with the assistant "bb".
    const m = buildLlmMessages({ systemPrompt: SYS, history, userText: "q", budgetChars: SYS.length + 1 + 6 });
    expect(m.map((x) => x.content)).toEqual([SYS, "cc", "dd", "q"]);
  });

  it("keeps the system prompt and user turn even when they alone exceed the budget", () => {
    const long = "x".repeat(500);
    const m = buildLlmMessages({ systemPrompt: SYS, history: [u("old"), a("reply")], userText: long, budgetChars: 100 });
    expect(m).toEqual([
      { role: "system", content: SYS },
      { role: "user", content: long },
    ]);
  });

  it("merges consecutive same-role messages so roles alternate", () => {
    const m = buildLlmMessages({
      systemPrompt: SYS,
      history: [u("one"), u("two"), a("three"), a("four"), u("five"), a("six")],
      userText: "seven",
      budgetChars: 1000,
    });
    expect(m.map((x) => x.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user"]);
    expect(m[1]!.content).toBe("one\n\ntwo");
    expect(m[2]!.content).toBe("three\n\nfour");
  });

  it("merges a trailing user message in history into the new user turn", () => {
    const m = buildLlmMessages({
      systemPrompt: SYS,
      history: [u("hi"), a("hello"), u("are you there")],
      userText: "hello?",
      budgetChars: 1000,
    });
    expect(m.at(-1)).toEqual({ role: "user", content: "are you there\n\nhello?" });
    expect(m.map((x) => x.role)).toEqual(["system", "user", "assistant", "user"]);
  });

  it("skips empty and whitespace-only history texts", () => {
    const m = buildLlmMessages({ systemPrompt: SYS, history: [u("hi"), a("  "), u(""), a("hello")], userText: "ok", budgetChars: 1000 });
    expect(m.map((x) => x.content)).toEqual([SYS, "hi", "hello", "ok"]);
  });

  it("a zero budget keeps no history", () => {
    const m = buildLlmMessages({ systemPrompt: SYS, history: [u("hi"), a("hello")], userText: "ok", budgetChars: 0 });
    expect(m.map((x) => x.role)).toEqual(["system", "user"]);
  });

  it("an empty system prompt sends no system message", () => {
    const m = buildLlmMessages({ systemPrompt: "", history: [], userText: "ok", budgetChars: 100 });
    expect(m).toEqual([{ role: "user", content: "ok" }]);
  });

  it("random histories always give alternating roles within budget", () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 500; trial++) {
      const history: HistoryMessage[] = Array.from({ length: Math.floor(rand() * 12) }, () => ({
        role: rand() < 0.5 ? "user" : "assistant",
        text: rand() < 0.15 ? " " : "w".repeat(1 + Math.floor(rand() * 40)),
      }));
      const budgetChars = Math.floor(rand() * 200);
      const m = buildLlmMessages({ systemPrompt: SYS, history, userText: "question", budgetChars });
      expect(roles(m)).toMatch(/^s(ua)*u$/);
      if (SYS.length + "question".length <= budgetChars) expect(contentChars(m)).toBeLessThanOrEqual(budgetChars);
      for (const x of m) expect(x.content.trim()).not.toBe("");
    }
  });
});
