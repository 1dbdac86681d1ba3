// The two systems the turn-taking scenarios are played through. Both are the real Worker
// (server/worker.ts, unchanged) and its VoiceSession Durable Object in workerd via miniflare;
// what answers `env.AI.run(...)` differs:
//   fake   the turn-taking fake Workers AI (bench/workerd/turn-taking-ai.mts): STT oracle, flite
//          speech, scripted reply, latencies from latency-profile.ts;
//   local  the offline stand-in that `npm start` runs (local-ai/worker.ts -> engine server child
//          process: PocketSphinx, flite), its LLM step pointed at the scripted OpenAI-compatible server.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import type { HealthReport } from "../../local-ai/engine-server.ts";
import { COMPAT_DATE, COMPAT_FLAGS, ROOT, bundle, trackWorkerd } from "../harness/server.ts";
import type { OracleService } from "./oracle-service.ts";
import { startScriptedLlmServer } from "./scripted-llm-server.ts";
import { percentiles } from "./summary.ts";
import { PARLEY_ACCESS_BINDINGS, PARLEY_RATELIMITS } from "../harness/session-access.ts";

export type SystemName = "fake" | "local";

export interface TurnTakingSystem {
  name: SystemName;
  /** What answers the model calls, for the report. */
  label: string;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Warnings and errors workerd logged (last 200). */
  logs: string[];
  /** Per-system facts for the report (e.g. the stand-in's STT latencies). */
  details(): Record<string, unknown>;
  dispose(): Promise<void>;
}

interface WorkerSpec {
  name: string;
  entry: string;
  serviceBindings?: Record<string, string | OracleService["handle"]>;
  bindings?: Record<string, string>;
  durableObjects?: Record<string, { className: string; useSQLite: boolean }>;
  ratelimits?: typeof PARLEY_RATELIMITS;
}

async function startWorkerd(workers: WorkerSpec[]): Promise<{ url: string; logs: string[]; dispose: () => Promise<void> }> {
  const logs: string[] = [];
  const bundled = await Promise.all(workers.map((w) => bundle(w.entry)));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      cf: false,
      log: new Log(LogLevel.WARN),
      handleStructuredLogs: ({ level, message }) => {
        if (level === "log" || level === "info" || level === "debug") return;
        logs.push(`[${level}] ${message}`);
        if (logs.length > 200) logs.shift();
      },
      workers: workers.map((w, i) => ({
        name: w.name,
        modules: [{ type: "ESModule" as const, path: `${w.name}.js`, contents: bundled[i]! }],
        compatibilityDate: COMPAT_DATE,
        compatibilityFlags: COMPAT_FLAGS,
        ...(w.serviceBindings && { serviceBindings: w.serviceBindings }),
        ...(w.bindings && { bindings: w.bindings }),
        ...(w.durableObjects && { durableObjects: w.durableObjects }),
        ...(w.ratelimits && { ratelimits: w.ratelimits }),
      })),
    }),
  );
  let untrack = () => {};
  const dispose = async () => {
    try {
      await mf.dispose();
    } finally {
      untrack();
    }
  };
  try {
    const url = await mf.ready;
    untrack = trackWorkerd(Number(url.port));
    const health = await fetch(new URL("/api/health", url));
    if (!health.ok) throw new Error(`Parley health check failed: ${health.status}`);
    return { url: url.origin, logs, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

const PARLEY = (aiService: string, backend: SystemName, vars: Record<string, string> = {}): WorkerSpec => ({
  name: "parley",
  entry: "server/worker.ts",
  durableObjects: {
    VoiceSession: { className: "VoiceSession", useSQLite: true },
    DailyBudget: { className: "DailyBudget", useSQLite: true },
  },
  serviceBindings: { AI: aiService },
  // Budgets far from their limits: the scenarios' hundreds of trials must not be refused. No recordings
  // (no R2 here, and joining audio is not what these scenarios measure).
  bindings: {
    AI_BACKEND: backend,
    DAILY_BUDGET_NEURONS: "100000000",
    SESSION_BUDGET_USD: "0",
    RECORD_AUDIO: "false",
    ...vars,
    ...PARLEY_ACCESS_BINDINGS,
  },
  ratelimits: PARLEY_RATELIMITS,
});

/** `vars`: Parley's wrangler vars on top of the defaults (the end-of-turn paths set theirs). */
export async function startFakeSystem(oracle: OracleService, vars: Record<string, string> = {}): Promise<TurnTakingSystem> {
  const w = await startWorkerd([
    PARLEY("turn-taking-ai", "fake", vars),
    { name: "turn-taking-ai", entry: "bench/workerd/turn-taking-ai.mts", serviceBindings: { ORACLE: oracle.handle } },
  ]);
  return {
    name: "fake",
    label: "fake Workers AI: STT oracle, flite speech, scripted reply; latencies from bench/turn-taking/latency-profile.ts",
    url: w.url,
    logs: w.logs,
    details: () => ({ oracle: { ...oracle.stats } }),
    dispose: w.dispose,
  };
}

/** STT calls the engine server logged: `<model> [tags] -> <ms> ms (<engine>) "<text>"`. */
interface EngineCall {
  partial: boolean;
  ms: number;
}

/** The local stand-in, or why it cannot run here (PocketSphinx not installed). */
export async function startLocalSystem(): Promise<TurnTakingSystem | { skipped: string }> {
  const llm = await startScriptedLlmServer();
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", resolve(ROOT, "local-ai/engine-server.ts"), "--exit-with-stdin"],
    {
      cwd: ROOT,
      env: { ...process.env, LOCAL_AI_PORT: "0", LOCAL_LLM_URL: llm.url, LOCAL_LLM_MODEL: "scripted" },
      stdio: ["pipe", "pipe", "pipe"],
    },
  );
  const sttCalls: EngineCall[] = [];
  const stop = async () => {
    await stopChild(child);
    await llm.close();
  };
  try {
    const base = await engineUrl(child, sttCalls);
    const health = await waitHealthy(base);
    if (health.engines.stt.state !== "ready") {
      await stop();
      return {
        skipped: `PocketSphinx is not available (${health.engines.stt.error ?? health.engines.stt.state}); install: ${health.engines.stt.install ?? "see README"}`,
      };
    }
    const w = await startWorkerd([
      PARLEY("local-ai", "local"),
      { name: "local-ai", entry: "local-ai/worker.ts", bindings: { LOCAL_AI_URL: base } },
    ]);
    return {
      name: "local",
      label: `local stand-in (${health.engines.stt.label}, ${health.engines.tts.label}, scripted LLM over LOCAL_LLM_URL)`,
      url: w.url,
      logs: w.logs,
      details: () => ({
        sttMs: percentiles(sttCalls.filter((c) => !c.partial).map((c) => c.ms)),
        partialSttMs: percentiles(sttCalls.filter((c) => c.partial).map((c) => c.ms)),
        llmRequests: llm.requests,
      }),
      dispose: async () => {
        await w.dispose();
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

function engineUrl(child: ChildProcessWithoutNullStreams, sttCalls: EngineCall[]): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error("engine server did not start within 30 s")), 30_000);
    child.once("exit", (code) => reject(new Error(`engine server exited with code ${code}`)));
    child.stderr.resume();
    createInterface({ input: child.stdout }).on("line", (line) => {
      const started = /engine server on (http:\/\/\S+)/.exec(line);
      if (started) {
        clearTimeout(timer);
        resolveUrl(started[1]!);
      }
      const call = /@cf\/openai\/whisper\S* \[([^\]]*)\] -> (\d+) ms/.exec(line);
      if (call) sttCalls.push({ partial: call[1]!.split(" ").includes("stt:partial"), ms: Number(call[2]) });
    });
  });
}

async function waitHealthy(base: string): Promise<HealthReport> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const h = (await (await fetch(`${base}/health`)).json()) as HealthReport;
    if (h.ready) return h;
    if (Date.now() > deadline) throw new Error("engine server not ready within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    child.once("exit", () => resolveStop());
    child.kill("SIGTERM");
  });
}
