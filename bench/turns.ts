// `npm run bench:turns`: turn-taking benchmark. Plays generated scenarios (the reply's own echo at
// -30/-20/-10 dB, backchannels, coughs, clicks, noise bursts, real interruptions early/middle/late
// and while thinking, a user who goes on after the end of turn) through the real Worker, first with
// the turn-taking fake Workers AI, then with the local stand-in, and prints false and missed
// interruptions, resumes, time to silence and words lost per scenario. Then the end-of-turn scenarios
// (a 0.4 / 0.7 / 1.0 s pause mid-sentence, a finished sentence) through the silence, smart-turn and
// transcript-signal paths on the fake: false ends of turn and the end-of-turn delay. See bench/README.md.
//
//   npm run bench:turns                        full run (~11 min on 2 cores): tables + bench/results/turns-<time>.json
//   npm run bench:turns -- --smoke             a few trials of each kind on the fake (what npm test runs)
//   npm run bench:turns -- --system fake       one system only (fake | local)
//   npm run bench:turns -- --eot-only          only the end-of-turn scenarios (~1.5 min); --no-eot skips them
//   npm run bench:turns -- --eot-paths smart-turn,transcript --eot-concurrency 8
//   npm run bench:turns -- --seed 7 --concurrency 8 --local-concurrency 4 --local-trials 10 --out file.json
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { numberOption, printHelpAndExit, runMain } from "./harness/cli.ts";
import { ROOT, abortOnInterrupt, killLiveWorkerd } from "./harness/server.ts";
import { formatTurnReport } from "./turn-taking/report.ts";
import { DEFAULT_TURN_BENCH, runTurnBench } from "./turn-taking/runner.ts";
import type { SystemName } from "./turn-taking/systems.ts";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    system: { type: "string" },
    seed: { type: "string" },
    concurrency: { type: "string" },
    "local-concurrency": { type: "string" },
    "local-trials": { type: "string" },
    out: { type: "string" },
    "eot-only": { type: "boolean", default: false },
    "no-eot": { type: "boolean", default: false },
    "eot-paths": { type: "string" },
    "eot-concurrency": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (values.help) printHelpAndExit(import.meta.url, (url) => readFileSync(url, "utf8"));

const int = (name: string, v: string | undefined, min: number, max: number, fallback: number): number =>
  numberOption(name, v, min, max, true) ?? fallback;

function systems(v: string | undefined): SystemName[] {
  if (values["eot-only"]) return [];
  if (v === undefined) return values.smoke ? ["fake"] : DEFAULT_TURN_BENCH.systems;
  if (v === "fake" || v === "local") return [v];
  console.error(`--system must be fake or local, got ${v}`);
  process.exit(2);
}

async function main(): Promise<number> {
  const signal = abortOnInterrupt("finishing the trials in flight");
  const d = DEFAULT_TURN_BENCH;
  const result = await runTurnBench({
    smoke: values.smoke,
    systems: systems(values.system),
    seed: int("seed", values.seed, 0, 2 ** 31, d.seed),
    concurrency: {
      fake: int("concurrency", values.concurrency, 1, 64, d.concurrency.fake),
      local: int("local-concurrency", values["local-concurrency"], 1, 64, d.concurrency.local),
    },
    localTrials: int("local-trials", values["local-trials"], 1, 200, d.localTrials),
    endOfTurnPaths: values["no-eot"] ? [] : (values["eot-paths"]?.split(",").map((p) => p.trim()) ?? d.endOfTurnPaths),
    endOfTurnConcurrency: int("eot-concurrency", values["eot-concurrency"], 1, 64, d.endOfTurnConcurrency),
    signal,
  });
  if (signal.aborted) {
    console.error("interrupted: partial results not written");
    return 130;
  }
  const file = resolve(ROOT, "bench/results", `turns-${result.startedAt.replace(/[:.]/g, "-")}.json`);
  const targets = [file, ...(values.out ? [resolve(values.out)] : [])];
  for (const t of targets) {
    mkdirSync(dirname(t), { recursive: true });
    writeFileSync(t, `${JSON.stringify(result, null, 2)}\n`);
  }
  console.log(formatTurnReport(result));
  console.error(`results: ${targets.map((t) => relative(process.cwd(), t)).join(", ")}`);
  return result.incomplete.length ? 1 : 0;
}

runMain(main, killLiveWorkerd);
