// The end-of-turn part of `npm run bench:turns`: the scenarios of eot-scenarios.ts through each
// end-of-turn path (the real Worker in its own workerd, configured by wrangler vars, with the turn-taking
// fake Workers AI), summarized as false ends of turn per pause length and the end-of-turn delay on
// finished sentences.
import type { ClipLibrary } from "./clips.ts";
import { EOT_PATHS, EOT_SCENARIOS, planEotTrials, type EotKind, type EotScenario, type EotTrialPlan } from "./eot-scenarios.ts";
import { runEotTrial, type EotOutcome } from "./eot-trial.ts";
import { machineTicks } from "../harness/proc.ts";
import type { OracleService } from "./oracle-service.ts";
import { formatTable } from "./report.ts";
import { percentiles, type Percentiles, type TargetResult } from "./summary.ts";
import { startFakeSystem } from "./systems.ts";
import { Ticker } from "./trial.ts";

export interface EotRow {
  kind: EotKind;
  label: string;
  trials: number;
  /** Pause scenarios: turns taken during the pause. */
  falseEndOfTurns: number | null;
  /** End of the (last part's) speech -> the server took the turn. */
  endOfTurnMs: Percentiles;
  /** End of speech -> the reply's first audio. */
  firstAudioMs: Percentiles;
  /** The server did not take the turn within the wait. */
  noEndOfTurn: number;
}

export interface EotPathResult {
  id: string;
  label: string;
  vars: Record<string, string>;
  fake: string;
  wallMs: number;
  machineBusyPct: number;
  rows: EotRow[];
  workerdLogs: string[];
  trials: EotOutcome[];
}

export interface EotResult {
  seed: number;
  paths: EotPathResult[];
  targets: TargetResult[];
  oracle: Record<string, number>;
}

export interface EotBenchOptions {
  smoke: boolean;
  seed: number;
  /** Sessions at once. */
  concurrency: number;
  /** Paths to run (ids of EOT_PATHS). */
  paths: string[];
  runTag: string;
  clips: ClipLibrary;
  oracle: OracleService;
  signal?: AbortSignal;
  log: (line: string) => void;
}

async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const out: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal?.aborted) out.push(await fn(items[next++]!));
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function eotTrialCount(smoke: boolean, s: EotScenario): number {
  return smoke ? s.smokeTrials : s.trials;
}

/** Synthesize every clip the trials use before any session starts (flite blocks the event loop). */
export async function prepareEotClips(plans: readonly EotTrialPlan[], clips: ClipLibrary): Promise<void> {
  for (const p of plans) {
    if (p.pauseMs === null) await clips.speech("question", p.whole, p.voice);
    else {
      await clips.speech("question", p.first, p.voice);
      await clips.speech("question", p.rest, p.voice);
    }
  }
}

export function summarizeEot(trials: readonly EotOutcome[]): EotRow[] {
  return EOT_SCENARIOS.flatMap((s) => {
    const t = trials.filter((x) => x.kind === s.kind);
    if (t.length === 0) return [];
    const num = (v: (number | null)[]) => v.filter((x): x is number => x !== null);
    return [
      {
        kind: s.kind,
        label: s.label,
        trials: t.length,
        falseEndOfTurns: s.pauseMs === null ? null : t.filter((x) => x.falseEndOfTurn).length,
        endOfTurnMs: percentiles(num(t.map((x) => x.endOfTurnMs))),
        firstAudioMs: percentiles(num(t.map((x) => x.firstAudioMs))),
        noEndOfTurn: t.filter((x) => x.endOfTurnMs === null).length,
      },
    ];
  });
}

export function checkEotTargets(paths: readonly EotPathResult[]): TargetResult[] {
  const out: TargetResult[] = [];
  for (const id of ["smart-turn", "transcript"]) {
    const p = paths.find((x) => x.id === id);
    if (!p) continue;
    for (const kind of ["pause-400", "pause-700"] as const) {
      const row = p.rows.find((r) => r.kind === kind);
      if (!row) continue;
      out.push({
        target: `${p.label}: 0 false ends of turn at a ${kind === "pause-400" ? "0.4" : "0.7"} s mid-sentence pause`,
        result: `${row.falseEndOfTurns}/${row.trials}`,
        status: row.falseEndOfTurns! > 0 ? "missed" : row.trials >= 8 ? "met" : "too few trials",
      });
    }
  }
  const base = paths.find((x) => x.id === "silence")?.rows.find((r) => r.kind === "finished");
  for (const p of paths) {
    const row = p.rows.find((r) => r.kind === "finished");
    if (!row || p.id === "silence") continue;
    out.push({
      target: `${p.label}: end of turn on a finished sentence, p50 (reported; baseline ${base?.endOfTurnMs.p50 ?? "–"} ms)`,
      result: `p50 ${row.endOfTurnMs.p50 ?? "–"} / p95 ${row.endOfTurnMs.p95 ?? "–"} ms`,
      status: "reported",
    });
  }
  return out;
}

export async function runEotBench(o: EotBenchOptions): Promise<EotResult> {
  const results: EotPathResult[] = [];
  const ticker = new Ticker();
  for (const id of o.paths) {
    if (o.signal?.aborted) break;
    const path = EOT_PATHS.find((p) => p.id === id);
    if (!path) throw new Error(`unknown end-of-turn path ${id} (known: ${EOT_PATHS.map((p) => p.id).join(", ")})`);
    const plans = planEotTrials(o.seed, path.id, (s) => eotTrialCount(o.smoke, s));
    await prepareEotClips(plans, o.clips);
    const started = performance.now();
    o.log(`end of turn, ${path.id}: ${plans.length} trials`);
    const system = await startFakeSystem(o.oracle, path.vars);
    try {
      const env = { url: system.url, clips: o.clips, runTag: o.runTag, tapes: o.oracle };
      const m0 = machineTicks();
      let done = 0;
      const trials = await pool(
        plans,
        o.concurrency,
        async (plan) => {
          const t = await runEotTrial(env, plan, ticker);
          if (++done % 12 === 0 || done === plans.length) o.log(`end of turn, ${path.id}: ${done}/${plans.length} trials`);
          return t;
        },
        o.signal,
      );
      const m1 = machineTicks();
      const order = (t: EotOutcome) => EOT_SCENARIOS.findIndex((s) => s.kind === t.kind);
      results.push({
        id: path.id,
        label: path.label,
        vars: path.vars,
        fake: path.fake,
        wallMs: Math.round(performance.now() - started),
        machineBusyPct: Number(((100 * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total)).toFixed(1)),
        rows: summarizeEot(trials),
        workerdLogs: system.logs.slice(-30),
        trials: [...trials].sort((a, b) => order(a) - order(b)),
      });
    } finally {
      await system.dispose();
    }
  }
  const s = o.oracle.stats;
  return {
    seed: o.seed,
    paths: results,
    targets: checkEotTargets(results),
    oracle: {
      smartTurnCalls: s.smartTurnCalls,
      smartTurnUnlocated: s.smartTurnUnlocated,
      wordLists: s.wordLists,
      sttCalls: s.sttCalls,
      unmatchedSamples: s.unmatchedSamples,
    },
  };
}

const pair = (p: Percentiles) => (p.n === 0 ? "–" : `${p.p50} / ${p.p95}`);

export function formatEotReport(r: EotResult): string {
  const lines = [
    "## End of turn (fake Workers AI, one workerd per path)",
    'false EOT = the server took the turn during a mid-sentence pause (the first part ends on a preposition, article, conjunction or "to": "Set a timer for … ten minutes.").',
    "end of turn / first audio = send of the frame with the last voiced sample of a finished sentence -> the first `state` naming the reply / its first audio, at the client (p50 / p95 ms).",
    "",
  ];
  const kinds = EOT_SCENARIOS.map((s) => s.kind);
  const header = [
    "path",
    ...EOT_SCENARIOS.filter((s) => s.pauseMs !== null).map((s) => `false EOT ${(s.pauseMs! / 1000).toFixed(1)} s`),
    "finished: end of turn",
    "first audio",
    "no end of turn",
  ];
  const rows = r.paths.map((p) => {
    const row = (k: EotKind) => p.rows.find((x) => x.kind === k);
    const fin = row("finished");
    return [
      p.label,
      ...kinds
        .filter((k) => k !== "finished")
        .map((k) => {
          const x = row(k);
          return x ? `${x.falseEndOfTurns}/${x.trials}` : "–";
        }),
      fin ? pair(fin.endOfTurnMs) : "–",
      fin ? pair(fin.firstAudioMs) : "–",
      String(p.rows.reduce((n, x) => n + x.noEndOfTurn, 0)),
    ];
  });
  lines.push(formatTable([header, ...rows]));
  lines.push("");
  lines.push(
    "After the pause (end of the second part -> the server took the turn, p50 / p95 ms): " +
      r.paths
        .map(
          (p) =>
            `${p.id}: ${p.rows
              .filter((x) => x.kind !== "finished")
              .map((x) => `${x.kind} ${pair(x.endOfTurnMs)}`)
              .join(", ")}`,
        )
        .join("; ") +
      ".",
  );
  lines.push(
    `Paths: ${r.paths
      .map(
        (p) =>
          `${p.id} = ${p.fake} (${Object.entries(p.vars)
            .map(([k, v]) => `${k}=${v}`)
            .join(" ")}; ${p.trials.length} trials in ${(p.wallMs / 1000).toFixed(0)} s, machine ${p.machineBusyPct} % busy)`,
      )
      .join("; ")}.`,
  );
  lines.push(`Oracle: ${JSON.stringify(r.oracle)}`);
  const w = Math.max(0, ...r.targets.map((t) => t.target.length));
  lines.push("Targets:");
  for (const t of r.targets) lines.push(`  ${t.target.padEnd(w)}  ${t.status.padEnd(14)}  ${t.result}`);
  const problems = r.paths.flatMap((p) =>
    p.trials
      .filter((t) => Object.keys(t.errors).length || t.invalidMessages.length)
      .map((t) => `${p.id}/${t.id}: ${JSON.stringify(t.errors)} ${t.invalidMessages.length} invalid`),
  );
  if (problems.length) lines.push(`Problems: ${problems.slice(0, 10).join("; ")}`);
  return lines.join("\n");
}
