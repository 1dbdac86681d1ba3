// End-to-end in a real browser: Debian Chromium (playwright-core) with a fake microphone playing a
// speech WAV, against `vite dev` (Worker + VoiceSession Durable Object in workerd) with the
// deterministic fake Workers AI (PARLEY_AI=fake). The page is the real client: capture worklet ->
// 16 kHz PCM16 frames -> server VAD/STT/LLM/TTS -> segments -> playback worklet.
// Interruptions: the fake STT hears any utterance shorter than FAKE_STT_SHORT_MS as "Uh-huh." (a
// backchannel), longer ones as its default sentence, so one session tests both a confirmed
// interruption and a dismissed one. Saves screenshots in test/artifacts/ (ignored by git).
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { ParleyTestHooks } from "../../client/test-hooks.ts";
import { launchWithFakeMic } from "./chromium.ts";
import { ROOT } from "./dev-server.ts";
import { ARTIFACTS, useE2eSession } from "./e2e-session.ts";
import { concatWav, durationMs, fliteSpeech, readWav, silence, writeWav, type Pcm16 } from "./wav-tools.ts";

/** "What is the weather like today?" (flite slt, 16 kHz): 200 ms silence, 1.6 s speech, 600 ms silence; then the fake mic is silent. */
const SPEECH_WAV = resolve(ROOT, "test/fixtures/what-is-the-weather.wav");
/** "Tell me a joke." (flite rms): 200 ms silence, 1.0 s speech, 600 ms silence. */
const JOKE_WAV = resolve(ROOT, "test/fixtures/tell-me-a-joke.wav");

type TestWindow = Window & { __parley?: ParleyTestHooks; __textGrowth?: number[]; __seen?: { states: string[]; pausedReply: boolean } };

/**
 * A short utterance becomes "Uh-huh." (its utterance audio, with the server's 300 ms pre-roll and
 * 500 ms of endpointing silence, is ~1.3 s for flite's "Uh-huh."); whole sentences stay longer
 * (the weather sentence alone is 1.6 s of speech).
 */
const FAKE_STT = { FAKE_STT_SHORT_MS: "1500", FAKE_STT_SHORT_TRANSCRIPT: "Uh-huh." };

const e2e = useE2eSession(SPEECH_WAV, async () => ({ ai: "fake", env: FAKE_STT }));

/** Open the app at / : the client creates a session (POST /api/sessions) and keeps its owner key. */
async function openSession(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on("console", (m) => e2e.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/favicon/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${e2e.server.url}/`);
  await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
  return problems;
}

const hooks = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify((window as TestWindow).__parley)) as ParleyTestHooks);

/** A fake-mic WAV: `leadMs` of silence (the typed turn's reply starts meanwhile), `speech` over the reply, then silence. */
function micOverReply(name: string, leadMs: number, speech: Pcm16): string {
  const wav = resolve(ARTIFACTS, name);
  writeWav(wav, concatWav([silence(speech.sampleRate, leadMs), speech, silence(speech.sampleRate, 1_000)]));
  return wav;
}

/**
 * Start the mic (the fake device starts its WAV now) and type the first turn, so the reply plays
 * while the WAV is still silent. Typed, not spoken: the fake's reply quotes the user's words, and a
 * spoken first turn would be quoted as the fake STT's default sentence, the very words the
 * interrupting speech is heard as, so the server would rightly take them for the reply's echo.
 */
async function typeFirstTurnWithMicOn(page: Page): Promise<void> {
  await page.click('[data-testid="mic-button"]');
  await page.waitForSelector('[data-testid="mic-button"][data-mic="on"]', { timeout: 10_000 });
  await page.fill('[data-testid="text-input"]', "Tell me a long story please");
  await page.press('[data-testid="text-input"]', "Enter");
}

/** Record every state the indicator shows and whether a reply ever looked paused. */
async function watchPauseLook(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as TestWindow;
    const seen = { states: [] as string[], pausedReply: false };
    w.__seen = seen;
    const check = () => {
      const state = document.querySelector('[data-testid="state-indicator"]')?.getAttribute("data-state") ?? "";
      if (seen.states[seen.states.length - 1] !== state) seen.states.push(state);
      if (document.querySelector('[data-testid="assistant-message"].paused [data-testid="paused-note"]')) seen.pausedReply = true;
    };
    new MutationObserver(check).observe(document.body, { subtree: true, attributes: true, childList: true });
  });
}

/** Playback of the first reply is over: the server said what was heard (and the final status). */
async function waitForReplyHeard(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as TestWindow).__parley?.log.some((l) => / reply-heard /.test(l)) ?? false, null, {
    timeout: 10_000,
  });
}

/** The order in which log lines matching these patterns first appear (-1: never). */
function firstLines(log: string[], patterns: RegExp[]): number[] {
  return patterns.map((p) => log.findIndex((l) => p.test(l)));
}

/** How the reply's words are shown: heard, and planned but not heard. */
async function bubbleParts(page: Page) {
  const reply = page.locator('[data-testid="assistant-message"]').first();
  return {
    heard: (await reply.locator(".bubble .spoken").textContent()) ?? "",
    unheard: (await reply.locator(".bubble .unspoken").textContent()) ?? "",
    classes: ((await reply.getAttribute("class")) ?? "")
      .split(/\s+/)
      .filter((c) => c === "interrupted" || c === "failed")
      .sort(),
  };
}

describe("voice chat in Chromium with a fake microphone", () => {
  it("speaks a sentence: transcript, streamed reply, reply audio played without underruns, time to first audio shown", async () => {
    const page = await e2e.browser.context.newPage();
    const problems = await openSession(page);
    // Record how the assistant's text grows, to check it streams in rather than appearing at once.
    await page.evaluate(() => {
      const w = window as TestWindow;
      const growth: number[] = [];
      w.__textGrowth = growth;
      new MutationObserver(() => {
        const n = document.querySelector('[data-testid="assistant-message"] .bubble .spoken')?.parentElement?.textContent?.length ?? 0;
        if (
          n > 0 &&
          !(document.querySelector('[data-testid="assistant-message"]')?.classList.contains("thinking-only") ?? true) &&
          growth[growth.length - 1] !== n
        )
          growth.push(n);
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
    // Listening once the server has the client's "finished" report: one round trip after playback ends.
    await page.waitForSelector('[data-testid="state-indicator"][data-state="listening"]', { timeout: 5_000 });

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

    // 6. Reopening the session's link in this browser reconnects with the stored owner key.
    const { sessionId, sessionKey } = await hooks(page);
    expect(page.url()).toBe(`${e2e.server.url}/s/${sessionId}`);
    await page.goto(`${e2e.server.url}/s/${sessionId}`);
    await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
    await page.locator('[data-testid="assistant-message"]').first().waitFor({ timeout: 5_000 });
    expect(problems).toEqual([]);
    await page.close();

    // 7. A share link opens the transcript read-only (no dock, no live socket); rotating revokes it.
    const grant = (await (
      await fetch(`${e2e.server.url}/api/sessions/${sessionId}/review-key`, {
        method: "POST",
        headers: { Authorization: `Bearer ${sessionKey}` },
      })
    ).json()) as { reviewKey: string };
    const review = await e2e.browser.context.newPage();
    review.on("console", (m) => e2e.consoleLines.push(`review ${m.type()}: ${m.text()}`));
    await review.goto(`${e2e.server.url}/s/${sessionId}#review=${encodeURIComponent(grant.reviewKey)}`);
    await review.locator('[data-testid="assistant-message"]').first().waitFor({ timeout: 10_000 });
    expect(await review.locator('[data-testid="user-message"]').first().textContent()).toMatch(/weather/i);
    expect(await review.locator("#dock").isHidden()).toBe(true);
    expect(await review.locator('[data-testid="state-indicator"]').textContent()).toMatch(/Read-only/);
    expect((await hooks(review)).connection).not.toBe("ready");
    await fetch(`${e2e.server.url}/api/sessions/${sessionId}/review-key/rotate`, {
      method: "POST",
      headers: { Authorization: `Bearer ${sessionKey}` },
    });
    await review.reload();
    await review.getByText("Its owner revoked this share link.").waitFor({ timeout: 10_000 });
    expect(await review.locator('[data-testid="assistant-message"]').count()).toBe(0);
    await review.close();
  }, 120_000);

  it("push-to-talk: holding Space sends audio only while held (with pre-roll and a short tail), release commits the turn", async () => {
    const ptt = await launchWithFakeMic(JOKE_WAV, { width: 390, height: 844 });
    try {
      const page = await ptt.context.newPage();
      const problems = await openSession(page);
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
  }, 90_000);

  it("barge-in: talking over the reply pauses it at once, the server confirms, the reply stops where it paused and the new turn is answered", async () => {
    const b = await launchWithFakeMic(micOverReply("barge-in-mic.wav", 4_500, readWav(SPEECH_WAV)));
    try {
      const page = await b.context.newPage();
      const problems = await openSession(page);
      await watchPauseLook(page);
      await typeFirstTurnWithMicOn(page);
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.confirmedInterruptions ?? 0) >= 1, null, {
        timeout: 30_000,
      });
      // The confirmed reply's playback has stopped for good (where it was held).
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.repliesStopped ?? 0) >= 1, null, { timeout: 5_000 });
      const h = await hooks(page);
      const first = h.stats.turns[0]!;
      // Paused first (on the client's own detection), then confirmed by the server.
      expect(h.stats.pauses).toBe(1);
      expect(h.stats.resumes).toBe(0);
      expect(h.stats.lastPauseMs!).toBeLessThan(250); // first voiced frame -> silent: 80 ms onset + detection + fade
      expect(h.stats.lastConfirmMs!).toBeGreaterThan(h.stats.lastPauseMs!);
      const order = firstLines(h.log, [
        /^[\d.]+ playback paused/,
        /^[\d.]+ barge-in onset/,
        /^[\d.]+ interruption confirmed/,
        /^[\d.]+ confirmed interruption: stopped/,
      ]);
      expect(
        order.every((i) => i >= 0),
        h.log.join("\n"),
      ).toBe(true);
      expect([...order].sort((x, y) => x - y)).toEqual(order);
      expect((await page.evaluate(() => (window as TestWindow).__seen))!.states).toContain("paused");
      expect(first.playedMs).toBeGreaterThan(0);
      expect(first.playedMs).toBeLessThan(first.expectedMs); // cut mid-reply
      await page.locator('[data-testid="assistant-message"].interrupted').first().waitFor({ timeout: 5_000 });
      // The final status comes from `reply-heard` (the server stored it interrupted).
      await waitForReplyHeard(page);
      expect((await hooks(page)).stats.turns[0]!.status).toBe("interrupted");
      // The interrupting sentence is a turn of its own and gets an answer.
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="user-message"][data-source="voice"]').length >= 1, null, {
        timeout: 20_000,
      });
      await page.waitForFunction(
        () =>
          ((window as TestWindow).__parley?.stats.turns.length ?? 0) >= 2 &&
          (window as TestWindow).__parley!.stats.turns[1]!.segmentsPlayed > 0,
        null,
        { timeout: 20_000 },
      );
      console.log(
        `[e2e] barge-in: playback paused ${h.stats.lastPauseMs!.toFixed(0)} ms after the user began talking, ` +
          `interruption confirmed ${h.stats.lastConfirmMs!.toFixed(0)} ms after, once the speech ended (this fake hears every partial under ` +
          `${FAKE_STT.FAKE_STT_SHORT_MS} ms as "Uh-huh."; npm run bench:turns measures early confirmation) (reply cut at ${first.playedMs.toFixed(0)} of ${first.expectedMs.toFixed(0)} ms)`,
      );
      // What was heard is shown exactly as a reopened session shows it.
      const live = await bubbleParts(page);
      expect(live.classes).toEqual(["interrupted"]);
      expect(live.heard.length).toBeGreaterThan(0);
      expect(live.unheard.trim().length).toBeGreaterThan(0);
      await page.screenshot({ path: resolve(ARTIFACTS, "voice-chat-barge-in.png") });
      await page.reload();
      await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
      await page.locator('[data-testid="assistant-message"]').nth(1).waitFor({ timeout: 10_000 });
      expect(await bubbleParts(page)).toEqual(live);
      expect(problems).toEqual([]);
    } finally {
      await b.close();
    }
  }, 90_000);

  it("backchannel: a short 'uh-huh' over the reply pauses it, the server resumes it, it plays to its end, and the note stays on the reply", async () => {
    const uhHuh = await fliteSpeech("Uh-huh.", "slt");
    expect(durationMs(uhHuh)).toBeLessThan(700); // short enough for FAKE_STT_SHORT_MS with the server's padding
    const b = await launchWithFakeMic(micOverReply("backchannel-mic.wav", 4_000, uhHuh));
    try {
      const page = await b.context.newPage();
      const problems = await openSession(page);
      await watchPauseLook(page);
      await typeFirstTurnWithMicOn(page);
      // Held (not stopped) while the server decides.
      await page.waitForSelector('[data-testid="assistant-message"].paused', { timeout: 30_000 });
      await page.screenshot({ path: resolve(ARTIFACTS, "voice-chat-paused.png") });
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.resumes ?? 0) >= 1, null, { timeout: 30_000 });
      await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.repliesFinished ?? 0) >= 1, null, { timeout: 30_000 });
      await waitForReplyHeard(page);
      const h = await hooks(page);
      const turn = h.stats.turns[0]!;
      expect(h.stats.pauses).toBe(1);
      expect(h.stats.resumes).toBe(1);
      expect(h.stats.confirmedInterruptions).toBe(0);
      expect(h.stats.turns).toHaveLength(1); // not answered
      const order = firstLines(h.log, [
        /^[\d.]+ playback paused/,
        /^[\d.]+ barge-in onset/,
        /^[\d.]+ interruption resumed \(backchannel\)/,
        /^[\d.]+ playback resumed/,
      ]);
      expect(
        order.every((i) => i >= 0),
        h.log.join("\n"),
      ).toBe(true);
      expect([...order].sort((x, y) => x - y)).toEqual(order);
      const seen = (await page.evaluate(() => (window as TestWindow).__seen))!;
      expect(seen.states).toContain("paused");
      expect(seen.pausedReply).toBe(true);
      // The whole reply was played, once, plus the short rewind replayed on resume.
      expect(turn.status).toBe("complete");
      expect(turn.underruns).toBe(0);
      expect(Math.abs(turn.playedMs - turn.expectedMs)).toBeLessThan(turn.expectedMs * 0.01 + 5);
      const replayedMs = h.stats.playedMs - turn.expectedMs;
      expect(replayedMs).toBeGreaterThanOrEqual(-5);
      expect(replayedMs).toBeLessThanOrEqual(250 + 20);
      // "Uh-huh." is a note on the reply, not a turn.
      expect(await page.locator('[data-testid="user-message"]').count()).toBe(1);
      const note = page.locator('[data-testid="assistant-message"] [data-testid="backchannel"]');
      await note.waitFor({ timeout: 5_000 });
      expect(await note.textContent()).toMatch(/Uh-huh/);
      expect(await page.locator('[data-testid="assistant-message"].interrupted').count()).toBe(0);
      expect(await page.locator('[data-testid="assistant-message"].paused').count()).toBe(0);
      console.log(
        `[e2e] backchannel: playback paused ${h.stats.lastPauseMs?.toFixed(0)} ms after the user began talking; resumed and replayed ${replayedMs.toFixed(0)} ms`,
      );
      // A reopened session shows the same note and keeps the turn's tags (from the stored meta).
      const live = await bubbleParts(page);
      await page.reload();
      await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
      await note.waitFor({ timeout: 10_000 });
      expect(await note.textContent()).toMatch(/Uh-huh/);
      expect(await page.locator('[data-testid="user-message"]').count()).toBe(1);
      expect(await bubbleParts(page)).toEqual(live);
      expect(await page.locator('[data-testid="first-audio"]').first().textContent()).toMatch(/First audio \d+(\.\d+)? m?s/);
      await page.locator('[data-testid="turn-cost"]').first().waitFor({ timeout: 5_000 });
      await page.locator('[data-testid="turn-backend"]').first().waitFor({ timeout: 5_000 });
      await page.screenshot({ path: resolve(ARTIFACTS, "voice-chat-backchannel.png") });
      expect(problems).toEqual([]);
    } finally {
      await b.close();
    }
  }, 90_000);

  it("typed input gets a spoken reply, and Stop cuts it within 100 ms and marks it interrupted", async () => {
    const page = await e2e.browser.context.newPage();
    const problems = await openSession(page);
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
    const record = (await (
      await fetch(`${e2e.server.url}/api/sessions/${h.sessionId}`, { headers: { Authorization: `Bearer ${h.sessionKey}` } })
    ).json()) as {
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
  }, 60_000);
});
