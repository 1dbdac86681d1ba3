// `npm run bench`: pipeline overhead, concurrency and cost of Parley against a fake Workers AI with
// fixed latencies, with a naive baseline in the same run; then the turn-taking paths (end of user speech
// -> first reply audio for each end-of-turn path, fake latencies from bench/profiles/workers-ai.ts).
// See bench/README.md.
//
//   npm run bench                                  N = 1, 10, 50, 100; 4 turns each; then the paths; table + bench/results/<time>.json
//   npm run bench -- --paths-only                  only the turn-taking paths (~2.5 min); --no-paths skips them
//   npm run bench -- --paths baseline,flux-eager --path-sessions 4 --path-turns 5
//   npm run bench -- --compare bench/results/reference.json   same, then the differences
//   npm run bench -- --smoke                       N = 2, one turn, and one turn per path (what the test suite runs)
//   npm run bench -- --sessions 1,50 --turns 6 --stt 300 --llm-first-token 400 --tokens-per-second 30 --tts 200 --silence 700
//   npm run bench -- --from bench/results/x.json --compare bench/results/reference.json   no run, just print / compare
//   --out <file>  also write the JSON there;  --no-naive  skip the baseline;  --no-warmup
//   --storage tmpfs   Durable Object SQLite files on /dev/shm instead of disk (isolates the storage commit cost)
//   npm run bench -- --flood-only                  only the flood row: 10,000 messages from one connection, bystander pings, memory
//   npm run bench -- --flood-only --flood-messages 20000;  --no-flood skips the flood row of a full run
//   npm run bench -- --phone-only                  only the phone rows: phone path overhead over the browser path, barge-in -> clear
//   npm run bench -- --phone-only --phone-calls 5 --phone-turns 4;  --no-phone skips the phone rows of a full run
//   npm run bench -- --fuzz 100000 [--fuzz-seed 7]    only the fuzz run: N random and mutated inputs against a live session
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_OPTIONS, runBench, type BenchOptions, type BenchResult } from "./harness/bench.ts";
import { DEFAULT_PATHS_OPTIONS, runPaths, type PathsOptions, type PathsResult } from "./harness/paths.ts";
import { formatComparison, formatPathsReport, formatReport } from "./harness/report.ts";
import { floodChecks, formatFloodReport, runFlood } from "./harness/flood.ts";
import { formatFuzzReport, runFuzz } from "./harness/fuzz.ts";
import { DEFAULT_PHONE_OPTIONS, formatPhoneReport, phoneChecks, runPhoneBench, type PhoneBenchOptions } from "./harness/phone.ts";
import { numberOption, printHelpAndExit, runMain } from "./harness/cli.ts";
import { ROOT, abortOnInterrupt, killLiveWorkerd } from "./harness/server.ts";

const { values } = parseArgs({
  options: {
    sessions: { type: "string" },
    turns: { type: "string" },
    smoke: { type: "boolean", default: false },
    "no-naive": { type: "boolean", default: false },
    "no-warmup": { type: "boolean", default: false },
    stt: { type: "string" },
    "llm-first-token": { type: "string" },
    "tokens-per-second": { type: "string" },
    tts: { type: "string" },
    silence: { type: "string" },
    storage: { type: "string" },
    out: { type: "string" },
    compare: { type: "string" },
    from: { type: "string" },
    "paths-only": { type: "boolean", default: false },
    "no-paths": { type: "boolean", default: false },
    paths: { type: "string" },
    "path-sessions": { type: "string" },
    "path-turns": { type: "string" },
    "flood-only": { type: "boolean", default: false },
    "no-flood": { type: "boolean", default: false },
    "flood-messages": { type: "string" },
    "phone-only": { type: "boolean", default: false },
    "no-phone": { type: "boolean", default: false },
    "phone-calls": { type: "string" },
    "phone-turns": { type: "string" },
    fuzz: { type: "string" },
    "fuzz-seed": { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (values.help) printHelpAndExit(import.meta.url, (url) => readFileSync(url, "utf8"));

const num = (name: string, v: string | undefined, min: number, max: number): number | undefined => numberOption(name, v, min, max);

function bad(name: string, v: string): never {
  console.error(`--${name}: unexpected value ${v}`);
  process.exit(2);
}

function load(file: string): BenchResult {
  const r = JSON.parse(readFileSync(resolve(file), "utf8")) as BenchResult;
  if (r.version !== 1 || !Array.isArray(r.phases)) throw new Error(`${file} is not a benchmark result`);
  return r;
}

function write(result: { startedAt: string }, prefix: string): void {
  const file = resolve(ROOT, "bench/results", `${prefix}${result.startedAt.replace(/[:.]/g, "-")}.json`);
  const targets = [file, ...(values.out ? [resolve(values.out)] : [])];
  for (const t of targets) {
    mkdirSync(dirname(t), { recursive: true });
    writeFileSync(t, `${JSON.stringify(result, null, 2)}\n`);
  }
  console.error(`results: ${targets.map((t) => relative(process.cwd(), t)).join(", ")}`);
}

function pathOptions(signal: AbortSignal): Partial<PathsOptions> {
  const d = DEFAULT_PATHS_OPTIONS;
  return {
    paths: values.paths?.split(",").map((p) => p.trim()) ?? d.paths,
    sessions: values.smoke ? 1 : (num("path-sessions", values["path-sessions"], 1, 50) ?? d.sessions),
    turnsPerSession: values.smoke ? 1 : (num("path-turns", values["path-turns"], 1, 50) ?? d.turnsPerSession),
    warmup: !values.smoke && !values["no-warmup"],
    signal,
  };
}

function floodOptions(signal: AbortSignal) {
  const smoke = values.smoke ? { warmup: false, afterMs: 1_000, settleMs: 500 } : {};
  return { messages: num("flood-messages", values["flood-messages"], 100, 100_000) ?? (values.smoke ? 2_000 : 10_000), ...smoke, signal };
}

function phoneOptions(signal: AbortSignal): Partial<PhoneBenchOptions> {
  const d = DEFAULT_PHONE_OPTIONS;
  return {
    calls: values.smoke ? 1 : (num("phone-calls", values["phone-calls"], 1, 100) ?? d.calls),
    turnsPerCall: values.smoke ? 2 : (num("phone-turns", values["phone-turns"], 1, 50) ?? d.turnsPerCall),
    warmup: !values.smoke && !values["no-warmup"],
    signal,
  };
}

async function main(): Promise<number> {
  let result: BenchResult;
  if (values.from) {
    const raw = JSON.parse(readFileSync(resolve(values.from), "utf8")) as BenchResult | PathsResult;
    if (!("phases" in raw) && Array.isArray((raw as PathsResult).paths)) {
      console.log(formatPathsReport(raw as PathsResult));
      return 0;
    }
    result = load(values.from);
  } else if (values.fuzz !== undefined) {
    const inputs = numberOption("fuzz", values.fuzz, 1, 10_000_000, true)!;
    const r = await runFuzz({
      inputs,
      seed: numberOption("fuzz-seed", values["fuzz-seed"], 0, 2 ** 32 - 1, true) ?? 1,
      log: (l) => console.error(l),
    });
    console.log(formatFuzzReport(r));
    return formatFuzzReport(r).includes("MISSED") ? 1 : 0;
  } else if (values["flood-only"]) {
    const signal = abortOnInterrupt("stopping the flood and workerd");
    const flood = await runFlood(floodOptions(signal));
    write(flood, "flood-");
    console.log(formatFloodReport(flood));
    return floodChecks(flood).every((c) => c.met) ? 0 : 1;
  } else if (values["phone-only"]) {
    const signal = abortOnInterrupt("stopping the phone calls and workerd");
    const phone = await runPhoneBench(phoneOptions(signal));
    if (signal.aborted) {
      console.error("interrupted: partial results not written");
      return 130;
    }
    write(phone, "phone-");
    console.log(formatPhoneReport(phone));
    return phone.incomplete.length === 0 && phoneChecks(phone).every((c) => c.met) ? 0 : 1;
  } else if (values["paths-only"]) {
    const signal = abortOnInterrupt("stopping the current path and workerd");
    const paths = await runPaths(pathOptions(signal));
    if (signal.aborted) {
      console.error("interrupted: partial results not written");
      return 130;
    }
    write(paths, "paths-");
    console.log(formatPathsReport(paths));
    return paths.incomplete.length ? 1 : 0;
  } else {
    const d = DEFAULT_OPTIONS;
    const sessions = values.sessions?.split(",").map((s) => num("sessions", s.trim(), 1, 500)!);
    const tps = num("tokens-per-second", values["tokens-per-second"], 1, 1000);
    const opts: Partial<BenchOptions> = {
      sessions: values.smoke ? [2] : (sessions ?? d.sessions),
      turns: values.smoke ? 1 : (num("turns", values.turns, 1, 50) ?? d.turns),
      warmup: !values.smoke && !values["no-warmup"],
      idleStream: values.smoke ? { sessions: 0, ms: 0 } : d.idleStream,
      memoryProbeSessions: values.smoke ? 0 : d.memoryProbeSessions,
      naive: !values["no-naive"],
      silenceMs: num("silence", values.silence, 100, 5000) ?? d.silenceMs,
      storage:
        values.storage === "tmpfs"
          ? "tmpfs"
          : values.storage === undefined || values.storage === "disk"
            ? "disk"
            : bad("storage", values.storage),
      latencies: {
        sttMs: num("stt", values.stt, 0, 60_000) ?? d.latencies.sttMs,
        llmFirstTokenMs: num("llm-first-token", values["llm-first-token"], 0, 60_000) ?? d.latencies.llmFirstTokenMs,
        llmTokenMs: tps !== undefined ? 1000 / tps : d.latencies.llmTokenMs,
        ttsMsPerSentence: num("tts", values.tts, 0, 60_000) ?? d.latencies.ttsMsPerSentence,
      },
    };
    const signal = abortOnInterrupt("stopping the current phase and workerd");
    result = await runBench({ ...opts, signal });
    if (!values["no-paths"] && !signal.aborted) result.paths = await runPaths(pathOptions(signal));
    if (!values["no-flood"] && !signal.aborted) result.flood = await runFlood(floodOptions(signal));
    if (!values["no-phone"] && !signal.aborted) result.phone = await runPhoneBench(phoneOptions(signal));
    if (signal.aborted) {
      console.error("interrupted: partial results not written");
      return 130;
    }
    write(result, "");
  }
  console.log(formatReport(result));
  if (result.phone) {
    console.log("");
    console.log(formatPhoneReport(result.phone));
  }
  if (values.compare) {
    console.log("");
    console.log(formatComparison(load(values.compare), result, values.compare));
  }
  return result.incomplete.length || result.paths?.incomplete.length || result.phone?.incomplete.length ? 1 : 0;
}

runMain(main, killLiveWorkerd);
