// The offline path in a real browser: `vite dev` with the local stand-in (what `npm start` runs —
// PocketSphinx, the offline responder, flite), Chromium with a fake microphone speaking a flite WAV.
// A person opening the printed URL gets a spoken answer, labelled as coming from the stand-in.
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { ParleyTestHooks } from "../../client/test-hooks.ts";
import { ROOT, freePort } from "./dev-server.ts";
import { ARTIFACTS, useE2eSession } from "./e2e-session.ts";

/** "What is the weather like today?" (flite slt, 16 kHz), then the fake microphone is silent. */
const SPEECH_WAV = resolve(ROOT, "test/fixtures/what-is-the-weather.wav");

type TestWindow = Window & { __parley?: ParleyTestHooks };

// The offline responder, whatever LOCAL_LLM_URL this machine's shell has set.
const e2e = useE2eSession(SPEECH_WAV, async () => ({ ai: "local", env: { LOCAL_AI_PORT: String(await freePort()), LOCAL_LLM_URL: "" } }));

describe("offline voice chat in Chromium (local stand-in engines)", () => {
  it("a spoken question gets a spoken answer from the stand-in, and the page says which backend answered", async () => {
    const page = await e2e.browser.context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => e2e.consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(`${e2e.server.url}/`);
    await page.waitForFunction(() => (window as TestWindow).__parley?.connection === "ready", null, { timeout: 30_000 });

    // The header never presents the stand-in as Workers AI's models.
    expect(await page.locator("#models").textContent()).toMatch(/Offline stand-in/);
    await page.click('[data-testid="mic-button"]');
    const user = page.locator('[data-testid="user-message"]').first();
    await user.waitFor({ timeout: 40_000 });
    // PocketSphinx (general model) hears the flite sentence through the browser's capture path.
    expect(await user.textContent()).toMatch(/weather/i);

    await page.waitForFunction(() => ((window as TestWindow).__parley?.stats.repliesFinished ?? 0) >= 1, null, { timeout: 60_000 });
    const stats = (await page.evaluate(() => JSON.parse(JSON.stringify((window as TestWindow).__parley)) as ParleyTestHooks)).stats;
    const turn = stats.turns[0]!;
    expect(turn.status).toBe("complete");
    expect(turn.segmentsPlayed).toBeGreaterThanOrEqual(1);
    expect(turn.playedMs).toBeGreaterThan(500);
    expect(turn.underruns).toBe(0);
    expect(turn.backend).toMatch(/local stand-in/);
    expect(turn.backend).toMatch(/pocketsphinx/);
    expect(turn.backend).toMatch(/offline-responder/);
    const reply = (await page.locator('[data-testid="assistant-message"] .bubble').first().textContent()) ?? "";
    expect(reply).toMatch(/offline stand-in/i);
    expect(await page.locator('[data-testid="turn-backend"]').first().textContent()).toMatch(/local/i);
    // Nothing the stand-in answers is billed.
    expect(await page.locator('[data-testid="turn-cost"]').first().textContent()).toMatch(/^\$0 · 0 neurons$/);
    await page.screenshot({ path: resolve(ARTIFACTS, "offline-voice-chat.png") });
    console.log(
      `[e2e offline] end of speech -> first reply audio played: ${turn.clientFirstAudioMs?.toFixed(0)} ms; heard "${await user.textContent()}"`,
    );
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
