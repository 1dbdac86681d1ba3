// Launches Debian's Chromium through playwright-core with a fake microphone fed from a WAV file
// and a fresh profile directory, and cleans both up.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export interface FakeMicBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** `wav`: 16, 22.05 or 48 kHz PCM WAV; played once (%noloop) from when the page opens the mic. */
export async function launchWithFakeMic(wav: string, viewport = { width: 1280, height: 800 }): Promise<FakeMicBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "parley-e2e-profile-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        `--use-file-for-fake-audio-capture=${wav}%noloop`,
      ],
      timeout: 30_000,
    });
    // Vite's HMR socket (ws://host/?token=...) is answered by a silent mock: files edited while a
    // test runs must not reload the page under it. The app's own socket (/parties/...) is untouched.
    await context.routeWebSocket(
      (url) => url.pathname === "/" && url.searchParams.has("token"),
      () => undefined,
    );
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    close: async () => {
      try {
        await context.close();
      } finally {
        rmSync(profile, { recursive: true, force: true });
      }
    },
  };
}
