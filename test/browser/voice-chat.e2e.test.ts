// End-to-end in a real browser: Debian Chromium (playwright-core) with a fake microphone playing a
// speech WAV, against `vite dev` (Worker + VoiceSession Durable Object in workerd) with the
// deterministic fake Workers AI (PARLEY_AI=fake). The page is the real client: capture worklet ->
// 16 kHz PCM16 frames -> server VAD/STT/LLM/TTS -> segments -> playback worklet.
// Saves screenshots in test/artifacts/ (ignored by git).
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { ParleyTestHooks } from "../../client/test-hooks.ts";
import { launchWithFakeMic } from "./chromium.ts";
import { ROOT } from "./dev-server.ts";
import { ARTIFACTS, useE2eSession } from "./e2e-session.ts";
import { concatWav, readWav, silence, writeWav } from "./wav-tools.ts";

/** "What is the weather like today?" (flite slt, 16 kHz): 200 ms silence, 1.6 s speech, 600 ms silence; then the fake mic is silent. */
const SPEECH_WAV = resolve(ROOT, "test/fixtures/what-is-the-weather.wav");
/** "Tell me a joke." (flite rms): 200 ms silence, 1.0 s speech, 600 ms silence. */
const JOKE_WAV = resolve(ROOT, "test/fixtures/tell-me-a-joke.wav");

type TestWindow = Window & { __parley?: ParleyTestHooks; __textGrowth?: number[] };

const e2e = useE2eSession(SPEECH_WAV, async () => ({ ai: "fake" }));

async function openSession(page: Page, name: string): Promise<string[]> {
  const problems: string[] = [];
  page.on("console", (m) => e2e.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/favicon/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${e2e.server.url}/s/${name}-${Date.now().toString(36)}`);
  await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
  return problems;
}

const hooks = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify((window as TestWindow).__parley)) as ParleyTestHooks);

describe("voice chat in Chromium with a fake microphone", () => {
  it(
    "speaks a sentence: transcript, streamed reply, reply audio played without underruns, time to first audio shown",
    async () => {
      const page = await e2e.browser.context.newPage();
      const problems = await openSession(page, "e2e-voice");
      // Record how the assistant's text grows, to check it streams in rather than appearing at once.
      await page.evaluate(() => {
        const w = window as TestWindow;
        const growth: number[] = [];
        w.__textGrowth = growth;
        new MutationObserver(() => {
          const n = document.querySelector('[data-testid="assistant-message"] .bubble .spoken')?.parentElement?.textContent?.length ?? 0;
          if (n > 0 && !(document.querySelector('[data-testid="assistant-message"]')?.classList.contains("thinking-only") ?? true) && growth[growth.length - 1] !== n) growth.push(n);
        }).observe(document.getElementById("conversation")!, { subtree: true, childList: true, characterData: true });
      });

      // Start the microphone: the fake device starts playing the WAV now.
      await page.click('[data-testid="mic-button"]');
      await page.waitForSelector('[data-testid="mic-button"][data-mic="on"]', { timeout: 10_000 });

      // 1. The user's transcript appears (the fake STT answers a fixed sentence about the weather).
      const user = page.locator('[data-testid="user-message"]').first();
      await user.waitFor({ timeout: 30_000 });
      expect(await user.textContent()).toMatch(/weather/i);
      expect(await user.getAttribute("data-source")).toBe("voice");

      // 2. The reply streams in and 3. its audio plays to the end.
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.repliesFinished ?? 0) >= 1, null, { timeout: 60_000 });
      const stats = (await hooks(page)).stats;
      const turn = stats.turns[0]!;
      const growth = await page.evaluate(() => (window as TestWindow).__textGrowth ?? []);
      const replyText = (await page.locator('[data-testid="assistant-message"] .bubble').first().textContent()) ?? "";
      expect(replyText).toMatch(/I heard you say/);
      expect(growth.length, `assistant text lengths seen: ${growth.join(",")}`).toBeGreaterThanOrEqual(3);
      expect(turn.status).toBe("complete");
      expect(turn.segmentsReceived).toBeGreaterThanOrEqual(2);
      expect(turn.segmentsPlayed).toBe(turn.segmentsReceived);
      expect(stats.playedMs).toBeGreaterThan(0);
      // Everything the server sent was played: the played duration matches the segment headers.
      expect(Math.abs(turn.playedMs - turn.expectedMs)).toBeLessThan(turn.expectedMs * 0.01 + 5);
      expect(turn.underruns, "underruns mid-reply").toBe(0);
      expect(stats.underruns).toBe(0);
      expect(stats.framesSent).toBeGreaterThan(50);

      // 4. The per-turn time to first audio (and cost, backend) is shown.
      const firstAudio = page.locator('[data-testid="first-audio"]').first();
      await firstAudio.waitFor();
      expect(await firstAudio.textContent()).toMatch(/First audio \d+(\.\d+)? m?s/);
      expect(turn.clientFirstAudioMs).not.toBeNull();
      expect(turn.clientFirstAudioMs!).toBeGreaterThan(0);
      expect(turn.clientFirstAudioMs!).toBeLessThan(5_000);
      await page.locator('[data-testid="turn-cost"]').first().waitFor();
      await page.locator('[data-testid="turn-backend"]').first().waitFor();
      expect(await page.getAttribute('[data-testid="state-indicator"]', "data-state")).toBe("listening");

      await page.screenshot({ path: resolve(ARTIFACTS, "voice-chat.png") });
      console.log(
        `[e2e] end of speech -> first reply audio played: ${turn.clientFirstAudioMs!.toFixed(0)} ms ` +
          `(server end of turn -> first audio sent: ${turn.serverFirstAudioMs} ms); reply ${turn.playedMs.toFixed(0)} ms in ` +
          `${turn.segmentsPlayed} segments, context ${stats.contextSampleRate} Hz, ${stats.framesSent} frames sent`,
      );

      // 5. Reconnect: the connection drops; microphone audio is dropped meanwhile (not sent late);
      //    the conversation is re-rendered from the server's history and the state restored.
      const dropped = stats.framesDropped;
      await page.evaluate(() => (window as TestWindow).__parley!.debug.dropConnection());
      await page.waitForFunction(() => (window as TestWindow).__parley?.connection !== "ready", null, { timeout: 5_000 });
      await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
      const after = await hooks(page);
      expect(after.log.some((l) => l.includes("connection reconnecting"))).toBe(true);
      expect(after.stats.framesDropped).toBeGreaterThan(dropped);
      expect(await page.locator('[data-testid="user-message"]').count()).toBe(1);
      expect(await page.locator('[data-testid="assistant-message"]').count()).toBe(1);
      expect(await page.locator('[data-testid="user-message"]').first().textContent()).toMatch(/weather/i);
      expect(await page.locator('[data-testid="assistant-message"] .bubble').first().textContent()).toBe(replyText);
      await page.waitForSelector('[data-testid="state-indicator"][data-state="listening"]', { timeout: 5_000 });
      expect(problems).toEqual([]);
      await page.close();
    },
    120_000,
  );

  it(
    "push-to-talk: holding Space sends audio only while held (with pre-roll and a short tail), release commits the turn",
    async () => {
      const ptt = await launchWithFakeMic(JOKE_WAV, { width: 390, height: 844 });
      try {
        const page = await ptt.context.newPage();
        const problems = await openSession(page, "e2e-ptt");
        await page.click('[data-testid="mode-ptt"]');
        expect(await page.getAttribute('[data-testid="mode-ptt"]', "aria-checked")).toBe("true");
        await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
        await page.click('[data-testid="mic-button"]');
        await page.waitForSelector('[data-testid="mic-button"][data-mic="on"]', { timeout: 10_000 });
        await page.waitForTimeout(300);
        expect((await hooks(page)).stats.framesSent).toBe(0); // not held: nothing goes upstream
        await page.keyboard.down("Space");
        await page.waitForSelector('[data-testid="state-indicator"][data-state="user-speaking"]', { timeout: 2_000 });
        await page.waitForTimeout(2_000);
        await page.keyboard.up("Space");
        await page.waitForTimeout(400);
        const sent = (await hooks(page)).stats.framesSent;
        // 300 ms pre-roll + 2 s held + 150 ms tail = ~122 frames of 20 ms.
        expect(sent).toBeGreaterThan(105);
        expect(sent).toBeLessThan(140);
        await page.locator('[data-testid="user-message"][data-source="voice"]').first().waitFor({ timeout: 20_000 });
        await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.playedMs ?? 0) > 0, null, { timeout: 20_000 });
        await page.locator('[data-testid="first-audio"]').first().waitFor({ timeout: 20_000 });
        expect((await hooks(page)).stats.framesSent).toBe(sent); // nothing after the release
        await page.screenshot({ path: resolve(ARTIFACTS, "voice-chat-ptt-phone.png") });
        expect(problems).toEqual([]);
      } finally {
        await ptt.close();
      }
    },
    90_000,
  );

  it(
    "barge-in: talking over the reply stops playback within 100 ms of detection, cancels it, and the new turn is answered",
    async () => {
      // "Tell me a joke." -> 3.2 s pause (the reply starts playing) -> "What is the weather like today?" over the reply.
      const wav = resolve(ARTIFACTS, "barge-in-mic.wav");
      const joke = readWav(JOKE_WAV);
      writeWav(wav, concatWav([joke, silence(joke.sampleRate, 3_200), readWav(SPEECH_WAV), silence(joke.sampleRate, 1_000)]));
      const b = await launchWithFakeMic(wav);
      try {
        const page = await b.context.newPage();
        const problems = await openSession(page, "e2e-barge-in");
        await page.click('[data-testid="mic-button"]');
        await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.bargeIns ?? 0) >= 1, null, { timeout: 30_000 });
        const h = await hooks(page);
        const first = h.stats.turns[0]!;
        expect(first.playedMs).toBeGreaterThan(0);
        expect(first.playedMs).toBeLessThan(first.expectedMs); // cut mid-reply
        expect(h.stats.lastStopMs!).toBeLessThan(100);
        expect(h.stats.lastBargeInMs!).toBeLessThan(250); // from the first voiced frame: 80 ms onset + detection + fade
        await page.locator('[data-testid="assistant-message"].interrupted').first().waitFor({ timeout: 5_000 });
        // The interrupting sentence is a turn of its own and gets an answer.
        await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-message"]').length >= 2, null, { timeout: 20_000 });
        await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.turns.length ?? 0) >= 2 && (window as TestWindow).__parley!.stats.turns[1]!.segmentsPlayed > 0, null, { timeout: 20_000 });
        console.log(`[e2e] barge-in: playback silent ${h.stats.lastBargeInMs!.toFixed(0)} ms after the user began talking (${h.stats.lastStopMs!.toFixed(1)} ms after detection)`);
        await page.screenshot({ path: resolve(ARTIFACTS, "voice-chat-barge-in.png") });
        expect(problems).toEqual([]);
      } finally {
        await b.close();
      }
    },
    90_000,
  );

  it(
    "typed input gets a spoken reply, and Stop cuts it within 100 ms and marks it interrupted",
    async () => {
      const page = await e2e.browser.context.newPage();
      const problems = await openSession(page, "e2e-stop");
      await page.fill('[data-testid="text-input"]', "Tell me a long story please");
      await page.press('[data-testid="text-input"]', "Enter");
      await page.locator('[data-testid="user-message"][data-source="text"]').first().waitFor({ timeout: 10_000 });
      // Wait until reply audio has been playing for a little while, then press Stop.
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.playedMs ?? 0) > 300, null, { timeout: 30_000 });
      await page.click('[data-testid="stop"]');
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.repliesStopped ?? 0) >= 1, null, { timeout: 5_000 });
      const h = await hooks(page);
      expect(h.stats.lastStopMs).not.toBeNull();
      expect(h.stats.lastStopMs!).toBeLessThan(100);
      const turn = h.stats.turns[0]!;
      expect(turn.playedMs).toBeGreaterThan(0);
      expect(turn.playedMs).toBeLessThan(turn.expectedMs);
      // Nothing more plays for that reply.
      const before = h.stats.playedMs;
      await page.waitForTimeout(400);
      expect((await hooks(page)).stats.playedMs).toBe(before);
      await page.locator('[data-testid="assistant-message"].interrupted').first().waitFor({ timeout: 5_000 });
      // The stored conversation keeps only what was heard, the whole planned reply beside it.
      const record = (await (await fetch(`${e2e.server.url}/api/sessions/${h.sessionId}`)).json()) as {
        messages: { role: string; text: string; plannedText?: string; status: string }[];
      };
      const reply = record.messages.find((m) => m.role === "assistant")!;
      expect(reply.status).toBe("interrupted");
      expect(reply.plannedText).toBeDefined();
      expect(reply.plannedText!.startsWith(reply.text)).toBe(true);
      expect(reply.text.length).toBeLessThan(reply.plannedText!.length);
      await page.screenshot({ path: resolve(ARTIFACTS, "voice-chat-stopped.png") });
      expect(problems).toEqual([]);
      await page.close();
    },
    60_000,
  );
});
