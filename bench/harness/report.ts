// Text output of a benchmark result: the summary table, the per-stage breakdown, the targets, and the
// differences against an earlier result.
import type { Dist, PhaseResult } from "./analyze.ts";
import type { BenchResult } from "./bench.ts";
import { formatFloodReport } from "./flood.ts";
import type { PathsResult } from "./paths.ts";

export const TARGETS = { sessions: 50, overheadP50Ms: 5, overheadP99Ms: 20, naiveRatio: 3 };

const f = (x: number | undefined, digits = 1) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits));
const pad = (s: string, n: number) => (s.length >= n ? s : " ".repeat(n - s.length) + s);
const padEnd = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));

function table(header: string[], rows: string[][], leftCols = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (i < leftCols ? padEnd(c, widths[i]!) : pad(c, widths[i]!))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The fake's calibrated floor (p50) inside one of Parley's client-observed stages. */
function stageFloor(c: Record<string, Dist>, stage: string): number {
  const p50 = (k: string) => c[k]?.p50 ?? 0;
  switch (stage) {
    case "stt":
      return p50("stt");
    case "llm first token":
      return p50("llmFirstToken");
    case "tokens to first chunk":
      return p50("llmFirstChunkToken") - p50("llmFirstToken");
    case "tts+send first chunk":
      return p50("tts");
    default:
      return 0;
  }
}

/** One row per phase, led by its pipeline and N. */
function phaseTable(phases: PhaseResult[], columns: string[], cells: (p: PhaseResult) => string[]): string {
  return table(
    ["pipeline", "N", ...columns],
    phases.map((p) => [p.pipeline, String(p.sessions), ...cells(p)]),
    1,
  );
}

const trio = (d: Dist, digits = 1) => `${f(d.p50, digits)} / ${f(d.p95, digits)} / ${f(d.p99, digits)}`;

/** The phase used to judge the targets: N = 50 if measured, else the largest N. */
export function targetPhase(r: BenchResult, pipeline: "parley" | "naive" = "parley"): PhaseResult | undefined {
  const ps = r.phases.filter((p) => p.pipeline === pipeline);
  return ps.find((p) => p.sessions === TARGETS.sessions) ?? ps.sort((a, b) => b.sessions - a.sessions)[0];
}

export interface TargetCheck {
  name: string;
  value: string;
  met: boolean;
}

export function checkTargets(r: BenchResult): TargetCheck[] {
  const p = targetPhase(r);
  if (!p) return [];
  const ratio = r.ratios.find((x) => x.sessions === p.sessions) ?? r.ratios[0];
  const checks: TargetCheck[] = [
    {
      name: `overhead p50 <= ${TARGETS.overheadP50Ms} ms at N=${p.sessions} (strict: fake's nominal latencies only)`,
      value: `${f(p.overheadMs.p50)} ms`,
      met: p.overheadMs.p50 <= TARGETS.overheadP50Ms,
    },
    {
      name: `overhead p99 <= ${TARGETS.overheadP99Ms} ms at N=${p.sessions} (strict)`,
      value: `${f(p.overheadMs.p99)} ms`,
      met: p.overheadMs.p99 <= TARGETS.overheadP99Ms,
    },
  ];
  if (p.overheadNetMs && p.fakeFloorMs !== undefined) {
    const why = `net of the fake AI's own ${f(p.fakeFloorMs)} ms floor`;
    checks.push(
      {
        name: `overhead p50 <= ${TARGETS.overheadP50Ms} ms at N=${p.sessions} (${why})`,
        value: `${f(p.overheadNetMs.p50)} ms`,
        met: p.overheadNetMs.p50 <= TARGETS.overheadP50Ms,
      },
      {
        name: `overhead p99 <= ${TARGETS.overheadP99Ms} ms at N=${p.sessions} (${why})`,
        value: `${f(p.overheadNetMs.p99)} ms`,
        met: p.overheadNetMs.p99 <= TARGETS.overheadP99Ms,
      },
    );
  }
  checks.push(
    {
      name: `no inter-segment starvation at N=${p.sessions}`,
      value: `${p.gaps.starvations} starved, min queued ${f(p.gaps.minQueuedAudioMs, 0)} ms`,
      met: p.gaps.starvations === 0 && p.gaps.replies > 0,
    },
    {
      name: `all turns completed at N=${p.sessions}`,
      value: `${p.turnsCompleted}/${p.turnsPlanned}`,
      met: p.turnsCompleted === p.turnsPlanned,
    },
  );
  if (ratio) {
    checks.push({
      name: `TTFA naive/Parley >= ${TARGETS.naiveRatio}x (N=${ratio.sessions})`,
      value: `${f(ratio.ttfaP50Ratio, 2)}x (ideal with these latencies ${f(r.expectations.idealRatio, 2)}x)`,
      met: ratio.ttfaP50Ratio >= TARGETS.naiveRatio,
    });
  }
  return checks;
}

export function formatReport(r: BenchResult): string {
  const o = r.options;
  const l = o.latencies;
  const ex = r.expectations;
  const out: string[] = [];
  out.push(
    `Parley benchmark  ${r.startedAt}  commit ${r.git.commit?.slice(0, 10) ?? "?"}${r.git.dirty ? " (uncommitted changes)" : ""}  ` +
      `${r.machine.cores} cores (${r.machine.cpuModel}), Node ${r.machine.node}, workerd ${r.machine.workerd}, run ${f(r.durationMs / 1000, 0)} s`,
  );
  out.push(
    `Fake AI: STT ${l.sttMs} ms; LLM ${l.llmFirstTokenMs} ms to first token + ${l.llmTokenMs} ms/token (${f(1000 / l.llmTokenMs, 0)} tok/s); ` +
      `TTS ${l.ttsMsPerSentence} ms per sentence. Endpointing silence ${o.silenceMs} ms. ${o.turns} turns per session.`,
  );
  if (r.baseline) {
    out.push(
      `Before the run: machine ${f(r.baseline.machineBusyPct)}% busy with no session open (other work on it), workerd idle ${f(r.baseline.workerdIdleCpuPctOfCore, 2)}% of a core.` +
        (r.baseline.machineBusyPct > 20 ? " WARNING: busy machine, percentiles are noisy." : ""),
    );
  }
  out.push(
    `Reply: ${ex.replyTokens} tokens, ${ex.chunks.length} chunks; Parley's first chunk is released by token ${ex.firstChunkTokens} ("${ex.firstChunk}").`,
  );
  out.push(
    `Critical path of the fake: Parley ${ex.parley.sttMs} + ${ex.parley.llmMs} + ${ex.parley.ttsMs} = ${ex.parley.criticalMs} ms (ideal TTFA ${o.silenceMs + ex.parley.criticalMs} ms); ` +
      `naive ${ex.naive.sttMs} + ${ex.naive.llmMs} + ${ex.naive.ttsMs} = ${ex.naive.criticalMs} ms (ideal TTFA ${o.silenceMs + ex.naive.criticalMs} ms); ` +
      `ideal ratio ${f(ex.idealRatio, 2)}x (${f(ex.idealRatioAfterEndpointing, 2)}x after endpointing).`,
  );
  out.push("");
  out.push(
    "Latency (ms). TTFA = end of user speech -> first audio byte at the client. Overhead = first audio - turn-ending frame sent - critical path " +
      "(net = minus the fake AI's own calibrated floor; raw = TTFA - silence - critical path, client pacing included; pacing = client lateness).",
  );
  out.push(
    phaseTable(
      r.phases,
      [
        "turns",
        "TTFA p50 / p95 / p99",
        "overhead p50 / p95 / p99",
        "net p50 / p99",
        "raw ovh p99",
        "pacing p99",
        "ping RTT p50 / p99",
        "starved",
        "max gap",
        "min queued",
      ],
      (p) => [
        `${p.turnsCompleted}/${p.turnsPlanned}`,
        trio(p.ttfaMs, 0),
        trio(p.overheadMs),
        p.overheadNetMs ? `${f(p.overheadNetMs.p50)} / ${f(p.overheadNetMs.p99)}` : "–",
        f(p.overheadRawMs.p99),
        f(p.pacingSlipMs.p99),
        `${f(p.pingRttMs.p50)} / ${f(p.pingRttMs.p99)}`,
        `${p.gaps.starvations}/${Math.max(0, p.gaps.replies * (p.gaps.segmentsPerReply - 1))}`,
        f(p.gaps.maxInterSegmentGapMs, 0),
        f(p.gaps.minQueuedAudioMs, 0),
      ],
    ),
  );
  out.push("");
  out.push(
    "Cost. CPU = workerd process (DOs + fake AI + router) per second of upstream audio, and per turn beyond the frame cost; " +
      "CPU % = of one core (busiest thread: workerd runs JavaScript on one thread); " +
      "bench CPU = the client process, % of one core; other load = machine CPU used by other processes, % of all cores.",
  );
  out.push(
    phaseTable(
      r.phases,
      [
        "CPU ms/audio-s",
        "CPU ms/turn",
        "workerd CPU %",
        "busiest thread %",
        "frames/s",
        "rate-limited",
        "lost frames",
        "bench CPU %",
        "other load %",
        "client lag p99",
      ],
      (p) => [
        f(p.cpu.workerdCpuMsPerAudioSecond, 2),
        f(p.cpu.workerdCpuMsPerTurn),
        f(p.cpu.workerdCoreUtilPct),
        f(p.cpu.workerdBusiestThreadPct),
        f(p.frames.perSecond, 0),
        String(p.frames.rateLimitedErrors),
        String(p.frames.lostInUtterances),
        f(p.cpu.benchCpuPctOfCore),
        f(p.cpu.otherProcessesPct),
        f(p.cpu.clientLoopDelayP99Ms),
      ],
    ),
  );
  for (const m of r.memory ?? []) {
    out.push(
      `Memory (${m.pipeline}): ${f(m.perSessionMiB, 2)} MiB RSS per session (${m.sessions} sessions with one turn each on a fresh workerd: ${f(m.rssBaseMiB, 0)} -> ${f(m.rssPeakMiB, 0)} MiB).`,
    );
  }
  for (const fc of r.frameCost ?? []) {
    out.push(
      `Idle streaming (${fc.pipeline}, N=${fc.sessions}, silence only): ${f(fc.cpuUsPerFrame, 1)} us workerd CPU per 20 ms frame = ` +
        `${f(fc.cpuMsPerAudioSecond, 2)} ms per audio second (${f(fc.cpuMsPerAudioSecond / 10, 2)}% of a core per session); ping RTT p50 / p99 ${f(fc.pingRttMs.p50)} / ${f(fc.pingRttMs.p99)} ms.`,
    );
  }
  if (r.calibration) {
    const c = r.calibration;
    out.push(
      `Calibration at idle, p50 / p99 ms. Fake AI floor over nominal latency (raw env.AI.run from a plain Worker: service-binding RPC + workerd timers, no Parley code): ` +
        Object.entries(c)
          .filter(([k]) => k !== "fakeAiCpuMsPerTurn")
          .map(([k, d]) => `${k} ${f(d.p50)} / ${f(d.p99)}`)
          .join(", ") +
        ".",
    );
  }
  if (r.calibration?.fakeAiCpuMsPerTurn) {
    out.push(
      `The fake AI itself costs about ${f(r.calibration.fakeAiCpuMsPerTurn.p50)} ms of workerd CPU per turn (included in "CPU ms/turn" above).`,
    );
  }
  if (r.ratios.length) {
    out.push("");
    out.push(
      `Naive / Parley TTFA (p50): ${r.ratios.map((x) => `N=${x.sessions} ${f(x.ttfaP50Ratio, 2)}x (${f(x.ttfaP50RatioAfterEndpointing, 2)}x after endpointing)`).join(", ")}. ` +
        `Ideal with these latencies: ${f(ex.idealRatio, 2)}x.`,
    );
  }
  const parley = r.phases.filter((p) => p.pipeline === "parley");
  if (parley.length) {
    out.push("");
    out.push(
      "Where Parley's overhead goes, p50 / p99 ms (client-observed stage time minus the fake's latency; stages add up to the overhead):",
    );
    const stages = Object.keys(parley[0]!.stagesMs);
    const server = Object.keys(parley[0]!.serverMs);
    out.push(
      table(
        ["N", ...stages, ...server.map((s) => `server: ${s}`)],
        parley.map((p) => [
          String(p.sessions),
          ...stages.map((s) => `${f(p.stagesMs[s]!.p50)} / ${f(p.stagesMs[s]!.p99)}`),
          ...server.map((s) => `${f(p.serverMs[s]!.p50)} / ${f(p.serverMs[s]!.p99)}`),
        ]),
        0,
      ),
    );
    const c = r.calibration;
    if (c) {
      out.push("");
      out.push(
        "The same stages net of the fake AI's own floor (stage p50 / p99 minus the calibrated floor p50 of the AI call in it) = Parley's code + workerd + transport:",
      );
      out.push(
        table(
          ["N", ...stages],
          parley.map((p) => [
            String(p.sessions),
            ...stages.map((s) => `${f(p.stagesMs[s]!.p50 - stageFloor(c, s))} / ${f(p.stagesMs[s]!.p99 - stageFloor(c, s))}`),
          ]),
          0,
        ),
      );
    }
    const t = targetPhase(r);
    if (t) {
      const net = (s: string, d: Dist, k: "p50" | "p99") => d[k] - (c ? stageFloor(c, s) : 0);
      const top = Object.entries(t.stagesMs).sort((a, b) => net(b[0], b[1], "p50") - net(a[0], a[1], "p50"))[0];
      const top99 = Object.entries(t.stagesMs).sort((a, b) => net(b[0], b[1], "p99") - net(a[0], a[1], "p99"))[0];
      if (top && top99) {
        out.push(
          `Biggest stage at N=${t.sessions}${c ? " (net of the fake's floor)" : ""}: "${top[0]}" at p50 (${f(net(top[0], top[1], "p50"))} ms), ` +
            `"${top99[0]}" at p99 (${f(net(top99[0], top99[1], "p99"))} ms).`,
        );
      }
    }
  }
  const checks = checkTargets(r);
  if (checks.length) {
    out.push("");
    out.push("Targets:");
    for (const c of checks) out.push(`  ${c.met ? "MET   " : "MISSED"} ${c.name}: ${c.value}`);
  }
  if (r.incomplete.length) out.push(`Incomplete phases: ${r.incomplete.join("; ")}`);
  if (r.paths) {
    out.push("");
    out.push(formatPathsReport(r.paths));
  }
  if (r.flood) {
    out.push("");
    out.push(formatFloodReport(r.flood));
  }
  return out.join("\n");
}

const COMPARED: [string, (p: PhaseResult) => number, number][] = [
  ["TTFA p50", (p) => p.ttfaMs.p50, 0],
  ["overhead p50", (p) => p.overheadMs.p50, 1],
  ["overhead p95", (p) => p.overheadMs.p95, 1],
  ["overhead p99", (p) => p.overheadMs.p99, 1],
  ["starvations", (p) => p.gaps.starvations, 0],
  ["CPU ms/audio-s", (p) => p.cpu.workerdCpuMsPerAudioSecond, 2],
  ["CPU ms/turn", (p) => p.cpu.workerdCpuMsPerTurn ?? NaN, 1],
  ["lost frames", (p) => p.frames.lostInUtterances, 0],
];

export function formatComparison(before: BenchResult, after: BenchResult, beforeLabel: string): string {
  const out: string[] = [`Compared with ${beforeLabel} (${before.startedAt}, commit ${before.git.commit?.slice(0, 10) ?? "?"}):`];
  const rows: string[][] = [];
  for (const p of after.phases) {
    const q = before.phases.find((x) => x.pipeline === p.pipeline && x.sessions === p.sessions);
    if (!q) continue;
    for (const [name, get, digits] of COMPARED) {
      const a = get(q);
      const b = get(p);
      const d = b - a;
      const pct = a !== 0 && Number.isFinite(a) ? ` (${d >= 0 ? "+" : ""}${f((100 * d) / Math.abs(a), 0)}%)` : "";
      rows.push([p.pipeline, String(p.sessions), name, f(a, digits), f(b, digits), `${d >= 0 ? "+" : ""}${f(d, digits)}${pct}`]);
    }
  }
  out.push(rows.length ? table(["pipeline", "N", "metric", "before", "after", "change"], rows, 3) : "  (no phase in common)");
  for (const m of after.memory ?? []) {
    const q = (before.memory ?? []).find((x) => x.pipeline === m.pipeline);
    if (q) out.push(`memory per session (${m.pipeline}): before ${f(q.perSessionMiB, 2)} MiB, after ${f(m.perSessionMiB, 2)} MiB`);
  }
  const ra = before.ratios.map((x) => `N=${x.sessions} ${f(x.ttfaP50Ratio, 2)}x`).join(", ");
  const rb = after.ratios.map((x) => `N=${x.sessions} ${f(x.ttfaP50Ratio, 2)}x`).join(", ");
  if (ra || rb) out.push(`naive/Parley TTFA: before ${ra || "–"}; after ${rb || "–"}`);
  const lat = (r: BenchResult) => JSON.stringify(r.options.latencies) + ` silence ${r.options.silenceMs}`;
  if (lat(before) !== lat(after)) out.push(`Note: the fake latencies differ between the runs (${lat(before)} vs ${lat(after)}).`);
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------------
// Turn-taking paths

export const PATH_TARGETS = { streamingP50Ms: 700, streamingP95Ms: 1_100, smartTurnGainMs: 300 };

export interface PathCheck {
  name: string;
  value: string;
  met: boolean;
}

export function checkPathTargets(r: PathsResult): PathCheck[] {
  const by = (id: string) => r.paths.find((p) => p.id === id && p.turnsCompleted > 0);
  const base = by("baseline");
  const checks: PathCheck[] = [];
  for (const id of ["flux-eager", "flux-eager-alone", "flux", "nova-transcript"]) {
    const p = by(id);
    if (!p) continue;
    const d = p.ttfaWithNetworkMs;
    checks.push({
      name: `streaming path "${p.label}": p50 <= ${PATH_TARGETS.streamingP50Ms} ms, p95 <= ${PATH_TARGETS.streamingP95Ms} ms (with the client <-> edge RTT)`,
      value: `p50 ${f(d.p50, 0)} / p95 ${f(d.p95, 0)} ms`,
      met: d.p50 <= PATH_TARGETS.streamingP50Ms && d.p95 <= PATH_TARGETS.streamingP95Ms,
    });
  }
  const st = by("smart-turn");
  if (st && base) {
    const gain = base.ttfaMs.p50 - st.ttfaMs.p50;
    checks.push({
      name: `batch + smart-turn p50 at least ${PATH_TARGETS.smartTurnGainMs} ms better than the baseline`,
      value: `${f(gain, 0)} ms better (${f(st.ttfaMs.p50, 0)} vs ${f(base.ttfaMs.p50, 0)} on the loopback)`,
      met: gain >= PATH_TARGETS.smartTurnGainMs,
    });
  }
  return checks;
}

export function formatPathsReport(r: PathsResult): string {
  const out: string[] = [];
  const rtt = r.clientEdgeRttMs;
  const W = r.profile;
  out.push(
    `Turn-taking paths  ${r.startedAt}  run ${f(r.durationMs / 1000, 0)} s; machine ${f(r.machineBusyBeforePct)}% busy before; ` +
      `${r.options.sessions} sessions x ${r.options.turnsPerSession} turns per path (flite fixtures ${r.fixtures.map((x) => x.name).join(", ")}), one workerd per path.`,
  );
  out.push(
    `Fake Workers AI, profile bench/profiles/workers-ai.ts: Whisper ${W.whisper.baseMs.value} ms + ${W.whisper.msPerAudioSecond.value} ms/audio-s; ` +
      `LLM ${W.llm.firstTokenMs.value} ms to first token, ${W.llm.tokensPerSecond.value} tokens/s; melotts ${W.tts.baseMs.value} ms + ${W.tts.msPerChar.value} ms/char; ` +
      `smart-turn ${W.smartTurn.inferenceMs.value} ms + ${W.network.doAiRttMs.value} ms RTT (always "complete"); ` +
      `Flux EndOfTurn ${W.flux.endOfTurnP50Ms.value} ms p50 / ${W.flux.endOfTurnP95Ms.value} ms p95 after the end of speech (vendor claims; stratified draws), ` +
      `EagerEndOfTurn ${W.flux.eagerEarlierMs.value} ms earlier, + ${W.network.doAiRttMs.value} ms RTT; Nova words ${W.nova.wordLagMs.value} ms after they end, Finalize ${W.nova.finalizeMs.value} ms.`,
  );
  out.push(
    `p50 / p95 = end of user speech (send of the last voiced 20 ms frame) -> first reply audio byte at the client, endpointing included, ` +
      `measured on the loopback + the profile's client <-> edge RTT (${rtt} ms: the end of speech travels up, the audio down). ` +
      `"vs baseline" compares p50s. "ideal" = the profile's model latencies alone on the path's critical path (median Flux delays).`,
  );
  const base = r.paths.find((p) => p.id === "baseline" && p.turnsCompleted > 0);
  out.push(
    table(
      ["path", "turns", "p50", "p95", "vs baseline", "ideal", "end of turn p50", "ended by", "what it measures"],
      r.paths.map((p) => {
        const d = p.ttfaWithNetworkMs;
        const vs =
          base && p !== base && p.turnsCompleted
            ? `${f(d.p50 - base.ttfaWithNetworkMs.p50, 0)} ms, ${f(d.p50 / base.ttfaWithNetworkMs.p50, 2)}x`
            : p === base
              ? "–"
              : "?";
        return [
          p.label,
          `${p.turnsCompleted}/${p.turnsPlanned}`,
          f(d.p50, 0),
          f(d.p95, 0),
          vs,
          f(p.idealMs + rtt, 0),
          f(p.endOfTurnMs.p50, 0),
          Object.entries(p.endOfTurnSources)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ") || "–",
          p.measures,
        ];
      }),
      1,
    ).replace(/ +$/gm, ""),
  );
  out.push("");
  out.push("Ideal critical paths (ms, no network): " + r.paths.map((p) => `${p.id} ${p.idealMs} = ${p.idealBreakdown}`).join("; ") + ".");
  const errs = r.paths.filter((p) => Object.keys(p.errors).length).map((p) => `${p.id}: ${JSON.stringify(p.errors)}`);
  if (errs.length) out.push(`Errors from the server: ${errs.join("; ")}`);
  const checks = checkPathTargets(r);
  if (checks.length) {
    out.push("Targets:");
    for (const c of checks) out.push(`  ${c.met ? "MET   " : "MISSED"} ${c.name}: ${c.value}`);
  }
  if (r.incomplete.length) out.push(`Incomplete: ${r.incomplete.join("; ")}`);
  return out.join("\n");
}
