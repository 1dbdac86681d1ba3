// The session review page in real Chromium against `vite dev` with the fake Workers AI: a typed turn cut
// by Stop (an interrupted reply) and one played out; the live page strikes the unheard words as soon as
// the reply is cut, a reload restores every turn's tags (the client's own first audio too), and the
// review page (/s/<id>/review: owner; share link: read-only) shows the same struck-through words through
// the same renderer, a latency waterfall per turn, and the session summary. Screenshots (light and dark)
// in test/artifacts/.
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { ParleyTestHooks } from "../../client/test-hooks.ts";
import { ROOT } from "./dev-server.ts";
import { ARTIFACTS, useE2eSession, watchProblems } from "./e2e-session.ts";

const SPEECH_WAV = resolve(ROOT, "test/fixtures/what-is-the-weather.wav");

type TestWindow = Window & { __parley?: ParleyTestHooks };

const e2e = useE2eSession(SPEECH_WAV, async () => ({ ai: "fake" }));

const hooks = (page: Page) => page.evaluate(() => JSON.parse(JSON.stringify((window as TestWindow).__parley)) as ParleyTestHooks);

const watch = (page: Page) => watchProblems(page, e2e);

async function type(page: Page, text: string): Promise<void> {
  await page.fill('[data-testid="text-input"]', text);
  await page.press('[data-testid="text-input"]', "Enter");
}

/** How the first reply's words are shown: heard, unheard, and whether the unheard words are struck through. */
async function firstReply(page: Page) {
  const reply = page.locator('[data-testid="assistant-message"]').first();
  const unspoken = reply.locator(".bubble .unspoken");
  return {
    heard: (await reply.locator(".bubble .spoken").textContent()) ?? "",
    unheard: (await unspoken.textContent()) ?? "",
    struck: await unspoken.evaluate((n) => getComputedStyle(n).textDecorationLine.includes("line-through")),
    interrupted: await reply.evaluate((n) => n.classList.contains("interrupted")),
  };
}

/** Every waterfall: its bars' stages in order, their x and width. */
function waterfalls(page: Page) {
  return page.locator('[data-testid="waterfall"]').evaluateAll((charts) =>
    charts.map((c) =>
      [...c.querySelectorAll('[data-testid="waterfall-bar"]')].map((b) => ({
        stage: b.getAttribute("data-stage")!,
        ms: Number(b.getAttribute("data-ms")),
        x: Number(b.getAttribute("x")),
        width: Number(b.getAttribute("width")),
        fill: getComputedStyle(b).fill,
      })),
    ),
  );
}

const summary = (page: Page, stat: string) => page.locator(`[data-testid="summary-${stat}"] .stat-value`).textContent();

describe("session review page in Chromium", () => {
  it("an interrupted reply is struck through live, after a reload and on the review page; waterfalls and summary come from stored metrics; a share link opens it read-only", async () => {
    const page = await e2e.browser.context.newPage();
    const problems = watch(page);
    await page.goto(`${e2e.server.url}/`);
    await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });

    // 1. A long reply, stopped while it plays: the unheard rest is struck through at once on the live page.
    await type(page, "Tell me a long story please");
    await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.playedMs ?? 0) > 300, null, { timeout: 30_000 });
    await page.click('[data-testid="stop"]');
    await page.locator('[data-testid="assistant-message"].interrupted').first().waitFor({ timeout: 5_000 });
    const cut = await firstReply(page);
    expect(cut.interrupted).toBe(true);
    expect(cut.unheard.trim().length).toBeGreaterThan(0);
    expect(cut.struck).toBe(true);
    // The server's word on what was heard: still struck, heard text a prefix of the planned reply.
    await page.waitForFunction(
      () => (window as TestWindow).__parley?.log.some((l) => / reply-heard .* interrupted /.test(l)) ?? false,
      null,
      { timeout: 10_000 },
    );
    const live = await firstReply(page);
    expect(live.struck).toBe(true);
    expect(live.heard.length).toBeGreaterThan(0);
    expect(live.unheard.trim().length).toBeGreaterThan(0);

    // 2. A short reply played out.
    await type(page, "Thanks");
    await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.repliesFinished ?? 0) >= 1, null, { timeout: 30_000 });
    await page.waitForFunction(() => ((window as TestWindow).__parley?.log.filter((l) => / reply-heard /.test(l)).length ?? 0) >= 2, null, {
      timeout: 10_000,
    });
    const h = await hooks(page);
    const clientMs = h.stats.turns.map((t) => t.clientFirstAudioMs);
    expect(clientMs.every((ms) => ms !== null && ms > 0)).toBe(true);

    // 3. A reload restores every turn's tags, the first audio this browser heard included.
    await page.reload();
    await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
    await page.locator('[data-testid="assistant-message"]').nth(1).waitFor({ timeout: 10_000 });
    const tags = page.locator('[data-testid="first-audio"]');
    expect(await tags.count()).toBe(2);
    expect(await tags.evaluateAll((ts) => ts.map((t) => Number(t.getAttribute("data-client-ms"))))).toEqual(
      clientMs.map((ms) => Math.round(ms!)),
    );
    expect(await page.locator('[data-testid="turn-cost"]').count()).toBe(2);
    expect(await page.locator('[data-testid="turn-backend"]').count()).toBe(2);
    expect(await firstReply(page)).toEqual(live);

    // 4. The owner's review page, from the live page's link.
    await page.click('[data-testid="review-link"]');
    await page.waitForURL(`**/s/${h.sessionId}/review`);
    await page.locator('[data-testid="waterfall"]').nth(1).waitFor({ timeout: 10_000 });
    expect(await firstReply(page)).toEqual(live);
    expect(await page.locator('[data-testid="dock"], #dock').first().isHidden()).toBe(true);
    expect(await summary(page, "turns")).toBe("2");
    const p50 = Math.round([...clientMs].sort((a, b) => a! - b!)[0]!);
    const p95 = Math.round(Math.max(...clientMs.map((ms) => ms!)));
    expect(await summary(page, "first-audio")).toBe(`p50 ${p50} ms · p95 ${p95} ms`);
    expect(await summary(page, "cost")).toMatch(/^(\$|<\$)/);
    expect(await page.locator('[data-testid="summary-cost"] .stat-note').textContent()).toMatch(/^[\d,]+ neurons$/);
    expect(await summary(page, "interruptions")).toBe("0 confirmed · 0 resumed");
    const charts = await waterfalls(page);
    expect(charts).toHaveLength(2);
    for (const bars of charts) {
      // Typed turns: no end-of-turn wait or speech-to-text; LLM, first sentence, TTS and the client's share, in order.
      expect(bars.map((b) => b.stage)).toEqual(["llm", "first-chunk", "tts", "client"]);
      for (let i = 1; i < bars.length; i++) expect(bars[i]!.x).toBeGreaterThanOrEqual(bars[i - 1]!.x);
      expect(bars.every((b) => b.width > 0)).toBe(true);
    }
    expect(await page.locator('[data-testid="state-indicator"]').textContent()).toMatch(/Review — not live/);
    const lightFill = charts[0]![0]!.fill;
    // Tall enough for the whole conversation (it scrolls inside the page).
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.screenshot({ path: resolve(ARTIFACTS, "review-page.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    const darkFill = (await waterfalls(page))[0]![0]!.fill;
    expect(darkFill).not.toBe(lightFill); // the stage colours follow the theme
    await page.screenshot({ path: resolve(ARTIFACTS, "review-page-dark.png"), fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });

    // 5. A share link opens the same review read-only: no way back to the live conversation, no dock.
    const grant = (await (
      await fetch(`${e2e.server.url}/api/sessions/${h.sessionId}/review-key`, {
        method: "POST",
        headers: { Authorization: `Bearer ${h.sessionKey}` },
      })
    ).json()) as { reviewKey: string };
    const shared = await e2e.browser.context.newPage();
    const sharedProblems = watch(shared);
    await shared.goto(`${e2e.server.url}/s/${h.sessionId}/review#review=${encodeURIComponent(grant.reviewKey)}`);
    await shared.locator('[data-testid="waterfall"]').nth(1).waitFor({ timeout: 10_000 });
    expect(await shared.locator(".banner").first().textContent()).toMatch(/read-only/);
    expect(await shared.locator('[data-testid="live-link"]').count()).toBe(0);
    expect(await firstReply(shared)).toEqual(live);
    expect(await summary(shared, "first-audio")).toBe(`p50 ${p50} ms · p95 ${p95} ms`);
    expect((await waterfalls(shared)).map((bars) => bars.map((b) => b.ms))).toEqual(charts.map((bars) => bars.map((b) => b.ms)));
    // The replies' recordings play there, fetched with the share link's key; typed turns have no "▶ You".
    expect(await shared.locator('[data-testid="play-user"]').count()).toBe(0);
    const plays = shared.locator('[data-testid="play-reply"]');
    expect(await plays.count()).toBe(2);
    const playing = () =>
      shared.evaluate(() => {
        const audio = document.querySelector<HTMLAudioElement>('[data-testid="recording-audio"]');
        return {
          blob: audio?.src.startsWith("blob:") ?? false,
          buttons: [...document.querySelectorAll('[data-testid="play-reply"]')].map((b) => b.getAttribute("data-state")),
        };
      });
    await plays.nth(1).click();
    await shared.waitForFunction(
      () => (document.querySelector<HTMLAudioElement>('[data-testid="recording-audio"]')?.currentTime ?? 0) > 0,
      null,
      { timeout: 10_000 },
    );
    expect(await playing()).toEqual({ blob: true, buttons: [null, "playing"] });
    // One plays at a time: the other button takes over.
    await plays.nth(0).click();
    await shared.waitForFunction(
      () => document.querySelector('[data-testid="play-reply"]')?.getAttribute("data-state") === "playing",
      null,
      { timeout: 10_000 },
    );
    expect(await plays.nth(1).textContent()).toBe("▶ Reply");
    expect((await playing()).buttons[1]).toBeNull();
    await shared.screenshot({ path: resolve(ARTIFACTS, "review-page-shared.png"), fullPage: true });
    expect(problems).toEqual([]);
    expect(sharedProblems).toEqual([]);
    await shared.close();
    await page.close();
  }, 120_000);
});
