// Trials -> one row per scenario, and the targets of the turn-taking issue checked against them.
import type { TurnTakingSettings } from "../../shared/protocol.ts";
import type { TrialOutcome } from "./outcome.ts";
import { SCENARIOS, type ScenarioKind } from "./scenarios.ts";

export interface Percentiles {
  n: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
}

/** Linear-interpolated percentiles (as bench:local reports them). */
export function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => {
    if (s.length === 0) return null;
    const rank = (p / 100) * (s.length - 1);
    const lo = Math.floor(rank);
    const hi = Math.ceil(rank);
    return Math.round(s[lo]! + (s[hi]! - s[lo]!) * (rank - lo));
  };
  return { n: s.length, p50: at(50), p95: at(95), max: s.length ? s[s.length - 1]! : null };
}

export interface ScenarioRow {
  kind: ScenarioKind;
  label: string;
  expect: "ignore" | "interrupt";
  echoDb: number;
  trials: number;
  /** Trials in which the scenario's sound happened (the reply was still there to talk over). */
  eventsFired: number | null;
  /** Trials in which playback paused at least once (client detector or server hold). */
  paused: number;
  /** Replies cut though the user said nothing meant for the assistant (interrupt scenarios: cut before the user spoke). */
  falseInterruptions: number;
  /** interrupt scenarios: of the trials in which the user spoke, replies not cut. */
  missedInterruptions: number | null;
  /** ignore-type: trials whose reply played on to its end. */
  resumed: number | null;
  /** Trials in which the client had to resume on its own (no decision in time). */
  fallbackResumes: number;
  timedOut: number;
  onsetToSilenceMs: Percentiles | null;
  onsetToSilentForGoodMs: Percentiles | null;
  /** Resumed trials: words never played. */
  wordsLost: { trials: number; total: number; max: number; atMostOne: number } | null;
  /** Trials with the backchannel stored as such. */
  storedBackchannels: number | null;
}

export function summarize(trials: readonly TrialOutcome[]): ScenarioRow[] {
  const rows: ScenarioRow[] = [];
  for (const spec of SCENARIOS) {
    const t = trials.filter((x) => x.kind === spec.kind);
    if (t.length === 0) continue;
    const ignore = spec.expect === "ignore";
    const hasEvent = spec.event.type !== "none";
    const lost = t.filter((x) => x.wordsLost !== null).map((x) => x.wordsLost!);
    const forGood = t.map((x) => x.onsetToSilentForGoodMs).filter((v): v is number => v !== null);
    rows.push({
      kind: spec.kind,
      label: spec.label,
      expect: spec.expect,
      echoDb: spec.echoDb,
      trials: t.length,
      eventsFired: hasEvent ? t.filter((x) => x.eventFired).length : null,
      paused: t.filter((x) => x.clientPauses + x.serverPauses > 0).length,
      falseInterruptions: t.filter((x) => x.falseInterruption).length,
      missedInterruptions: ignore ? null : t.filter((x) => x.missedInterruption).length,
      resumed: ignore ? t.filter((x) => x.resumed).length : null,
      fallbackResumes: t.filter((x) => x.fallbackResumes > 0).length,
      timedOut: t.filter((x) => x.timedOut).length,
      onsetToSilenceMs: hasEvent ? percentiles(t.map((x) => x.onsetToSilenceMs).filter((v): v is number => v !== null)) : null,
      onsetToSilentForGoodMs: ignore ? null : percentiles(forGood),
      wordsLost: ignore
        ? {
            trials: lost.length,
            total: lost.reduce((a, b) => a + b, 0),
            max: lost.length ? Math.max(...lost) : 0,
            atMostOne: lost.filter((n) => n <= 1).length,
          }
        : null,
      storedBackchannels: spec.kind === "backchannel" ? t.filter((x) => (x.storedBackchannels ?? 0) > 0).length : null,
    });
  }
  return rows;
}

export interface TargetResult {
  target: string;
  result: string;
  status: "met" | "missed" | "too few trials" | "reported";
}

const OVER_REPLY_INTERRUPTS: ScenarioKind[] = ["interrupt-early", "interrupt-middle", "interrupt-late"];
const REAL_INTERRUPTS: ScenarioKind[] = [...OVER_REPLY_INTERRUPTS, "interrupt-thinking"];
const NOISES: ScenarioKind[] = ["cough", "click", "noise-burst"];

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(0)} %` : "–");

/** The issue's targets. Timing targets are benchmark figures, not pass/fail tests of a machine. */
export function checkTargets(trials: readonly TrialOutcome[], turnTaking: TurnTakingSettings | undefined): TargetResult[] {
  const of = (kinds: ScenarioKind[]) => trials.filter((t) => kinds.includes(t.kind));
  const out: TargetResult[] = [];

  const echo20 = of(["echo-20"]);
  const falseEcho = echo20.filter((t) => t.falseInterruption).length;
  out.push({
    target: "echo at -20 dB: 0 false interruptions in >= 30 trials",
    result: `${falseEcho} in ${echo20.length} trials (${echo20.filter((t) => t.clientPauses + t.serverPauses > 0).length} paused)`,
    status: falseEcho > 0 ? "missed" : echo20.length >= 30 ? "met" : "too few trials",
  });
  const echo10 = of(["echo-10"]);
  out.push({
    target: "echo at -10 dB: reported",
    result: `${echo10.filter((t) => t.falseInterruption).length} false interruptions in ${echo10.length} trials (${echo10.filter((t) => t.clientPauses + t.serverPauses > 0).length} paused)`,
    status: "reported",
  });

  const bc = of(["backchannel"]);
  const bcOk = bc.filter((t) => t.resumed && (t.wordsLost ?? Infinity) <= 1).length;
  out.push({
    target: "backchannels: >= 95 % resumed with at most one word lost",
    result: `${bcOk}/${bc.length} (${pct(bcOk, bc.length)})`,
    status: rate(bcOk, bc.length, 0.95),
  });

  const noise = of(NOISES);
  const noiseOk = noise.filter((t) => t.resumed).length;
  out.push({
    target: "coughs, clicks, noise bursts: >= 95 % resumed",
    result: `${noiseOk}/${noise.length} (${pct(noiseOk, noise.length)})`,
    status: rate(noiseOk, noise.length, 0.95),
  });

  const real = of(REAL_INTERRUPTS).filter((t) => t.eventFired);
  const voided = of(REAL_INTERRUPTS).length - real.length;
  const confirmed = real.filter((t) => !t.missedInterruption).length;
  out.push({
    target: "real interruptions (early, middle, late, while thinking): 100 % confirmed",
    result: `${confirmed}/${real.length}${voided ? ` (${voided} more trials void: the reply was cut before the user spoke)` : ""}`,
    status: rate(confirmed, real.length, 1),
  });

  const overReply = of(OVER_REPLY_INTERRUPTS).filter((t) => t.eventFired);
  const paused = percentiles(overReply.map((t) => t.onsetToSilenceMs).filter((v): v is number => v !== null));
  const notPaused = overReply.filter((t) => t.onsetToSilenceMs === null).length;
  out.push({
    target: "real interruptions over the reply: playback paused within 150 ms p95 of speech onset",
    result: `p50 ${paused.p50 ?? "–"} / p95 ${paused.p95 ?? "–"} ms over ${paused.n}${notPaused ? `; ${notPaused} never paused` : ""}`,
    status: paused.n === 0 ? "too few trials" : notPaused === 0 && paused.p95! <= 150 ? "met" : "missed",
  });

  const limit = turnTaking ? turnTaking.minInterruptionMs + 150 : undefined;
  const forGood = percentiles(real.map((t) => t.onsetToSilentForGoodMs).filter((v): v is number => v !== null));
  out.push({
    target: `real interruptions: confirmed and silent for good within minInterruptionMs + 150 ms p95 (${limit ?? "?"} ms)`,
    result: `p50 ${forGood.p50 ?? "–"} / p95 ${forGood.p95 ?? "–"} ms over ${forGood.n} confirmed`,
    status:
      forGood.n === 0 || limit === undefined ? "too few trials" : forGood.p95! <= limit && forGood.n === real.length ? "met" : "missed",
  });
  return out;
}

function rate(ok: number, n: number, needed: number): TargetResult["status"] {
  if (n === 0) return "too few trials";
  return ok / n >= needed ? "met" : "missed";
}
