// Vite plugin: in `vite dev` with PARLEY_AI=local, start the engine server (engine-server.ts) next
// to the dev server and stop it with the dev server. The engine server is a child process in vite's
// process group, started with --exit-with-stdin, so it cannot outlive vite even on SIGKILL; its
// PocketSphinx decoder likewise exits when the engine server's pipe closes.
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import type { Plugin } from "vite";

interface Registry {
  child?: ChildProcess;
  port?: number;
  users: number;
  stopTimer?: ReturnType<typeof setTimeout>;
}

// Shared across config reloads (vite re-imports this file when vite.config.ts changes, then
// restarts the server): the running engine server is kept instead of being restarted.
const registry: Registry = ((globalThis as Record<symbol, unknown>)[Symbol.for("parley.local-ai.engine-server")] ??= {
  users: 0,
}) as Registry;

export interface LocalAiPluginOptions {
  port: number;
  /** Path of engine-server.ts, relative to the vite root. */
  script?: string;
}

export async function probeEngineServer(port: number, timeoutMs = 500): Promise<{ ready: boolean } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json()) as { service?: string; ready?: boolean };
    return body.service === "parley-local-ai" ? { ready: body.ready === true } : undefined;
  } catch {
    return undefined;
  }
}

export function localAiEngineServer(options: LocalAiPluginOptions): Plugin {
  return {
    name: "parley:local-ai-engine-server",
    apply: "serve",
    async configureServer(server) {
      const logger = server.config.logger;
      const { port } = options;
      if (registry.child && registry.child.exitCode === null && registry.port === port) {
        clearTimeout(registry.stopTimer);
      } else if (await probeEngineServer(port)) {
        logger.info(`[local-ai] using the engine server already running on port ${port}`);
        return;
      } else {
        const script = resolve(server.config.root, options.script ?? "local-ai/engine-server.ts");
        const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", script, "--exit-with-stdin"], {
          cwd: server.config.root,
          env: { ...process.env, LOCAL_AI_PORT: String(port) },
          stdio: ["pipe", "inherit", "inherit"],
        });
        child.on("exit", (code, signal) => {
          if (registry.child === child) registry.child = undefined;
          if (code) logger.error(`[local-ai] engine server exited with code ${code}${signal ? ` (${signal})` : ""}`);
        });
        registry.child = child;
        registry.port = port;
        process.once("exit", () => child.kill("SIGTERM"));
      }
      registry.users++;
      server.httpServer?.once("close", () => {
        registry.users--;
        if (registry.users > 0) return;
        // A config reload closes the old server and creates a new one right away: wait a moment.
        registry.stopTimer = setTimeout(() => {
          registry.child?.kill("SIGTERM");
          registry.child = undefined;
        }, 1000);
        registry.stopTimer.unref();
      });
    },
  };
}
