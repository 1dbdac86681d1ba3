// Reviewing a phone call in real Chromium against `vite dev` with the fake Workers AI: a call placed
// by `npm run phone:sim` has no owner, so only the operator finds it. With the operator key typed on
// the conversations page (kept for the tab), the call is listed with the caller masked, and its row
// opens the review page read-only, with the call's line (masked caller, length, how it ended, cost).
// The full number appears nowhere. Screenshot in test/artifacts/.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { operatorKey } from "../../server/access/session-keys.ts";
import { existingLocalSecret } from "../../scripts/local-secrets.ts";
import { ROOT } from "./dev-server.ts";
import { ARTIFACTS, useE2eSession, watchProblems } from "./e2e-session.ts";

const SPEECH_WAV = resolve(ROOT, "test/fixtures/what-is-the-weather.wav");
const e2e = useE2eSession(SPEECH_WAV, async () => ({ ai: "fake", env: { FAKE_STT_TRANSCRIPTS: "Please book a table for two." } }));

function phoneSim(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "scripts/phone-sim.ts", ...args], { cwd: ROOT });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stdout += d.toString()));
    child.on("exit", (code) => done({ code, stdout }));
  });
}

describe("reviewing a phone call in Chromium", () => {
  it("the operator key lists the call under the masked caller and opens its review page read-only with the call's line; the number is never shown", async () => {
    const caller = `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`;
    const masked = `+1${"•".repeat(6)}${caller.slice(-4)}`;
    const sim = await phoneSim([
      "--url",
      e2e.server.url,
      "--caller",
      caller,
      "--out",
      join(mkdtempSync(join(tmpdir(), "parley-phone-review-")), "heard.wav"),
    ]);
    expect(sim.code, sim.stdout).toBe(0);
    const sessionId = /session ([a-z2-7]{26})/.exec(sim.stdout)![1]!;

    const page = await e2e.browser.context.newPage();
    const problems = watchProblems(page, e2e);
    await page.goto(`${e2e.server.url}/conversations`);
    await page.click(".conversations-admin summary");
    await page.fill('[data-testid="operator-key"]', await operatorKey(existingLocalSecret("sessionSecret")!));
    await page.press('[data-testid="operator-key"]', "Tab");
    const row = page.locator(`tr.conversation-row[data-id="${sessionId}"]`);
    // The index is written after the call's turn settles: reload the list until it is there.
    for (let i = 0; i < 40 && (await row.count()) === 0; i++) {
      await page.waitForTimeout(250);
      await page.fill('[data-testid="conversation-search"]', "book a table");
      await page.press('[data-testid="conversation-search"]', "Enter");
    }
    await row.waitFor({ timeout: 5_000 });
    expect(await row.locator('[data-testid="conversation-phone"]').textContent()).toBe(`☎ ${masked}`);

    await row.locator('[data-testid="conversation-link"]').click();
    await page.waitForURL(`**/s/${sessionId}/review`);
    const calls = page.locator('[data-testid="phone-calls"] li');
    await calls.first().waitFor({ timeout: 10_000 });
    expect(await calls.count()).toBe(1);
    expect(await calls.first().textContent()).toMatch(
      new RegExp(`^☎ Phone call from \\+1•{6}${caller.slice(-4)} · .+ · \\d+ s, the caller hung up · (\\$|<\\$)`),
    );
    expect(await page.locator(".banner").first().textContent()).toMatch(/operator key \(read-only\)/);
    expect(await page.locator('[data-testid="state-indicator"]').textContent()).toMatch(/Read-only — operator key/);
    expect(await page.locator('[data-testid="assistant-message"]').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="live-link"]').count()).toBe(0);
    expect(await page.content()).not.toContain(caller.slice(2));
    // No key of any kind in the address bar.
    expect(page.url()).toBe(`${e2e.server.url}/s/${sessionId}/review`);
    await page.screenshot({ path: resolve(ARTIFACTS, "review-page-phone.png"), fullPage: true });
    // The one expected error: the list's first load in this fresh browser, before the key was typed (401 key_required).
    expect(problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    expect(problems.length).toBeLessThanOrEqual(1);
    await page.close();
  }, 120_000);
});
