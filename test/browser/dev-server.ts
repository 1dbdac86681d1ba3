// Starts `vite dev` (Worker + Durable Object in workerd via @cloudflare/vite-plugin) on a free port
// with a chosen AI backend, waits until it answers, and stops its whole process group afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { applyLocalReviewIndexMigrations } from "../../scripts/review-index-local.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface DevServer {
  url: string;
  port: number;
  /** Everything the server printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the whole group: vite, workerd, any engine helpers
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

export async function startDevServer(
  options: { ai?: "fake" | "local"; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<DevServer> {
  // As `npm start` does: the conversations index's tables exist before sessions write to them.
  applyLocalReviewIndexMigrations();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  const child = spawn(
    process.execPath,
    [resolve(ROOT, "node_modules/vite/bin/vite.js"), "dev", "--port", String(port), "--strictPort", "--host", "127.0.0.1"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PARLEY_AI: options.ai ?? "fake",
        PORT: String(port),
        // A dependency-optimizer cache of its own: dev servers of concurrent tests must not rebuild one shared cache.
        PARLEY_VITE_CACHE_DIR: mkdtempSync(join(tmpdir(), "parley-vite-")),
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_SEND_METRICS: "false",
        NO_COLOR: "1",
        FORCE_COLOR: "0",
        ...options.env,
      },
      detached: true, // own process group, so stop() can end workerd too
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));

  const stop = async () => {
    if (exited(child)) return;
    killGroup(child, "SIGTERM");
    for (let i = 0; i < 50 && !exited(child); i++) await sleep(100);
    killGroup(child, "SIGKILL");
    for (let i = 0; i < 20 && !exited(child); i++) await sleep(50);
  };

  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  try {
    for (;;) {
      if (exited(child)) throw new Error(`dev server exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log}`);
      if (Date.now() > deadline) throw new Error(`dev server not ready after ${options.timeoutMs ?? 90_000} ms:\n${log}`);
      try {
        const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) break;
      } catch {
        /* not up yet */
      }
      await sleep(250);
    }
    // The page itself (Vite transforms index.html on first request).
    const page = await fetch(`${url}/`, { signal: AbortSignal.timeout(20_000) });
    if (!page.ok) throw new Error(`GET / answered ${page.status}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, output: () => log, stop };
}
