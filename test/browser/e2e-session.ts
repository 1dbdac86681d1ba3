// Shared setup of the browser end-to-end tests: a dev server with the chosen AI backend, Chromium with
// a fake microphone playing `wav`, screenshots in test/artifacts/, and the page console and server
// output printed when a test fails.
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll } from "vitest";
import { launchWithFakeMic, type FakeMicBrowser } from "./chromium.ts";
import { ROOT, startDevServer, type DevServer } from "./dev-server.ts";

export const ARTIFACTS = resolve(ROOT, "test/artifacts");

export interface E2eSession {
  readonly server: DevServer;
  readonly browser: FakeMicBrowser;
  /** Console lines of the running test's pages; printed on failure, then cleared. */
  readonly consoleLines: string[];
}

/** Registers beforeAll/afterAll/afterEach hooks; the returned object is filled in by beforeAll. */
export function useE2eSession(wav: string, options: () => Promise<Parameters<typeof startDevServer>[0]>): E2eSession {
  const session = { consoleLines: [] as string[] } as { server: DevServer; browser: FakeMicBrowser; consoleLines: string[] };
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    session.server = await startDevServer(await options());
    session.browser = await launchWithFakeMic(wav);
  }, 150_000);
  afterAll(async () => {
    await session.browser?.close().catch(() => undefined);
    await session.server?.stop();
  }, 30_000);
  afterEach((ctx) => {
    if (ctx.task.result?.state === "fail") {
      console.error(`client console:\n  ${session.consoleLines.join("\n  ")}`);
      if (session.server) console.error(`dev server output (tail):\n${session.server.output().slice(-3000)}`);
    }
    session.consoleLines.length = 0;
  });
  return session;
}

/** Keep a page's console for the failure report; returns the page errors and console errors seen (should stay empty). */
export function watchProblems(page: Page, session: E2eSession): string[] {
  const problems: string[] = [];
  page.on("console", (m) => session.consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/favicon/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}
