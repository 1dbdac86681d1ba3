// An open tab nobody uses stops costing money: with IDLE_CLOSE_MS short, the server closes the idle
// session (close code 4408), the page does not reconnect by itself, says so, releases the microphone,
// and picks the conversation up again when the user types or presses Resume.
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { ParleyTestHooks } from "../../client/test-hooks.ts";
import { ROOT } from "./dev-server.ts";
import { ARTIFACTS, useE2eSession } from "./e2e-session.ts";

const IDLE_CLOSE_MS = 3_000;
const SILENT_WAV = resolve(ROOT, "test/fixtures/tell-me-a-joke.wav");
const e2e = useE2eSession(SILENT_WAV, async () => ({ ai: "fake", env: { PARLEY_VAR_IDLE_CLOSE_MS: String(IDLE_CLOSE_MS) } }));

type TestWindow = Window & { __parley?: ParleyTestHooks; __connections?: string[] };

const connection = (page: Page) => page.evaluate(() => (window as TestWindow).__parley?.connection ?? "");

async function typeAndWaitForReply(page: Page, text: string, replies: number): Promise<void> {
  await page.fill('[data-testid="text-input"]', text);
  await page.press('[data-testid="text-input"]', "Enter");
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid="assistant-message"]:not(.thinking-only)').length >= n,
    replies,
    { timeout: 20_000 },
  );
}

describe("an idle session in Chromium", () => {
  it("is closed by the server after IDLE_CLOSE_MS, stays closed with a Resume banner, and typing resumes it with the conversation intact", async () => {
    const page = await e2e.browser.context.newPage();
    page.on("console", (m) => e2e.consoleLines.push(`${m.type()}: ${m.text()}`));
    await page.goto(`${e2e.server.url}/`);
    await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 20_000 });
    await typeAndWaitForReply(page, "Remember the word lighthouse.", 1);

    await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "asleep", null, { timeout: IDLE_CLOSE_MS + 15_000 });
    await page.evaluate(() => {
      const w = window as TestWindow;
      const seen: string[] = [];
      w.__connections = seen;
      setInterval(() => {
        const c = w.__parley?.connection ?? "";
        if (seen[seen.length - 1] !== c) seen.push(c);
      }, 50);
    });
    await expect.poll(() => page.locator('[data-testid="banner-connection"]').textContent()).toContain("Paused — nobody spoke for a while");
    expect(await page.getAttribute('[data-testid="state-indicator"]', "data-state")).toBe("idle");
    await page.screenshot({ path: resolve(ARTIFACTS, "idle-asleep.png") });
    // No reconnect by itself: an idle tab must not keep the session billed.
    await page.waitForTimeout(2_500);
    expect(await page.evaluate(() => (window as TestWindow).__connections)).toEqual(["asleep"]);

    await typeAndWaitForReply(page, "What word did I ask you to remember?", 2);
    expect(await connection(page)).toBe("ready");
    expect(await page.locator('[data-testid="banner-connection"]').count()).toBe(0);
    const users = await page.locator('[data-testid="user-message"]').allTextContents();
    expect(users.join(" | ")).toMatch(/Remember the word lighthouse\..*What word did I ask you to remember\?/);
    await page.close();
  }, 90_000);
});
