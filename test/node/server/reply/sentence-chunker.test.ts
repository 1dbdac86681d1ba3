import { describe, expect, it } from "vitest";
import { DEFAULT_CHUNKER, SentenceChunker, toSpeakableText, type ChunkerOptions } from "../../../../server/reply/sentence-chunker.ts";
import { prng as rng } from "../../../support/signals.ts"; // seeded, so a failing split can be reproduced

/** Feeds `parts` as deltas, then flushes. */
function chunk(parts: string | string[], o?: Partial<ChunkerOptions>): string[] {
  const c = new SentenceChunker(o);
  const out: string[] = [];
  for (const p of typeof parts === "string" ? [parts] : parts) out.push(...c.push(p));
  out.push(...c.flush());
  return out;
}

function randomSplit(s: string, rand: () => number): string[] {
  const parts: string[] = [];
  let i = 0;
  while (i < s.length) {
    const n = 1 + Math.floor(rand() * 12); // LLM deltas are a few chars; may split surrogate pairs
    parts.push(s.slice(i, i + n));
    i += n;
  }
  return parts;
}

const noWs = (s: string): string => s.replace(/\s+/g, "");
const oneSpace = (s: string): string => s.replace(/\s+/g, " ").trim();

describe("sentence boundaries", () => {
  it("'Dr. Smith' does not end a sentence", () => {
    // minChars 1: any sentence end would be released, so only the abbreviation rule keeps it whole.
    expect(chunk("Hello. Dr. Smith will see you at noon today, so please arrive early for that visit.", { minChars: 1 })).toEqual([
      "Hello.",
      "Dr. Smith will see you at noon today, so please arrive early for that visit.",
    ]);
  });

  it("titles, e.g., i.e., St. and U.S. do not end sentences", () => {
    const s = "Ok. Ask Mr. Brown, Mrs. Lee or Prof. Kim, e.g. Tuesday, i.e. Before the meeting on Main St. Downtown in the U.S. Army base.";
    expect(chunk(s, { minChars: 1 })).toEqual(["Ok.", s.slice(4)]);
  });

  it("'etc.' ends a sentence when a capitalised sentence follows, not when lowercase text does", () => {
    const s = "First. Bring apples, pears, etc. and some bread for the picnic. Then we walk, talk, etc. Afterwards we go home together.";
    expect(chunk(s, { minChars: 1 })).toEqual([
      "First.",
      "Bring apples, pears, etc. and some bread for the picnic.",
      "Then we walk, talk, etc.",
      "Afterwards we go home together.",
    ]);
  });

  it("decimals, versions and times are not boundaries", () => {
    const s = "Pi is roughly 3.14 and the app is v1.2 now. The train leaves at 10:30 from platform two.";
    expect(chunk(s, { minChars: 10 })).toEqual([
      "Pi is roughly 3.14 and the app is v1.2 now.",
      "The train leaves at 10:30 from platform two.",
    ]);
  });

  it("a decimal split across deltas ('3.' then '14') is not a boundary", () => {
    const c = new SentenceChunker();
    expect(c.push("It costs 3.")).toEqual([]);
    expect(c.push("14 dollars")).toEqual([]);
    expect(c.flush()).toEqual(["It costs 3.14 dollars"]);
  });

  it("'1. First' at the start of a line is not a sentence end", () => {
    expect(chunk("Steps:\n1. First preheat the oven.\n2. Then bake it.")).toEqual([
      "Steps:",
      "1. First preheat the oven.",
      "2. Then bake it.",
    ]);
  });

  it("a number ending a sentence mid-line is still a boundary", () => {
    expect(chunk("Pick option 1. It is the cheapest one we have in stock.")).toEqual([
      "Pick option 1.",
      "It is the cheapest one we have in stock.",
    ]);
  });

  it("an ellipsis before a lowercase word continues the sentence, before a capital it ends it", () => {
    expect(chunk("Well... maybe we could go tomorrow... It depends on the weather.", { firstChunkMinChars: 100 })).toEqual([
      "Well... maybe we could go tomorrow...",
      "It depends on the weather.",
    ]);
  });

  it("a closing quote or bracket after the period stays with the sentence", () => {
    expect(chunk('He said "it works." (Really.) Then he left the room without another word.', { minChars: 1 })).toEqual([
      'He said "it works."',
      "(Really.)",
      "Then he left the room without another word.",
    ]);
  });

  it("'!' and '?' end sentences", () => {
    expect(chunk("Wow! Did that really work? Yes it did.", { minChars: 1 })).toEqual(["Wow!", "Did that really work?", "Yes it did."]);
  });

  it("newlines are boundaries even for short lines", () => {
    expect(chunk("Hi there\nNice day\n\nBye now")).toEqual(["Hi there", "Nice day", "Bye now"]);
  });
});

describe("chunk sizes", () => {
  it("first chunk is released at the first comma after at least 4 words", () => {
    const c = new SentenceChunker();
    expect(c.push("Sure thing, I can help with that, and")).toEqual(["Sure thing, I can help with that,"]);
  });

  it("first chunk is not released at a comma before 4 words", () => {
    const c = new SentenceChunker();
    expect(c.push("Sure thing, I can")).toEqual([]);
  });

  it("'Well, let me think about that.': a one-word clause is not a first chunk", () => {
    const c = new SentenceChunker();
    expect(c.push("Well, let me think about that.")).toEqual([]);
    expect(c.flush()).toEqual(["Well, let me think about that."]);
  });

  it("'Sure thing, here is the plan, step one.': the first chunk ends at the first comma with 4 words before it", () => {
    // "Sure thing," has 2 words; "Sure thing, here is the plan," has 6.
    expect(chunk("Sure thing, here is the plan, step one.")).toEqual(["Sure thing, here is the plan,", "step one."]);
  });

  it("exactly 4 words release the first chunk at a comma, 3 do not (new rule: shorter than the old 20-char floor)", () => {
    expect(chunk("Yes, I think so, but let me check the calendar first.")).toEqual([
      "Yes, I think so,",
      "but let me check the calendar first.",
    ]);
    expect(chunk("Yes, I can, but let me check the calendar first.")).toEqual(["Yes, I can, but let me check the calendar first."]);
  });

  it("2 words over 20 chars no longer release the first chunk at a comma (new rule: words, not characters)", () => {
    expect(chunk("Congratulations everyone, that was a great result.")).toEqual(["Congratulations everyone, that was a great result."]);
  });

  it("semicolons, colons and dashes are first-chunk clause boundaries too, counted in words (a dash is not a word)", () => {
    expect(chunk("Here is what you need: flour and sugar.")).toEqual(["Here is what you need:", "flour and sugar."]);
    expect(chunk("Honestly, I would say — not yet.")).toEqual(["Honestly, I would say —", "not yet."]);
    expect(chunk("It rained all day; we stayed inside.")).toEqual(["It rained all day;", "we stayed inside."]);
    expect(chunk("Well — I think not.")).toEqual(["Well — I think not."]);
  });

  it("a number with a thousands comma is one word and never a boundary", () => {
    expect(chunk("It costs 1,000 dollars, roughly speaking, today.")).toEqual(["It costs 1,000 dollars,", "roughly speaking, today."]);
    expect(chunk("About 1,000,000 people, give or take.")).toEqual(["About 1,000,000 people, give or take."]);
  });

  it("firstClauseMinWords and firstChunkMinChars both apply when set", () => {
    expect(chunk("Sure thing, here we go.", { firstClauseMinWords: 2 })).toEqual(["Sure thing,", "here we go."]);
    expect(chunk("Sure thing, here we go.", { firstClauseMinWords: 2, firstChunkMinChars: 20 })).toEqual(["Sure thing, here we go."]);
    expect(chunk("Ok, so, well, here we go.", { firstClauseMinWords: 0 })).toEqual(["Ok,", "so, well, here we go."]);
  });

  it("defaults: 4 words, no character floor", () => {
    expect(DEFAULT_CHUNKER.firstClauseMinWords).toBe(4);
    expect(DEFAULT_CHUNKER.firstChunkMinChars).toBe(0);
  });

  it("first chunk is released at the first sentence end even when short", () => {
    const c = new SentenceChunker();
    expect(c.push("Okay.")).toEqual([]); // the next word decides whether "." ends a sentence
    expect(c.push(" Let")).toEqual(["Okay."]);
  });

  it("later chunks are released as soon as the next sentence starts", () => {
    const c = new SentenceChunker();
    expect(c.push("Sure. The forecast for tomorrow is sunny and warm.")).toEqual(["Sure."]);
    expect(c.push(" It")).toEqual(["The forecast for tomorrow is sunny and warm."]);
  });

  it("later short sentences are merged until minChars", () => {
    expect(chunk("Hello. Yes. No. Maybe so. I really do not know the answer to that one. Ok.")).toEqual([
      "Hello.",
      "Yes. No. Maybe so. I really do not know the answer to that one.",
      "Ok.",
    ]);
  });

  it("later chunks are not released at commas", () => {
    const c = new SentenceChunker();
    c.push("Right. ");
    expect(c.push("The first thing, the second thing, the third thing, and the fourth thing, and")).toEqual(["Right."]);
  });

  it("a 600-char run-on sentence is split below maxChars at word boundaries", () => {
    const words = Array.from({ length: 120 }, (_, i) => ["alpha", "beta", "gamma", "delta"][i % 4]);
    const s = words.join(" ");
    expect(s.length).toBeGreaterThan(580);
    const out = chunk(s);
    expect(out.length).toBeGreaterThanOrEqual(3);
    for (const c of out) {
      expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNKER.maxChars);
      expect(c).toMatch(/^(alpha|beta|gamma|delta)( (alpha|beta|gamma|delta))*$/); // no word was cut
    }
    expect(out.join(" ")).toBe(s);
  });

  it("an over-long sentence splits at its last clause boundary before the cap", () => {
    const head = "Word " + "word ".repeat(23) + "end of the clause,"; // 138 chars: past half the cap
    const tail = " more".repeat(30);
    const out = chunk("Start. " + head + tail + ".");
    expect(out[0]).toBe("Start.");
    expect(out[1]).toBe(head);
  });

  it("a 300-char word is cut at maxChars", () => {
    const out = chunk("x".repeat(300));
    expect(out).toEqual(["x".repeat(220), "x".repeat(80)]);
  });

  it("options are respected", () => {
    const out = chunk("One two three four five six seven eight nine ten eleven twelve.", { firstChunkMinChars: 5, maxChars: 30 });
    for (const c of out) expect(c.length).toBeLessThanOrEqual(30);
    expect(out.length).toBeGreaterThan(2);
  });

  it("never emits whitespace-only or punctuation-only chunks", () => {
    const out = chunk("Hi there.\n...\n!!!\n   \n— \nBye now.\n\n?!\n");
    expect(out).toEqual(["Hi there.", "... !!! — Bye now. ?!"]);
  });

  it("a reply with nothing speakable yields no chunks", () => {
    expect(chunk("😀 👍 🎉 ...")).toEqual([]);
    expect(chunk("   \n\n ")).toEqual([]);
  });
});

describe("toSpeakableText", () => {
  it("strips bold, italics, backticks and strikethrough", () => {
    expect(toSpeakableText("This is **very** _really_ *quite* `code` ~~old~~ text.")).toBe("This is very really quite code old text.");
  });

  it("turns links and images into their text", () => {
    expect(toSpeakableText("See [the docs](https://x.dev/a_(b)) and ![a cat](cat.png) now.")).toBe("See the docs and a cat now.");
  });

  it("drops heading marks, bullets, blockquotes, rules and code fences", () => {
    expect(toSpeakableText("# Title\n## Sub\n- one\n* two\n+ three\n> quoted\n---\n```ts\nlet x = 1\n```\nDone")).toBe(
      "Title\nSub\none\ntwo\nthree\nquoted\n\nlet x = 1\n\nDone",
    );
  });

  it("keeps snake_case, multiplication, hashtags and numbered list numbers", () => {
    expect(toSpeakableText("Use my_var = 5 * 3 and #tag.\n1. First")).toBe("Use my_var = 5 * 3 and #tag.\n1. First");
  });

  it("drops emoji including skin tones, ZWJ families, flags and keycaps", () => {
    expect(toSpeakableText("Great 👍🏽 job 👨‍👩‍👧 in 🇫🇷 at 1️⃣ ❤️ today")).toBe("Great job in at 1 today");
  });

  it("keeps non-Latin letters and accents", () => {
    expect(toSpeakableText("Ça va? Привет! 你好。")).toBe("Ça va? Привет! 你好。");
  });

  it("returns an empty string when nothing speakable is left", () => {
    expect(toSpeakableText("**  ** 🎉 --- ...")).toBe("");
  });

  it("markdown split across deltas is cleaned the same as whole", () => {
    expect(chunk(["This is **bo", "ld** and [a li", "nk](http://x", ".y) ok 👍", "🏽 fine."])).toEqual([
      "This is bold and a link ok fine.",
    ]);
  });
});

const REPLIES = [
  'Sure, I can help with that. Dr. Smith said the value is 3.14 at 10:30 today. Mr. Jones agreed, e.g. for version v1.2 of the app. Well... I think so. Really? Yes! He said "it works." Then we left.',
  "# Banana bread 🍌\n\nHere is what you need:\n1. Three ripe bananas, mashed.\n2. **Two cups** of flour, sifted.\n3. One _teaspoon_ of baking soda.\n\n- Mix the `wet` and dry parts.\n- Bake at 180 degrees for about 60 minutes, or until a toothpick comes out clean.\n\n---\nSee [my blog](https://example.com/bread_(v2)) for photos! 😋👨‍🍳",
  "The U.S. economy grew by 2.5 percent last year, i.e. slightly faster than expected; analysts at St. Louis Fed said so. Prices rose — mostly in housing — while wages lagged behind, etc. What does that mean for you? It depends... on where you live, and on what you do for a living, and on how much you have saved over the past few years while rates were low.",
  "This is a very long run on sentence that keeps going and going without any real stopping point because the model decided that it would be fun to talk forever about nothing in particular and it continues with more words and more words and even more words until it finally reaches a cap somewhere around here and then it still continues for another while longer than anyone would like honestly and then some more and more and more without ever pausing for breath at all",
  "Okay. Yes. Hmm. Let me think about that for a moment. 🤔 The answer is 42. Is there anything else? I'm happy to help!",
];

describe("streaming property", () => {
  it("chunks joined by spaces equal the cleaned full text, for many random split points", () => {
    const rand = rng(20261117);
    for (const reply of REPLIES) {
      const cleaned = toSpeakableText(reply);
      expect(cleaned.length).toBeGreaterThan(0);
      const reference = chunk(reply);
      for (let trial = 0; trial < 150; trial++) {
        const parts = randomSplit(reply, rand);
        const out = chunk(parts);
        const joined = out.join(" ");
        expect(noWs(joined), `split ${JSON.stringify(parts)}`).toBe(noWs(cleaned));
        expect(oneSpace(joined)).toBe(oneSpace(cleaned));
        for (const c of out) {
          expect(c).toBe(c.trim());
          expect(c).toMatch(/[\p{L}\p{N}]/u);
          expect(c.length).toBeLessThanOrEqual(DEFAULT_CHUNKER.maxChars);
        }
        // Where the deltas happened to break must not change the chunks either.
        expect(out).toEqual(reference);
      }
    }
  });

  it("one character per delta gives the same chunks as the whole reply at once", () => {
    // oxlint-disable-next-line typescript/no-misused-spread -- split by code point on purpose: a delta never carries half an emoji
    for (const reply of REPLIES) expect(chunk([...reply])).toEqual(chunk(reply));
  });

  it("random markdown-ish text with random options: chunks keep all text, stay speakable and ignore delta sizes", () => {
    const rand = rng(424242);
    const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)]!;
    const atoms = [
      "word",
      "The",
      "Dr.",
      "e.g.",
      "3.14",
      "10:30",
      "etc.",
      "U.S.",
      "1.",
      "...",
      "…",
      "!",
      "?",
      ".",
      ",",
      ";",
      ":",
      " - ",
      "—",
      "**",
      "*",
      "_",
      "`",
      "```",
      "[",
      "](",
      ")",
      "#",
      "- ",
      "> ",
      "---",
      "\n",
      "\n\n",
      "😀",
      "👍🏽",
      "🇫🇷",
      '"',
      "”",
      "é",
      "你好。",
      "x".repeat(50),
      "\\*",
      "~~",
      "![",
    ];
    for (let trial = 0; trial < 400; trial++) {
      let text = "";
      for (let n = 5 + Math.floor(rand() * 80); n > 0; n--) text += pick(atoms) + (rand() < 0.6 ? " " : "");
      const o = {
        firstClauseMinWords: Math.floor(rand() * 6),
        firstChunkMinChars: Math.floor(rand() * 30),
        minChars: Math.floor(rand() * 60),
        maxChars: 20 + Math.floor(rand() * 200),
      };
      const whole = chunk(text, o);
      const split = chunk(randomSplit(text, rand), o);
      const ctx = JSON.stringify({ text, o });
      expect(split, ctx).toEqual(whole);
      expect(noWs(split.join(" ")), ctx).toBe(noWs(toSpeakableText(text)));
      for (const c of split) {
        expect(c, ctx).toMatch(/[\p{L}\p{N}]/u);
        // Past the cap there may only be punctuation that could not stand alone.
        if (c.length > o.maxChars) expect(c.slice(o.maxChars), ctx).not.toMatch(/[\p{L}\p{N}]/u);
      }
    }
  });
});
