// The review page's session summary: turns, time to first audio (p50/p95), what the session cost,
// and its interruptions, from the stored transcript.
// Pure: no DOM.
import type { PhoneCallRecord, SessionTranscript } from "../../shared/protocol.ts";
import { formatDuration, formatUsd } from "../views/format.ts";
import { timeToFirstAudioMs } from "./waterfall.ts";

/** The nearest-rank percentile (`p` in 0..100) of `values`: always one of them; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)]!;
}

export interface SessionSummary {
  /** Turns that were answered or tried to be (utterances that transcribed to nothing are not turns). */
  turns: number;
  failedTurns: number;
  /** Turns whose reply was cut short (a barge-in, Stop, a restart). */
  interruptedTurns: number;
  firstAudio: { p50Ms: number | null; p95Ms: number | null; turns: number };
  /** Everything the session spent: its turns and the transcription of barge-in candidates. */
  neurons: number;
  usd: number;
  interruptions: { confirmed: number; resumed: number };
}

export function summarize(t: Pick<SessionTranscript, "turns" | "totals">): SessionSummary {
  const turns = t.turns.filter((x) => x.status !== "no-speech" && x.status !== "running");
  const firstAudio = turns.map(timeToFirstAudioMs).filter((ms): ms is number => ms !== null);
  return {
    turns: turns.length,
    failedTurns: turns.filter((x) => x.status === "failed").length,
    interruptedTurns: turns.filter((x) => x.status === "interrupted").length,
    firstAudio: { p50Ms: percentile(firstAudio, 50), p95Ms: percentile(firstAudio, 95), turns: firstAudio.length },
    neurons: t.totals.neurons,
    usd: t.totals.usd,
    interruptions: { confirmed: t.totals.interruptionsConfirmed, resumed: t.totals.interruptionsResumed },
  };
}

const END_REASONS: Record<string, string> = { stop: "the caller hung up", closed: "the line dropped" };

/**
 * One line per phone call of the session (server/phone/): the caller as the server stored it (masked,
 * never the number), when it started (`started` formats the epoch ms), how long it lasted, how it
 * ended and what it cost; a call still going says so.
 */
export function phoneCallLines(calls: readonly PhoneCallRecord[], started: (epochMs: number) => string): string[] {
  return calls.map((c) => {
    const how =
      c.endedAt === null
        ? "still on the line"
        : `${formatDuration(c.durationMs ?? c.endedAt - c.startedAt)}, ${END_REASONS[c.endReason ?? ""] ?? `ended (${c.endReason ?? "unknown"})`}`;
    return `Phone call from ${c.caller} · ${started(c.startedAt)} · ${how} · ${c.usd === null ? "cost so far unknown" : formatUsd(c.usd)}`;
  });
}
