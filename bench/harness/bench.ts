// The benchmark run: start workerd, calibrate, then for each N run Parley and the naive baseline with N
// concurrent simulated clients, and collect the numbers. `runBench` is used by bench/run.ts and by the
// smoke test; bench/run.ts prints and stores the result.
import { execFileSync } from "node:child_process";
import WebSocket from "ws";
import { analyzePhase, dist, type Dist, type PhaseResult, type Pipeline } from "./analyze.ts";
import { SimClient, driveClients, type ClientPlan } from "./client.ts";
import { computeExpectations, type Expectations } from "./expectations.ts";
import { FRAME_MS, loadFixtures, type Fixture } from "./fixtures.ts";
import { DEFAULT_LATENCIES, tokenAtMs, type FakeLatencies } from "./latency-model.ts";
import { CORES, CPU_MODEL, UsageMeter, machineBusyOver, processCpuMs, type ProcessUsage } from "./proc.ts";
import type { FloodResult } from "./flood.ts";
import type { PhoneBenchResult } from "./phone.ts";
import type { PathsResult } from "./paths.ts";
import { ROOT, startSystem, type StorageMode, type SystemUnderTest } from "./server.ts";
import { benchSession } from "./session-access.ts";

export interface BenchOptions {
  sessions: number[];
  turns: number;
  latencies: FakeLatencies;
  silenceMs: number;
  naive: boolean;
  /** Spread of the clients' first turns (ms), so turns do not all end on the same frame. */
  staggerMs: number;
  gapMs: number;
  turnTimeoutMs: number;
  /** One unmeasured turn per pipeline first (JIT, module loading). */
  warmup: boolean;
  /** Measure the fake AI's own floor (RPC, timers, adapters) before the phases (needs the naive worker). */
  calibrate: boolean;
  /** Sessions and duration of the idle-streaming phase that prices the frame path alone (0 sessions = skip). */
  idleStream: { sessions: number; ms: number };
  /** Sessions (one turn each) opened on a fresh workerd per pipeline to price memory per session (0 = skip). */
  memoryProbeSessions: number;
  pingEveryMs: number;
  /** Durable Object storage: SQLite on disk in a temp dir (as in development) or in memory. */
  storage: StorageMode;
  log: (line: string) => void;
  /** Aborts the run (Ctrl-C): phases stop early, workerd is stopped. */
  signal?: AbortSignal;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  sessions: [1, 10, 50, 100],
  turns: 4,
  latencies: DEFAULT_LATENCIES,
  silenceMs: 500,
  naive: true,
  staggerMs: 2_000,
  gapMs: 200,
  turnTimeoutMs: 15_000,
  warmup: true,
  calibrate: true,
  idleStream: { sessions: 50, ms: 6_000 },
  memoryProbeSessions: 50,
  pingEveryMs: 1_000,
  storage: "disk",
  log: (line) => console.error(line),
};

export interface FrameCost {
  pipeline: Pipeline;
  sessions: number;
  frames: number;
  workerdCpuMs: number;
  /** workerd CPU per upstream 20 ms frame with no turn in progress (receive, limits, VAD). */
  cpuUsPerFrame: number;
  cpuMsPerAudioSecond: number;
  busiestThreadPct: number;
  pingRttMs: Dist;
}

export interface MemoryProbe {
  pipeline: Pipeline;
  sessions: number;
  /** RSS after one warm-up session and turn (code loaded and compiled). */
  rssBaseMiB: number;
  rssPeakMiB: number;
  /** (peak - base) / sessions: a Durable Object with its socket, detector buffers, SQLite and one turn's garbage. */
  perSessionMiB: number;
}

export interface BenchResult {
  version: 1;
  startedAt: string;
  durationMs: number;
  machine: { cores: number; cpuModel: string; node: string; workerd: string; platform: string };
  /** Measured over 2 s with no session open, before the phases: other load on the machine, workerd's idle CPU. */
  baseline: { machineBusyPct: number; workerdIdleCpuPctOfCore: number };
  git: { commit: string | null; dirty: boolean | null };
  options: Omit<BenchOptions, "log" | "signal">;
  fixtures: { name: string; frames: number; lastVoicedFrame: number; turnEndFrame: number }[];
  expectations: Expectations;
  /**
   * stt, llmFirstToken, llmFirstChunkToken, tts: the fake AI's own floor, measured minus nominal latency —
   * service-binding RPC + workerd timers, with no Parley code (raw env.AI.run from a plain Worker). Part
   * of every stage's overhead below and not Parley's doing (a real Workers AI call has its own).
   * wsEchoRtt / wsEchoRttAfterSqlWrite: a Durable Object WebSocket echo without / with one SQLite write
   * before the reply — the price of the output gate on a send that follows a write.
   */
  calibration: Record<string, Dist> | null;
  frameCost: FrameCost[];
  memory: MemoryProbe[];
  phases: PhaseResult[];
  /** naive TTFA / Parley TTFA (p50) per N. */
  ratios: { sessions: number; ttfaP50Ratio: number; ttfaP50RatioAfterEndpointing: number }[];
  /** Phases that did not complete all turns. */
  incomplete: string[];
  /** The turn-taking paths (end of speech -> first audio per end-of-turn path, Workers AI profile), when run. */
  paths?: PathsResult;
  /** The flood row (one connection floods, bystanders ping), when run. */
  flood?: FloodResult;
  /** The phone rows (phone path overhead over the browser path, barge-in -> clear), when run. */
  phone?: PhoneBenchResult;
}

function gitInfo(): BenchResult["git"] {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "--", "server", "shared", "bench"], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim() !== "";
    return { commit, dirty };
  } catch {
    return { commit: null, dirty: null };
  }
}

/** Silence streamed before a client's first turn, as between turns: the VAD's 1 s floor window and the 300 ms pre-roll then see what the fixture analysis assumed. */
const LEAD_SILENCE_MS = 1_000;
const r2 = (x: number) => Math.round(x * 100) / 100;

interface PhaseSpec {
  pipeline: Pipeline;
  sessions: number;
  /** 0 = idle streaming only (silence for `streamMs`). */
  turns: number;
  streamMs?: number;
  tag: string;
}

async function runPhase(sut: SystemUnderTest, spec: PhaseSpec, o: BenchOptions, fixtures: Fixture[], ex: Expectations) {
  const { pipeline, sessions: n, turns } = spec;
  const base = sut.url.href.replace(/^http/, "ws").replace(/\/$/, "");
  const path = {
    parley: "/parties/voice-session/",
    naive: "/naive/naive-session/",
    raw: "/naive/gate-probe/",
    "raw-accept": "/naive/gate-probe/",
  }[pipeline];
  // Parley sessions need a minted id and its owner key; the baselines take any name.
  const parley = pipeline === "parley" ? await Promise.all(Array.from({ length: n }, () => benchSession())) : null;
  const meter = new UsageMeter(sut.workerdPid);
  meter.startMemory();
  const clients = Array.from({ length: n }, (_, i) => {
    const plan: ClientPlan = {
      url: parley
        ? `${base}${path}${parley[i]!.id}`
        : `${base}${path}${spec.tag}-${pipeline === "raw-accept" ? "a" : pipeline[0]}${n}-${i}${pipeline === "raw-accept" ? "?hibernate=0" : ""}`,
      // Parley holds a turn until its reply was heard: the client says so on reply-done, or its next question would be a barge-in.
      ...(parley ? { protocols: parley[i]!.protocols, reportPlayback: true } : {}),
      fixtures,
      turns,
      startDelayMs: turns === 0 ? (spec.streamMs ?? 0) : LEAD_SILENCE_MS + (n > 1 ? Math.round((o.staggerMs * i) / n) : 0),
      gapMs: o.gapMs,
      turnTimeoutMs: o.turnTimeoutMs,
      chunkDeltaIndex: ex.firstChunkTokens,
      pingEveryMs: o.pingEveryMs,
    };
    return new SimClient(i, plan);
  });
  let usage!: ProcessUsage;
  const longestFixtureMs = Math.max(...fixtures.map((f) => Math.max(f.frames, f.turnEndFrame + 1) * FRAME_MS));
  const loopP99 = await driveClients(clients, {
    deadlineMs: () =>
      (spec.streamMs ?? 0) +
      LEAD_SILENCE_MS +
      o.staggerMs +
      turns * (longestFixtureMs + o.gapMs + 3 * ex.naive.criticalMs + 1_000) +
      o.turnTimeoutMs,
    signal: o.signal,
    around: { start: () => meter.start(), stop: () => (usage = meter.stop()) },
  });
  return analyzePhase({
    pipeline,
    clients,
    turnsPerClient: turns,
    expectations: ex,
    latencies: o.latencies,
    silenceMs: o.silenceMs,
    usage,
    loopDelayP99Ms: loopP99,
  });
}

/** The fake's own floor on a pipeline's critical path (p50s): STT + LLM up to what the pipeline waits for + TTS. */
export function fakeFloorMs(c: Record<string, Dist>, p: Pipeline): number {
  const llm = p === "parley" ? c.llmFirstChunkToken : c.llmEnd;
  return r2((c.stt?.p50 ?? 0) + (llm?.p50 ?? 0) + (c.tts?.p50 ?? 0));
}

function shift(d: Dist, by: number): Dist {
  return {
    ...d,
    p50: r2(d.p50 + by),
    p95: r2(d.p95 + by),
    p99: r2(d.p99 + by),
    max: r2(d.max + by),
    min: r2(d.min + by),
    mean: r2(d.mean + by),
  };
}

async function calibrateFake(
  sut: SystemUnderTest,
  o: BenchOptions,
  ex: Expectations,
  utteranceSamples: number,
): Promise<Record<string, Dist>> {
  const l = o.latencies;
  const q = new URLSearchParams({
    rounds: "3",
    concurrency: "4",
    chunkTokens: String(ex.firstChunkTokens),
    firstChunk: ex.firstChunk,
    transcript: ex.transcript,
    samples: String(utteranceSamples),
    stt: String(l.sttMs),
    llmFirstToken: String(tokenAtMs(0, l)),
    llmFirstChunkToken: String(tokenAtMs(ex.firstChunkTokens - 1, l)),
    llmEnd: String(tokenAtMs(ex.replyTokens, l)),
    tts: String(ex.parley.ttsMs),
  });
  const cpu0 = processCpuMs(sut.workerdPid);
  const res = await fetch(new URL(`/naive/calibrate?${q}`, sut.url));
  if (!res.ok) throw new Error(`calibration failed: ${res.status} ${await res.text()}`);
  const raw = (await res.json()) as Record<string, number[]>;
  const cpuMs = processCpuMs(sut.workerdPid) - cpu0;
  const out: Record<string, Dist> = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, dist(v)]));
  // workerd CPU per calibration turn (STT + streamed LLM + TTS call): the fake's share of a turn's CPU
  // (slightly over: it includes the calling loop). 10 ms clock ticks, so only indicative.
  out.fakeAiCpuMsPerTurn = dist([cpuMs / Math.max(1, raw.stt?.length ?? 1)]);
  Object.assign(out, await probeOutputGate(sut));
  return out;
}

/** WebSocket echo round trips through a Durable Object, without and with a SQLite write before the reply. */
async function probeOutputGate(sut: SystemUnderTest, rounds = 40): Promise<Record<string, Dist>> {
  const ws = new WebSocket(new URL("/naive/gate-probe", sut.url.href.replace(/^http/, "ws")), { perMessageDeflate: false });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("gate probe: no connection")), 5_000);
      ws.once("open", () => (clearTimeout(timer), resolve()));
      ws.once("error", (e) => (clearTimeout(timer), reject(e)));
    });
    const rtt = (m: string) =>
      new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("gate probe: no echo")), 5_000);
        const t = performance.now();
        ws.once("message", () => (clearTimeout(timer), resolve(performance.now() - t)));
        ws.send(m);
      });
    const plain: number[] = [];
    const write: number[] = [];
    for (let i = 0; i < rounds; i++) {
      plain.push(await rtt("plain"));
      write.push(await rtt("write"));
    }
    return { wsEchoRtt: dist(plain), wsEchoRttAfterSqlWrite: dist(write) };
  } finally {
    ws.terminate();
  }
}

export async function runBench(partial: Partial<BenchOptions> = {}): Promise<BenchResult> {
  const o: BenchOptions = { ...DEFAULT_OPTIONS, ...partial };
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const fixtures = loadFixtures(o.silenceMs);
  const ex = computeExpectations(o.latencies, o.silenceMs);
  const l = o.latencies;
  o.log(
    `fake AI: STT ${l.sttMs} ms, LLM ${l.llmFirstTokenMs} ms + ${r2(l.llmTokenMs)} ms/token, TTS ${l.ttsMsPerSentence} ms/sentence; ` +
      `endpointing ${o.silenceMs} ms. Critical path: Parley ${ex.parley.criticalMs} ms (first chunk = ${ex.firstChunkTokens} tokens), naive ${ex.naive.criticalMs} ms`,
  );
  const pipelines: Pipeline[] = o.naive ? ["parley", "naive"] : ["parley"];
  const memory: MemoryProbe[] = [];
  const tag = `b${Date.now().toString(36)}`;
  // Memory first, each pipeline on its own fresh workerd: later phases reuse memory freed by earlier ones.
  for (const p of o.memoryProbeSessions > 0 ? pipelines : []) {
    if (o.signal?.aborted) break;
    const probe = await startSystem({ latencies: l, silenceMs: o.silenceMs, storage: o.storage });
    try {
      await runPhase(probe, { pipeline: p, sessions: 1, turns: 1, tag: `${tag}m` }, o, fixtures, ex);
      const n = o.memoryProbeSessions;
      const r = await runPhase(probe, { pipeline: p, sessions: n, turns: 1, tag: `${tag}M` }, o, fixtures, ex);
      const m = {
        pipeline: p,
        sessions: n,
        rssBaseMiB: r.memory.rssBeforeMiB,
        rssPeakMiB: r.memory.rssPeakMiB,
        perSessionMiB: r.memory.perSessionMiB,
      };
      memory.push(m);
      o.log(
        `memory ${p}: ${m.perSessionMiB} MiB per session (${n} sessions, one turn each, fresh workerd: ${m.rssBaseMiB} -> ${m.rssPeakMiB} MiB)`,
      );
    } finally {
      await probe.dispose();
    }
  }
  const sut = await startSystem({ latencies: l, silenceMs: o.silenceMs, storage: o.storage });
  o.log(`workerd ${sut.workerdVersion} pid ${sut.workerdPid} at ${sut.url.href} (started in ${Math.round(performance.now() - t0)} ms)`);
  const phases: PhaseResult[] = [];
  const frameCost: FrameCost[] = [];
  const incomplete: string[] = [];
  let calibration: Record<string, Dist> | null = null;
  let baseline = { machineBusyPct: NaN, workerdIdleCpuPctOfCore: NaN };
  const aborted = () => o.signal?.aborted === true;
  try {
    if (o.warmup) {
      for (const p of pipelines) {
        if (aborted()) break;
        const w = await runPhase(sut, { pipeline: p, sessions: 1, turns: 1, tag: `${tag}w` }, o, fixtures, ex);
        o.log(`warm-up ${p}: ${w.turnsCompleted}/1 turn, TTFA ${w.ttfaMs.p50} ms`);
      }
    }

    const cpuIdle0 = processCpuMs(sut.workerdPid);
    const idleT0 = performance.now();
    const busy = await machineBusyOver(2_000);
    baseline = {
      machineBusyPct: Math.round(busy * 10) / 10,
      workerdIdleCpuPctOfCore: r2((100 * (processCpuMs(sut.workerdPid) - cpuIdle0)) / (performance.now() - idleT0)),
    };
    o.log(
      `baseline: machine ${baseline.machineBusyPct}% busy with no session open, workerd idle ${baseline.workerdIdleCpuPctOfCore}% of a core`,
    );
    if (baseline.machineBusyPct > 20) o.log("warning: the machine is busy with other work; latency percentiles will be noisy");

    if (o.calibrate && !aborted()) {
      calibration = await calibrateFake(sut, o, ex, fixtures[0]!.utteranceSamples);
      o.log(
        `calibration (p50 ms; fake AI floor over nominal, DO echo RTTs): ${Object.entries(calibration)
          .map(([k, d]) => `${k} ${d.p50}`)
          .join(", ")}`,
      );
    }
    if (o.idleStream.sessions > 0) {
      for (const p of [...pipelines, "raw" as const, "raw-accept" as const]) {
        if (aborted()) break;
        const n = o.idleStream.sessions;
        const r = await runPhase(sut, { pipeline: p, sessions: n, turns: 0, streamMs: o.idleStream.ms, tag: `${tag}i` }, o, fixtures, ex);
        const fc: FrameCost = {
          pipeline: p,
          sessions: n,
          frames: r.frames.sent,
          workerdCpuMs: r.cpu.workerdCpuMs,
          cpuUsPerFrame: r2((1000 * r.cpu.workerdCpuMs) / Math.max(1, r.frames.sent)),
          cpuMsPerAudioSecond: r.cpu.workerdCpuMsPerAudioSecond,
          busiestThreadPct: r.cpu.workerdBusiestThreadPct,
          pingRttMs: r.pingRttMs,
        };
        frameCost.push(fc);
        o.log(
          `idle streaming ${p} N=${n}: ${fc.cpuUsPerFrame} us CPU per frame (${fc.cpuMsPerAudioSecond} ms per audio second), ping RTT p50 ${fc.pingRttMs.p50} ms`,
        );
      }
    }

    for (const n of o.sessions) {
      for (const p of pipelines) {
        if (aborted()) break;
        const r = await runPhase(sut, { pipeline: p, sessions: n, turns: o.turns, tag }, o, fixtures, ex);
        if (calibration) {
          const floor = fakeFloorMs(calibration, p);
          r.fakeFloorMs = floor;
          r.overheadNetMs = shift(r.overheadMs, -floor);
        }
        const fc = frameCost.find((x) => x.pipeline === p);
        if (fc && r.turnsCompleted > 0) {
          r.cpu.workerdCpuMsPerTurn = r2((r.cpu.workerdCpuMs - (r.frames.sent * fc.cpuUsPerFrame) / 1000) / r.turnsCompleted);
        }
        phases.push(r);
        if (r.turnsCompleted < r.turnsPlanned) incomplete.push(`${p}@${n}: ${r.turnsCompleted}/${r.turnsPlanned} turns`);
        o.log(
          `${p.padEnd(6)} N=${String(n).padStart(3)}: ${r.turnsCompleted}/${r.turnsPlanned} turns, TTFA p50 ${r.ttfaMs.p50} ms, ` +
            `overhead p50/p99 ${r.overheadMs.p50}/${r.overheadMs.p99} ms, ${(r.wallMs / 1000).toFixed(1)} s`,
        );
      }
    }
  } catch (err) {
    if (sut.logs.length) o.log(`workerd log (last lines):\n${sut.logs.slice(-20).join("\n")}`);
    throw err;
  } finally {
    await sut.dispose();
  }
  const ratios = o.sessions.flatMap((n) => {
    const p = phases.find((x) => x.pipeline === "parley" && x.sessions === n);
    const q = phases.find((x) => x.pipeline === "naive" && x.sessions === n);
    if (!p || !q) return [];
    return [
      {
        sessions: n,
        ttfaP50Ratio: r2(q.ttfaMs.p50 / p.ttfaMs.p50),
        ttfaP50RatioAfterEndpointing: r2((q.ttfaMs.p50 - o.silenceMs) / (p.ttfaMs.p50 - o.silenceMs)),
      },
    ];
  });
  const { log: _log, signal: _signal, ...options } = o;
  return {
    version: 1,
    startedAt,
    durationMs: Math.round(performance.now() - t0),
    machine: {
      cores: CORES,
      cpuModel: CPU_MODEL,
      node: process.version,
      workerd: sut.workerdVersion,
      platform: `${process.platform}-${process.arch}`,
    },
    baseline,
    git: gitInfo(),
    options,
    fixtures: fixtures.map(({ name, frames, lastVoicedFrame, turnEndFrame }) => ({ name, frames, lastVoicedFrame, turnEndFrame })),
    expectations: ex,
    calibration,
    frameCost,
    memory,
    phases,
    ratios,
    incomplete,
  };
}
