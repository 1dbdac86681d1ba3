// Dev server and build. `vite build` keeps wrangler.toml's real Workers AI binding. In `vite dev`,
// PARLEY_AI picks what answers the server's `env.AI.run(...)`:
//   local  (default) the offline stand-in: local-ai/worker.ts bound as a service binding named AI,
//          forwarding to the Node engine server (local-ai/engine-server.ts, LOCAL_AI_PORT, default
//          8790), which this config starts and stops with the dev server.
//   fake   the deterministic fake (test/fake-ai), as used by the browser end-to-end test; FAKE_*
//          variables of the environment (e.g. FAKE_STT_SHORT_MS) become the fake worker's vars.
//   remote real Workers AI (needs `wrangler login` or CLOUDFLARE_API_TOKEN); same as production.
// The swap: delete [ai], add a service binding AI -> the auxiliary worker. Host 127.0.0.1, port PORT
// (default 5173), strict.
// PARLEY_DRAIN_SECRET (set by `npm start`, any backend) becomes the Worker's DRAIN_SECRET: the secret
// of the drain route it calls before stopping (server/restart/drain.ts). The phone routes are on in
// development (a local TWILIO_AUTH_TOKEN), so `npm run phone:sim` can call.
import { cloudflare } from "@cloudflare/vite-plugin";
import { defineConfig } from "vite";
import { localAiEngineServer } from "./local-ai/vite-plugin.ts";
import { localSecret } from "./scripts/local-secrets.ts";

export type AiBackend = "local" | "fake" | "remote";

const STAND_INS = {
  local: { service: "local-ai", configPath: "./local-ai/wrangler.toml" },
  fake: { service: "fake-ai", configPath: "./test/fake-ai/wrangler.toml" },
} as const;

function aiBackend(value: string | undefined): AiBackend {
  const v = (value ?? "local").trim().toLowerCase() || "local";
  if (v === "local" || v === "fake" || v === "remote") return v;
  throw new Error(`PARLEY_AI must be local, fake or remote (got "${value}")`);
}

/** Environment variables starting with `prefix`, for a Worker's vars (the prefix kept unless `strip`). */
function varsFromEnv(prefix: string, strip = false): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env)
      .filter((e): e is [string, string] => e[0].startsWith(prefix) && e[1] !== undefined)
      .map(([k, v]) => [strip ? k.slice(prefix.length) : k, v]),
  );
}

function portFrom(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${name} must be a port number (got "${value}")`);
  return n;
}

export default defineConfig(({ command }) => {
  const backend: AiBackend = command === "serve" ? aiBackend(process.env.PARLEY_AI) : "remote";
  const port = portFrom("PORT", process.env.PORT, 5173);
  const localAiPort = portFrom("LOCAL_AI_PORT", process.env.LOCAL_AI_PORT, 8790);
  const standIn = backend === "remote" ? undefined : STAND_INS[backend];
  const drainSecret = command === "serve" ? process.env.PARLEY_DRAIN_SECRET : undefined;

  return {
    clearScreen: false,
    // Tests that run dev servers side by side give each its own optimizer cache.
    ...(process.env.PARLEY_VITE_CACHE_DIR ? { cacheDir: process.env.PARLEY_VITE_CACHE_DIR } : {}),
    plugins: [
      cloudflare({
        inspectorPort: false,
        // Only the dev server gets its secrets; `vite build` output never carries one.
        ...(command === "serve" && {
          config: (cfg) => {
            // SESSION_SECRET and TWILIO_AUTH_TOKEN: the environment's, or local ones kept in .wrangler/
            // (scripts/local-secrets.ts), which `npm run operator-key` and `npm run phone:sim` read too.
            cfg.vars = {
              ...cfg.vars,
              SESSION_SECRET: localSecret("sessionSecret"),
              TWILIO_AUTH_TOKEN: localSecret("twilioAuthToken"),
              ...(drainSecret ? { DRAIN_SECRET: drainSecret } : {}),
            };
            if (!standIn) return;
            delete cfg.ai;
            cfg.services = [...(cfg.services ?? []).filter((s) => s.binding !== "AI"), { binding: "AI", service: standIn.service }];
            // Tell the server what answers, so the page never presents the stand-in as Workers AI's models.
            // PARLEY_VAR_<NAME>=value sets a Parley var for this run (e.g. PARLEY_VAR_STT_MODE=batch npm start).
            cfg.vars = { ...cfg.vars, AI_BACKEND: backend, ...varsFromEnv("PARLEY_VAR_", true) };
          },
        }),
        ...(standIn && {
          remoteBindings: false,
          auxiliaryWorkers: [
            backend === "local"
              ? {
                  configPath: standIn.configPath,
                  config: (cfg) => {
                    cfg.vars = { ...cfg.vars, LOCAL_AI_URL: `http://127.0.0.1:${localAiPort}` };
                  },
                }
              : {
                  configPath: standIn.configPath,
                  config: (cfg) => {
                    cfg.vars = { ...cfg.vars, ...varsFromEnv("FAKE_") };
                  },
                },
          ],
        }),
      }),
      backend === "local" && localAiEngineServer({ port: localAiPort }),
    ],
    server: { host: "127.0.0.1", port, strictPort: true },
    preview: { host: "127.0.0.1", port, strictPort: true },
  };
});
