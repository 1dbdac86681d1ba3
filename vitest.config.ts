import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { buildSync } from "esbuild";
import { defineConfig } from "vitest/config";
const fake = buildSync({ entryPoints: ["test/fake-ai/worker.ts"], bundle: true, format: "esm", write: false, external: ["cloudflare:*"], target: "es2024" }).outputFiles[0]!.text;
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({
          wrangler: { configPath: "./wrangler.toml" },
          remoteBindings: false,
          miniflare: {
            ai: { binding: "__AI_REMOTE_UNUSED" },
            serviceBindings: { AI: "fake-ai" },
            workers: [{ name: "fake-ai", modules: [{ type: "ESModule", path: "fake-ai.js", contents: fake }], compatibilityDate: "2026-11-01" }],
          },
        })],
        test: { name: "workers", include: ["test/worker/**/*.test.ts"] },
      },
      { test: { name: "node", environment: "node", include: ["test/node/**/*.test.ts"] } },
    ],
  },
});
