import { randomBytes } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { bundleWorker } from "./test/support/bundle-worker.ts";
import { FUZZ_LIMIT_VARS } from "./test/support/fuzz-inputs.ts";
import { dropScriptedFailureLogs } from "./test/support/scripted-failure-logs.ts";

// miniflare's extra workers are not transpiled, so the TypeScript fake of Workers AI is bundled here.
const fakeAi = bundleWorker("test/fake-ai/worker.ts");
// A fresh secret per run: the Worker signs session keys with it, and test clients sign their own (session-client.ts).
const sessionSecret = randomBytes(32).toString("base64url");
// Twilio's auth token for the phone tests (test/worker/phone.test.ts sign their webhooks with it).
const twilioAuthToken = randomBytes(16).toString("hex");
// The review index's schema (D1), applied by test/worker/support/review-index-setup.ts before each test file.
const reviewIndexMigrations = await readD1Migrations("server/review-index/migrations");

// The fake Workers AI's scripted failures are expected: workerd's "uncaught exception" lines for them are noise.
dropScriptedFailureLogs();

/** A project of Worker tests inside workerd, with the fake bound as AI and `vars` on top of the test defaults. */
function workersProject(name: string, include: string[], vars: Readonly<Record<string, string>> = {}, exclude: string[] = []) {
  return {
    // Durable Object, SQLite and WebSocket tests inside workerd, with the fake bound as AI.
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        remoteBindings: false,
        miniflare: {
          // The wrangler [ai] binding cannot be removed here, only renamed out of the way.
          ai: { binding: "__AI_REMOTE_UNUSED" },
          serviceBindings: { AI: "fake-ai" },
          // Short AI deadlines and backoff so failure tests finish quickly.
          bindings: {
            AI_TIMEOUT_MS: "1500",
            AI_STREAM_IDLE_MS: "1000",
            AI_MAX_RETRIES: "2",
            AI_BACKEND: "fake",
            SESSION_SECRET: sessionSecret,
            TWILIO_AUTH_TOKEN: twilioAuthToken,
            REVIEW_INDEX_MIGRATIONS: reviewIndexMigrations,
            ...vars,
          },
          workers: [
            {
              name: "fake-ai",
              modules: [{ type: "ESModule", path: "fake-ai.js", contents: fakeAi }],
              compatibilityDate: "2026-11-01",
              compatibilityFlags: ["nodejs_compat"],
            },
          ],
        },
      }),
    ],
    test: { name, include, exclude, testTimeout: 20_000, setupFiles: ["./test/worker/support/review-index-setup.ts"] },
  };
}

export default defineConfig({
  test: {
    projects: [
      // Defaults of the test fake: batch Whisper, plain silence endpointing (timings tests can pin).
      // With the drain route on (DRAIN_SECRET, as `npm start` sets it): test/worker/drain.test.ts.
      workersProject("workers", ["test/worker/**/*.test.ts"], { DRAIN_SECRET: "test-drain-secret-of-at-least-32-characters" }, [
        "test/worker/end-of-turn/**",
        "test/worker/budget/**",
        "test/worker/fuzz.test.ts",
        "test/worker/review/recordings-off.test.ts",
      ]),
      // A daily budget small enough to spend in a test (about three replies' worth of reservations).
      workersProject("workers-budget", ["test/worker/budget/**/*.test.ts"], { DAILY_BUDGET_NEURONS: "300" }),
      // Recording switched off (the fake records by default, as local development does).
      workersProject("workers-no-recording", ["test/worker/review/recordings-off.test.ts"], { RECORD_AUDIO: "false" }),
      // The fuzz test with the flood limits raised, so its 10,000 inputs are judged, not dropped (limits.test.ts tests the limits).
      workersProject("workers-fuzz", ["test/worker/fuzz.test.ts"], FUZZ_LIMIT_VARS),
      // The same Worker configured for each end-of-turn path.
      workersProject("workers-smart-turn", ["test/worker/end-of-turn/smart-turn.test.ts"], { END_OF_TURN: "smart-turn" }),
      workersProject("workers-flux", ["test/worker/end-of-turn/flux.test.ts"], {
        STT_MODE: "streaming",
        STT_STREAMING_MODEL: "@cf/deepgram/flux",
      }),
      workersProject("workers-nova", ["test/worker/end-of-turn/nova.test.ts"], {
        STT_MODE: "streaming",
        STT_STREAMING_MODEL: "@cf/deepgram/nova-3",
        END_OF_TURN: "transcript",
      }),
      {
        // Pure logic and the Node-side pieces (offline stand-in, benchmark smoke run), plain Node.
        test: { name: "node", environment: "node", include: ["test/node/**/*.test.ts"], testTimeout: 30_000, hookTimeout: 90_000 },
      },
      {
        // Real Chromium with a fake microphone against `vite dev` with the fake Workers AI.
        test: {
          name: "browser",
          environment: "node",
          include: ["test/browser/**/*.e2e.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 150_000,
        },
      },
    ],
  },
});
