// Starts the system under test: workerd via miniflare (as `npm run dev` does, minus Vite), with three
// Workers bundled by esbuild — Parley (server/worker.ts, unchanged, configured by wrangler vars), the
// naive baseline (bench/workerd/naive-worker.mts, routed at /naive/*) and the bench fake Workers AI,
// bound to both as the `AI` service binding. Durable Objects use SQLite in miniflare's temp dir (removed on dispose).
// Loopback only.
import type { BenchSession } from "./session-access.ts";
import { PATH_VARS } from "./path-vars.ts";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { latenciesToVars, type FakeLatencies } from "./latency-model.ts";
import { PARLEY_ACCESS_BINDINGS, PARLEY_RATELIMITS } from "./session-access.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const COMPAT_DATE = "2026-11-01";
export const COMPAT_FLAGS = ["nodejs_compat"];

export interface SystemUnderTest {
  /** http://127.0.0.1:<port> */
  url: URL;
  /** pid of the workerd process (for CPU and memory). */
  workerdPid: number;
  workerdVersion: string;
  /** Recent workerd log lines (warnings and errors), for diagnosis. */
  logs: string[];
  dispose(): Promise<void>;
}

const bundles = new Map<string, Promise<string>>();

/** esbuild bundle of one entry (cached: every workerd started by this process runs the same code). */
export function bundle(entry: string): Promise<string> {
  let b = bundles.get(entry);
  if (!b) {
    b = buildOnce(entry);
    bundles.set(entry, b);
  }
  return b;
}

async function buildOnce(entry: string): Promise<string> {
  const out = await build({
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser", "import"],
    external: ["cloudflare:*", "node:*"],
    target: "es2024",
    write: false,
    logLevel: "silent",
  });
  return out.outputFiles[0]!.text;
}

/**
 * The workerd process serving `port`: among this process's workerd children (there can be several, e.g.
 * under vitest), the one holding the listening socket. Found via /proc/net/tcp and /proc/<pid>/fd.
 */
function findWorkerdPid(port: number): number {
  const portHex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && cols[1]!.endsWith(`:${portHex}`) && cols[3] === "0A") inodes.add(cols[9]!);
    }
  }
  const children: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const ppid = Number(stat.slice(close + 2).split(" ")[1]);
      if (ppid === process.pid && comm.startsWith("workerd")) children.push(Number(name));
    } catch {
      // process went away while scanning
    }
  }
  for (const pid of children) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return pid;
      }
    } catch {
      // not ours to read, or gone
    }
  }
  if (children.length === 1) return children[0]!;
  throw new Error(`workerd process serving port ${port} not found (children: ${children.join(", ") || "none"})`);
}

/** workerd processes started and not yet disposed (so a forced exit can still stop them). */
const live = new Set<number>();

/** Register a workerd started elsewhere (the turn-taking benchmark) for killLiveWorkerd; returns the unregister function. */
export function trackWorkerd(port: number): () => void {
  const pid = findWorkerdPid(port);
  live.add(pid);
  return () => live.delete(pid);
}

/** Last resort on a forced exit: SIGKILL the workerd processes this module started, by pid. */
export function killLiveWorkerd(): void {
  for (const pid of live) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
}

/**
 * Ctrl-C (or SIGTERM) once: abort the returned signal so the run winds down and says `message`;
 * twice: kill workerd and exit at once.
 */
export function abortOnInterrupt(message: string): AbortSignal {
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts === 1) {
      console.error(`\ninterrupted: ${message} (Ctrl-C again to force)`);
      abort.abort();
    } else {
      killLiveWorkerd();
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return abort.signal;
}

/** "disk": SQLite files in miniflare's temp dir (as `npm run dev`); "tmpfs": the same files on /dev/shm (no disk I/O). */
export type StorageMode = "disk" | "tmpfs";

/**
 * Parley's end-of-turn settings in the overhead phases: today's baseline path, a fixed silence then batch
 * Whisper (no smart-turn, no speculative reply, no learned silence), so the client knows the frame that
 * ends each turn and the critical path is STT + LLM + TTS. The turn-taking paths (paths.ts) set their own.
 */
export const BASELINE_TURN_VARS: Readonly<Record<string, string>> = PATH_VARS.baseline;

export interface StartOptions {
  latencies: FakeLatencies;
  silenceMs: number;
  storage?: StorageMode;
  /** Parley's vars on top of VAD_SILENCE_MS (default BASELINE_TURN_VARS). */
  parleyVars?: Record<string, string>;
  /** The fake AI's vars on top of its latencies (e.g. FAKE_PROFILE=workers-ai). */
  fakeVars?: Record<string, string>;
  /** Also bundle and route the naive baseline at /naive/* (default true). */
  naive?: boolean;
}

/** Where a bench client joins a Parley session on the system under test: its WebSocket URL and the subprotocols carrying its owner key. */
export interface SessionTarget {
  url: string;
  protocols: string[];
}

export function sessionTarget(sut: Pick<SystemUnderTest, "url">, session: BenchSession): SessionTarget {
  return {
    url: `${sut.url.href.replace(/^http/, "ws").replace(/\/$/, "")}/parties/voice-session/${session.id}`,
    protocols: session.protocols,
  };
}

export async function startSystem(o: StartOptions): Promise<SystemUnderTest> {
  const withNaive = o.naive !== false;
  const [parley, naive, fakeAi] = await Promise.all([
    bundle("server/worker.ts"),
    withNaive ? bundle("bench/workerd/naive-worker.mts") : Promise.resolve(""),
    bundle("bench/workerd/fake-ai.mts"),
  ]);
  // Budgets on, as deployed, but far from their limits: a benchmark's hundreds of turns must not be
  // refused (the far-from-the-limit path adds no wait before a reply; a session budget stops nothing).
  const vars = { VAD_SILENCE_MS: String(o.silenceMs), DAILY_BUDGET_NEURONS: "100000000", SESSION_BUDGET_USD: "0" };
  const parleyVars = { ...vars, ...(o.parleyVars ?? BASELINE_TURN_VARS) };
  const worker = (name: string, file: string, contents: string) => ({
    name,
    modules: [{ type: "ESModule" as const, path: file, contents }],
    compatibilityDate: COMPAT_DATE,
    compatibilityFlags: COMPAT_FLAGS,
  });
  const logs: string[] = [];
  // Durable Object SQLite files: miniflare's temp dir by default (removed on dispose), or a tmpfs dir of ours.
  const shmDir = o.storage === "tmpfs" ? mkdtempSync(join("/dev/shm", "parley-bench-")) : undefined;
  // The classic (v4) option shape, converted the way wrangler does it.
  let mf: Miniflare;
  try {
    mf = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port: 0,
        cf: false, // no fetch of the Request.cf placeholder from the network
        ...(shmDir ? { resourcePersistencePath: shmDir } : {}),
        log: new Log(LogLevel.WARN),
        handleStructuredLogs: ({ level, message }) => {
          if (level === "log" || level === "info" || level === "debug") return;
          logs.push(`[${level}] ${message}`);
          if (logs.length > 200) logs.shift();
        },
        workers: [
          {
            ...worker("parley", "worker.js", parley),
            durableObjects: {
              VoiceSession: { className: "VoiceSession", useSQLite: true },
              DailyBudget: { className: "DailyBudget", useSQLite: true },
            },
            serviceBindings: { AI: "bench-ai" },
            bindings: { ...parleyVars, ...PARLEY_ACCESS_BINDINGS },
            ratelimits: PARLEY_RATELIMITS,
          },
          ...(withNaive
            ? [
                {
                  ...worker("naive", "naive.js", naive),
                  routes: ["*/naive/*"],
                  durableObjects: {
                    NaiveSession: { className: "NaiveSession", useSQLite: true },
                    GateProbe: { className: "GateProbe", useSQLite: true },
                  },
                  serviceBindings: { AI: "bench-ai" },
                  bindings: vars,
                },
              ]
            : []),
          { ...worker("bench-ai", "bench-ai.js", fakeAi), bindings: { ...latenciesToVars(o.latencies), ...o.fakeVars } },
        ],
      }),
    );
  } catch (err) {
    if (shmDir) rmSync(shmDir, { recursive: true, force: true });
    throw err;
  }
  let pid = 0;
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    try {
      await mf.dispose();
    } finally {
      live.delete(pid);
      if (shmDir) rmSync(shmDir, { recursive: true, force: true });
    }
  };
  try {
    const url = await mf.ready;
    pid = findWorkerdPid(Number(url.port));
    live.add(pid);
    const health = await fetch(new URL("/api/health", url));
    if (!health.ok) throw new Error(`Parley health check failed: ${health.status}`);
    let workerdVersion = "unknown";
    try {
      workerdVersion = JSON.parse(readFileSync(resolve(ROOT, "node_modules/workerd/package.json"), "utf8")).version;
    } catch {
      // not fatal
    }
    return { url, workerdPid: pid, workerdVersion, logs, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
