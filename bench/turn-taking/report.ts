// The turn-taking benchmark's printed report: per system, one row per scenario and the targets.
import { formatEotReport } from "./eot-bench.ts";
import { ECHO_DELAY_MS } from "./scenarios.ts";
import type { SystemResult, TurnBenchResult } from "./runner.ts";
import type { Percentiles, ScenarioRow } from "./summary.ts";

const COLUMNS = [
  "scenario",
  "echo",
  "n",
  "paused",
  "false int.",
  "missed int.",
  "resumed",
  "fallback",
  "onset→silence p50/p95",
  "onset→confirmed+silent p50/p95",
  "words lost max/total",
] as const;

function pair(p: Percentiles | null): string {
  if (!p) return "–";
  if (p.n === 0) return "none";
  return `${p.p50} / ${p.p95}`;
}

function cells(r: ScenarioRow): string[] {
  const of = (v: number | null, n = r.trials) => (v === null ? "–" : `${v}/${n}`);
  return [
    r.label,
    `${r.echoDb} dB`,
    String(r.trials),
    String(r.paused),
    of(r.falseInterruptions),
    of(r.missedInterruptions, r.eventsFired ?? r.trials),
    of(r.resumed),
    String(r.fallbackResumes),
    pair(r.onsetToSilenceMs),
    pair(r.onsetToSilentForGoodMs),
    r.wordsLost ? (r.wordsLost.trials ? `${r.wordsLost.max} / ${r.wordsLost.total}` : "none resumed") : "–",
  ];
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")).join("\n");
}

function formatSystem(s: SystemResult): string {
  const lines = [`## ${s.system}: ${s.label}`];
  if (s.skipped) return [...lines, `skipped: ${s.skipped}`].join("\n");
  const tt = s.turnTaking;
  lines.push(
    `server turn-taking: minInterruptionMs ${tt?.minInterruptionMs ?? "?"}, falseInterruptionTimeoutMs ${tt?.falseInterruptionTimeoutMs ?? "?"}; ` +
      `${s.trials.length} trials in ${(s.wallMs / 1000).toFixed(0)} s, machine ${s.machineBusyPct} % busy`,
  );
  lines.push("");
  lines.push(formatTable([[...COLUMNS], ...s.rows.map(cells)]));
  lines.push("");
  const w = Math.max(...s.targets.map((t) => t.target.length));
  lines.push("Targets:");
  for (const t of s.targets) lines.push(`  ${t.target.padEnd(w)}  ${t.status.padEnd(14)}  ${t.result}`);
  const timedOut = s.trials.filter((t) => t.timedOut).length;
  const errors = new Map<string, number>();
  for (const t of s.trials) for (const [code, n] of Object.entries(t.errors)) errors.set(code, (errors.get(code) ?? 0) + n);
  const invalid = s.trials.reduce((n, t) => n + t.invalidMessages.length, 0);
  if (timedOut || errors.size || invalid) {
    lines.push(
      `Problems: ${timedOut} trials timed out; errors ${[...errors].map(([c, n]) => `${c} x${n}`).join(", ") || "none"}; ${invalid} server messages failed protocol validation`,
    );
  }
  lines.push(`Details: ${JSON.stringify(s.details)}`);
  return lines.join("\n");
}

export function formatTurnReport(r: TurnBenchResult): string {
  const m = r.machine;
  const p = r.latencyProfile;
  const head = [
    `# Turn-taking benchmark${r.smoke ? " (smoke)" : ""}, ${r.startedAt}, seed ${r.seed}`,
    `${m.cores} cores (${m.cpu}), Node ${m.node}, workerd ${m.workerd}; machine ${m.busyBeforePct} % busy before the run (load ${m.loadAvgBefore.join(" ")})`,
    `Reply: ${Math.round(r.reply.expectedMs)} ms of flite speech, 4 sentences. Echo delay ${ECHO_DELAY_MS.from}-${ECHO_DELAY_MS.to} ms; scenarios that are not about echo carry a -30 dB echo.`,
    `Fake latencies (estimates, bench/profiles/workers-ai.ts): STT ${p.sttBaseMs} ms + ${p.sttMsPerAudioSecond} ms/s of audio, LLM first token ${p.llmFirstTokenMs} ms then ${p.llmTokensPerSecond} tokens/s, TTS ${p.ttsBaseMs} ms + ${p.ttsMsPerChar} ms/char, ` +
      `smart-turn ${p.smartTurnMs} ms, Nova-3 live: a word ${p.novaWordLagMs} ms after it ends, Finalize ${p.novaFinalizeMs} ms, + ${p.doAiRttMs} ms DO <-> AI round trip on socket events.`,
    "",
  ];
  const body = [...r.systems.map(formatSystem), ...(r.endOfTurn ? [formatEotReport(r.endOfTurn)] : [])].join("\n\n");
  const tail = r.incomplete.length ? `\nINCOMPLETE: ${r.incomplete.join("; ")}` : "";
  return `${head.join("\n")}${body}${tail}`;
}
