// Before each Worker test file: the review index's schema (server/review-index/migrations, read by
// vitest.config.ts) applied to the local D1, as `wrangler d1 migrations apply` does for a deployment.
import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";

const { REVIEW_INDEX, REVIEW_INDEX_MIGRATIONS } = env as Env & { REVIEW_INDEX_MIGRATIONS: D1Migration[] };
try {
  await applyD1Migrations(REVIEW_INDEX, REVIEW_INDEX_MIGRATIONS);
} catch {
  // Test files start side by side on one database: another file's batch won the race (a migration's name is
  // unique, its statements are IF NOT EXISTS). Run again: applied migrations are skipped, anything left is applied.
  await applyD1Migrations(REVIEW_INDEX, REVIEW_INDEX_MIGRATIONS);
}
