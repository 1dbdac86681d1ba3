// The local review index (D1 in .wrangler/state, where `vite dev` keeps it): its migrations
// (server/review-index/migrations) applied before the dev server starts. `npm start` and the browser
// tests' dev servers call this; `npm run dev` runs the same wrangler command. Idempotent: applied
// migrations are skipped.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const wranglerBin = resolve(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin/wrangler.js");

function applyOnce(): { ok: boolean; output: string } {
  const run = spawnSync(process.execPath, [wranglerBin, "d1", "migrations", "apply", "REVIEW_INDEX", "--local"], {
    cwd: root,
    encoding: "utf8",
    // No prompts, no network: the local database only.
    env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" },
    timeout: 60_000,
  });
  return { ok: run.status === 0, output: `${run.stdout ?? ""}${run.stderr ?? ""}${run.error ? String(run.error) : ""}` };
}

/** Apply the review index's migrations to the local D1; throws with wrangler's output when that fails. */
export function applyLocalReviewIndexMigrations(): void {
  // Dev servers started side by side (the browser tests) may race on one database: the loser's batch
  // fails on the migration it lost, and a second run finds it applied.
  const first = applyOnce();
  if (first.ok) return;
  const second = applyOnce();
  if (!second.ok) throw new Error(`applying the review index migrations to the local D1 failed:\n${second.output}`);
}
