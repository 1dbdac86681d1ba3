// Transcript review end to end in real Chromium against `vite dev` with the fake Workers AI: a short
// conversation in which the user talks over the assistant (a spoken interruption, confirmed), then the
// conversations page finds it by a word the user said, its review page shows the latency waterfalls and
// the struck-through words of the interrupted reply and plays its recordings, and every export downloads
// and parses. Screenshots
// in test/artifacts/ (review-flow-*.png).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { ParleyTestHooks } from "../../client/test-hooks.ts";
import { parseSrt, parseVtt } from "../support/subtitle-parser.ts";
import { launchWithFakeMic } from "./chromium.ts";
import { ROOT } from "./dev-server.ts";
import { ARTIFACTS, useE2eSession, watchProblems } from "./e2e-session.ts";
import { concatWav, readWav, silence, writeWav } from "./wav-tools.ts";

/** "What is the weather like today?" (flite slt): the fake STT hears every longer utterance as that sentence. */
const SPEECH_WAV = resolve(ROOT, "test/fixtures/what-is-the-weather.wav");
const FAKE_STT = { FAKE_STT_SHORT_MS: "1500", FAKE_STT_SHORT_TRANSCRIPT: "Uh-huh." };

const e2e = useE2eSession(SPEECH_WAV, async () => ({ ai: "fake", env: FAKE_STT }));

type TestWindow = Window & { __parley?: ParleyTestHooks };

const watch = (page: Page) => watchProblems(page, e2e);

/** The interrupted reply's words as shown: heard, and the unheard rest (struck through?). */
async function interruptedReply(page: Page) {
  const reply = page.locator('[data-testid="assistant-message"].interrupted').first();
  const unspoken = reply.locator(".bubble .unspoken");
  return {
    heard: ((await reply.locator(".bubble .spoken").textContent()) ?? "").trim(),
    unheard: ((await unspoken.textContent()) ?? "").trim(),
    struck: await unspoken.evaluate((n) => getComputedStyle(n).textDecorationLine.includes("line-through")),
  };
}

/** Download one export from the review page's menu: the server's file name and the text. */
async function download(page: Page, format: "json" | "md" | "vtt" | "srt"): Promise<{ name: string; text: string }> {
  await page.click('[data-testid="export-menu"] summary');
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(`[data-testid="export-${format}"]`)]);
  const path = resolve(ARTIFACTS, `review-flow-export.${format}`);
  await file.saveAs(path);
  return { name: file.suggestedFilename(), text: readFileSync(path, "utf8") };
}

describe("transcript review in Chromium", () => {
  it("a conversation with a spoken interruption is found by a word the user said, reviewed with waterfalls and struck-through words, heard from its recordings, and exported in every format", async () => {
    // The mic stays silent while the typed question's reply plays, then the user talks over it.
    const speech = readWav(SPEECH_WAV);
    const wav = resolve(ARTIFACTS, "review-flow-mic.wav");
    writeWav(wav, concatWav([silence(speech.sampleRate, 4_500), speech, silence(speech.sampleRate, 1_000)]));
    const b = await launchWithFakeMic(wav);
    try {
      const page = await b.context.newPage();
      const problems = watch(page);
      await page.goto(`${e2e.server.url}/`);
      await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
      await page.click('[data-testid="mic-button"]');
      await page.waitForSelector('[data-testid="mic-button"][data-mic="on"]', { timeout: 10_000 });
      await page.fill('[data-testid="text-input"]', "Tell me a long story please");
      await page.press('[data-testid="text-input"]', "Enter");
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.confirmedInterruptions ?? 0) >= 1, null, {
        timeout: 30_000,
      });
      // The interrupting sentence is a turn of its own, answered and played out.
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-message"][data-source="voice"]').length >= 1, null, {
        timeout: 20_000,
      });
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.repliesFinished ?? 0) >= 1, null, { timeout: 30_000 });
      await page.waitForFunction(
        () => ((window as TestWindow).__parley?.log.filter((l) => / reply-heard /.test(l)).length ?? 0) >= 2,
        null,
        { timeout: 10_000 },
      );
      const live = await interruptedReply(page);
      expect(live.heard.length).toBeGreaterThan(0);
      expect(live.unheard.length).toBeGreaterThan(0);
      const sessionId = (await page.evaluate(() => (window as TestWindow).__parley?.sessionId)) as string;

      // 1. Find it: the conversations page, searching for a word the user said.
      await page.goto(`${e2e.server.url}/conversations`);
      const link = page.locator(`[data-testid="conversation-link"][href="/s/${sessionId}/review"]`);
      await link.waitFor({ timeout: 15_000 });
      // The index is written after each turn settles: search again until the last turn's words are in.
      const snippet = page.locator("tr.conversation-snippet");
      for (let attempt = 0; ; attempt++) {
        await page.fill('[data-testid="conversation-search"]', "");
        await page.fill('[data-testid="conversation-search"]', "weather");
        if (
          await snippet
            .first()
            .waitFor({ timeout: 2_000 })
            .then(
              () => true,
              () => false,
            )
        )
          break;
        if (attempt === 7)
          throw new Error(`search never found the word: ${await page.locator('[data-testid="conversations-status"]').textContent()}`);
      }
      expect(await page.locator('[data-testid="conversation-link"]').count()).toBe(1);
      expect(await link.count()).toBe(1);
      expect((await snippet.first().textContent())!.toLowerCase()).toContain("weather");
      // A list has no conversation of its own to export or delete.
      expect(await page.locator('[data-testid="export-menu"]').isVisible()).toBe(false);
      expect(await page.locator('[data-testid="delete-conversation"]').isVisible()).toBe(false);
      await page.screenshot({ path: resolve(ARTIFACTS, "review-flow-conversations.png"), fullPage: true });

      // 2. Read it: the review page, with a waterfall per reply and the unheard words struck through.
      await link.click();
      await page.waitForURL(`**/s/${sessionId}/review`);
      await page.locator('[data-testid="waterfall"]').nth(1).waitFor({ timeout: 10_000 });
      expect(await interruptedReply(page)).toEqual({ ...live, struck: true });
      const stages = await page
        .locator('[data-testid="waterfall"]')
        .evaluateAll((charts) =>
          charts.map((c) => [...c.querySelectorAll('[data-testid="waterfall-bar"]')].map((b) => b.getAttribute("data-stage"))),
        );
      expect(stages).toHaveLength(2);
      // The spoken turn waited for the end of the user's turn and went through speech-to-text.
      expect(stages[1]).toEqual(expect.arrayContaining(["end-of-turn", "stt", "llm", "tts"]));
      expect(await page.locator('[data-testid="summary-interruptions"] .stat-value').textContent()).toMatch(/^[1-9]\d* confirmed/);
      // Hear it: the spoken question's recording, then the interrupted reply's (what was played of it).
      expect(await page.locator('[data-testid="play-user"]').count()).toBe(1); // the typed turn has none
      const audioTime = () =>
        page.evaluate(() => document.querySelector<HTMLAudioElement>('[data-testid="recording-audio"]')?.currentTime ?? 0);
      await page.click('[data-testid="play-user"]');
      await page.waitForFunction(
        () => (document.querySelector<HTMLAudioElement>('[data-testid="recording-audio"]')?.currentTime ?? 0) > 0.2,
        null,
        { timeout: 10_000 },
      );
      await page.locator('[data-testid="play-reply"]').first().click();
      await page.waitForFunction(
        () => document.querySelector('[data-testid="play-reply"]')?.getAttribute("data-state") === "playing",
        null,
        { timeout: 10_000 },
      );
      await page.waitForFunction(
        () => (document.querySelector<HTMLAudioElement>('[data-testid="recording-audio"]')?.currentTime ?? 0) > 0,
        null,
        { timeout: 10_000 },
      );
      // The cut reply's recording ends where playback was cut: shorter than the whole planned reply's audio.
      const cutSeconds = await page.evaluate(async () => {
        const audio = document.querySelector<HTMLAudioElement>('[data-testid="recording-audio"]')!;
        if (!Number.isFinite(audio.duration)) await new Promise((r) => audio.addEventListener("durationchange", r, { once: true }));
        return audio.duration;
      });
      expect(cutSeconds).toBeGreaterThan(0.5);
      expect(await audioTime()).toBeGreaterThan(0);
      await page.setViewportSize({ width: 1280, height: 1400 });
      await page.screenshot({ path: resolve(ARTIFACTS, "review-flow-session.png"), fullPage: true });

      // 3. Export it in every format.
      const json = await download(page, "json");
      expect(json.name).toMatch(new RegExp(`^parley-${sessionId.slice(0, 8)}-\\d{4}-\\d{2}-\\d{2}\\.json$`));
      const record = JSON.parse(json.text) as {
        format: string;
        messages: { role: string; status: string; text: string; plannedText?: string }[];
      };
      expect(record.format).toBe("parley-transcript/1");
      const cut = record.messages.find((m) => m.role === "assistant" && m.status === "interrupted")!;
      expect(cut.text.trim()).toBe(live.heard);
      expect(cut.plannedText!.length).toBeGreaterThan(cut.text.length);
      const md = await download(page, "md");
      expect(md.name).toMatch(/\.md$/);
      expect(md.text).toContain("~~");
      const vtt = await download(page, "vtt");
      const vttCues = parseVtt(vtt.text);
      expect(vttCues.map((c) => c.text).join(" ")).toContain("weather");
      // The interrupted reply's cue holds what was heard, not the planned rest.
      const cutCue = vttCues.find((c) => c.text.includes(live.heard))!;
      expect(cutCue.text.replace(/<\/?v[^>]*>/g, "").trim()).toBe(live.heard);
      const srt = await download(page, "srt");
      expect(parseSrt(srt.text).length).toBe(vttCues.length);
      expect(problems).toEqual([]);
    } finally {
      await b.close();
    }
  }, 150_000);
});
