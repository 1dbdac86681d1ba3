// `npm run bench:turns`: generates the trials, prepares every sound ahead of time (flite blocks
// the event loop while it synthesizes, which would make the simulated clients late), then plays the
// trials through each system, several sessions at a time, and summarizes them.
import { cpus, loadavg } from "node:os";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { TurnTakingSettings } from "../../shared/protocol.ts";
import { Flite } from "../../local-ai/engines/flite.ts";
import { ROOT } from "../harness/server.ts";
import { machineBusyOver, machineTicks } from "../harness/proc.ts";
import { ClipLibrary } from "./clips.ts";
import { EOT_PATHS } from "./eot-scenarios.ts";
import { runEotBench, type EotResult } from "./eot-bench.ts";
import { LATENCY_PROFILE, LATENCY_SOURCES, type LatencyProfile } from "./latency-profile.ts";
import { ASSISTANT_VOICE, OracleService } from "./oracle-service.ts";
import type { TrialOutcome } from "./outcome.ts";
import { replySentences, SCRIPTED_REPLY } from "./reply-script.ts";
import { planTrial, planTrials, scenario, SCENARIOS, type ScenarioSpec, type TrialPlan } from "./scenarios.ts";
import { checkTargets, summarize, type ScenarioRow, type TargetResult } from "./summary.ts";
import { startFakeSystem, startLocalSystem, type SystemName, type TurnTakingSystem } from "./systems.ts";
import { runTrial, Ticker, type TrialEnvironment } from "./trial.ts";

export interface TurnBenchOptions {
  /** A few trials of each kind (what the test suite runs). */
  smoke: boolean;
  systems: SystemName[];
  seed: number;
  /** Sessions played at once, per system. */
  concurrency: Record<SystemName, number>;
  /**
   * Trials per scenario on the local stand-in (full runs; the fake uses each scenario's own count).
   * Few, and two sessions at a time: PocketSphinx decodes one utterance at a time for all sessions.
   */
  localTrials: number;
  /** Give up on a trial after this long (ms of session time). */
  trialTimeoutMs: number;
  /** One uncounted trial per system first (warms workerd, the engines and the fake's TTS cache). */
  warmup: boolean;
  /** Also run the end-of-turn scenarios (eot-scenarios.ts) through these end-of-turn paths on the fake ([] = skip). */
  endOfTurnPaths: string[];
  /** End-of-turn sessions at once. */
  endOfTurnConcurrency: number;
  signal?: AbortSignal;
  log: (line: string) => void;
}

export const DEFAULT_TURN_BENCH: TurnBenchOptions = {
  smoke: false,
  systems: ["fake", "local"],
  seed: 1,
  concurrency: { fake: 24, local: 2 },
  localTrials: 3,
  trialTimeoutMs: 45_000,
  warmup: true,
  endOfTurnPaths: EOT_PATHS.map((p) => p.id),
  endOfTurnConcurrency: 12,
  log: (line) => console.error(line),
};

export interface SystemResult {
  system: SystemName;
  label: string;
  skipped?: string;
  turnTaking?: TurnTakingSettings;
  wallMs: number;
  /** Machine CPU busy (% of all cores) while the trials ran. */
  machineBusyPct: number;
  rows: ScenarioRow[];
  targets: TargetResult[];
  details: Record<string, unknown>;
  workerdLogs: string[];
  trials: TrialOutcome[];
}

export interface TurnBenchResult {
  version: 1;
  startedAt: string;
  smoke: boolean;
  seed: number;
  machine: { cpu: string; cores: number; node: string; workerd: string; loadAvgBefore: number[]; busyBeforePct: number };
  latencyProfile: LatencyProfile;
  latencySources: Record<string, string>;
  reply: { text: string; expectedMs: number };
  systems: SystemResult[];
  /** The end-of-turn scenarios, when run. */
  endOfTurn?: EotResult;
  incomplete: string[];
}

function trialCount(o: TurnBenchOptions, system: SystemName, spec: ScenarioSpec): number {
  if (o.smoke) return system === "fake" ? spec.smokeTrials : 1;
  return system === "fake" ? spec.trials : o.localTrials;
}

/** Run `fn` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++]!;
      out.push(await fn(item));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function runTurnBench(options: Partial<TurnBenchOptions> = {}): Promise<TurnBenchResult> {
  const o: TurnBenchOptions = { ...DEFAULT_TURN_BENCH, warmup: !options.smoke, ...options };
  const startedAt = new Date().toISOString();
  const runTag = Date.now().toString(36);
  const busyBeforePct = await machineBusyOver(1000);
  const loadAvgBefore = loadavg().map((v) => Number(v.toFixed(2)));

  const flite = new Flite({ voice: ASSISTANT_VOICE });
  const clips = new ClipLibrary(flite);
  const oracle = new OracleService(flite);
  const result: TurnBenchResult = {
    version: 1,
    startedAt,
    smoke: o.smoke,
    seed: o.seed,
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      node: process.version,
      workerd: workerdVersion(),
      loadAvgBefore,
      busyBeforePct: Number(busyBeforePct.toFixed(1)),
    },
    latencyProfile: { ...LATENCY_PROFILE },
    latencySources: { ...LATENCY_SOURCES },
    reply: { text: SCRIPTED_REPLY, expectedMs: 0 },
    systems: [],
    incomplete: [],
  };
  try {
    // The reply as the assistant speaks it: its length places the triggers.
    result.reply.expectedMs = await oracle.warm(replySentences());
    for (const system of o.systems) {
      if (o.signal?.aborted) break;
      const plans = planTrials(o.seed, (spec) => trialCount(o, system, spec));
      o.log(`${system}: preparing ${plans.length} trials`);
      await prepareClips(plans, clips);
      const r = await runSystem(system, plans, o, {
        clips,
        oracle,
        expectedReplyMs: result.reply.expectedMs,
        runTag: `${runTag}${system[0]}`,
      });
      result.systems.push(r);
      if (!r.skipped && r.trials.length < plans.length) result.incomplete.push(`${system}: ${r.trials.length}/${plans.length} trials`);
    }
    if (o.endOfTurnPaths.length && !o.signal?.aborted) {
      result.endOfTurn = await runEotBench({
        smoke: o.smoke,
        seed: o.seed,
        concurrency: o.endOfTurnConcurrency,
        paths: o.endOfTurnPaths,
        runTag: `${runTag}e`,
        clips,
        oracle,
        log: o.log,
        ...(o.signal && { signal: o.signal }),
      });
      for (const p of result.endOfTurn.paths) {
        const planned = p.rows.reduce((n, r) => n + r.trials, 0);
        const timedOut = p.trials.filter((t) => t.timedOut).length;
        if (timedOut) result.incomplete.push(`end of turn ${p.id}: ${timedOut}/${planned} trials without an end of turn`);
      }
    }
  } finally {
    flite.close();
  }
  return result;
}

/** Synthesize every clip the trials use before any session starts. */
async function prepareClips(plans: readonly TrialPlan[], clips: ClipLibrary): Promise<void> {
  for (const p of plans) {
    await clips.speech("question", p.question, p.voice);
    if (p.event.type !== "none" && p.event.phrase) await clips.speech(p.event.source, p.event.phrase, p.voice);
  }
}

async function runSystem(
  name: SystemName,
  plans: readonly TrialPlan[],
  o: TurnBenchOptions,
  shared: { clips: ClipLibrary; oracle: OracleService; expectedReplyMs: number; runTag: string },
): Promise<SystemResult> {
  const started = performance.now();
  o.log(`${name}: starting`);
  const system: TurnTakingSystem | { skipped: string } = name === "fake" ? await startFakeSystem(shared.oracle) : await startLocalSystem();
  if ("skipped" in system) {
    o.log(`${name}: skipped: ${system.skipped}`);
    return {
      system: name,
      label: "local stand-in",
      skipped: system.skipped,
      wallMs: 0,
      machineBusyPct: NaN,
      rows: [],
      targets: [],
      details: {},
      workerdLogs: [],
      trials: [],
    };
  }
  const env: TrialEnvironment = {
    url: system.url,
    clips: shared.clips,
    expectedReplyMs: shared.expectedReplyMs,
    runTag: shared.runTag,
    timeoutMs: o.trialTimeoutMs,
    ...(name === "fake" && { tapes: shared.oracle }),
  };
  const ticker = new Ticker();
  try {
    if (o.warmup) await runTrial({ ...env, runTag: `${shared.runTag}w` }, planTrial(o.seed + 1, scenario("echo-30"), 0), ticker);
    const m0 = machineTicks();
    let done = 0;
    const trials = await pool(
      plans,
      o.concurrency[name],
      async (plan) => {
        const t = await runTrial(env, plan, ticker);
        done++;
        if (done % 10 === 0 || done === plans.length) o.log(`${name}: ${done}/${plans.length} trials`);
        return t;
      },
      o.signal,
    );
    const m1 = machineTicks();
    const turnTaking = trials.find((t) => t.turnTaking)?.turnTaking ?? undefined;
    return {
      system: name,
      label: system.label,
      turnTaking,
      wallMs: Math.round(performance.now() - started),
      machineBusyPct: Number(((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total)).toFixed(1)),
      rows: summarize(trials),
      targets: checkTargets(trials, turnTaking),
      details: system.details(),
      workerdLogs: system.logs.slice(-50),
      trials: SCENARIOS.flatMap((s) => trials.filter((t) => t.kind === s.kind)),
    };
  } finally {
    await system.dispose();
  }
}

function workerdVersion(): string {
  try {
    return (JSON.parse(readFileSync(resolve(ROOT, "node_modules/workerd/package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
