// The latency waterfall of one turn: the stages on the way to its first audio, from stored metrics,
// and their geometry in an SVG. Time 0 is the end of the user's speech; the end-of-turn wait runs
// from there to the end-of-turn decision, and every later stage is placed from the offsets the server
// stored (a speculative reply's stages may begin before the decision). A stage that was not stored is
// left out, never guessed, except that turns stored before the start offsets were recorded run
// speech-to-text and the LLM back to back from the decision.
// Pure: no DOM.
import type { TranscriptTurn } from "../../shared/protocol.ts";

export type StageKey = "end-of-turn" | "stt" | "llm" | "first-chunk" | "tts" | "client";

export interface Stage {
  key: StageKey;
  label: string;
  /** ms from the end of the user's speech. */
  startMs: number;
  endMs: number;
}

export const STAGE_LABELS: Record<StageKey, string> = {
  "end-of-turn": "End of turn",
  stt: "Speech to text",
  llm: "LLM first token",
  "first-chunk": "First sentence",
  tts: "TTS first audio",
  client: "To the ear",
};

export type TurnTimings = Pick<TranscriptTurn, "metrics" | "clientFirstAudioMs">;

/** The time to first audio a turn's tag shows: the client's measurement when it reported one, else the server's (end of turn -> first audio sent). */
export function timeToFirstAudioMs(turn: TurnTimings): number | null {
  return turn.clientFirstAudioMs ?? turn.metrics.firstAudioMs;
}

/** The stored stages of one turn, ms from the end of the user's speech, in pipeline order. */
export function turnStages(turn: TurnTimings): Stage[] {
  const m = turn.metrics;
  const end = m.endpointingMs; // the end-of-turn decision
  const stages: Stage[] = [];
  const add = (key: StageKey, startMs: number, endMs: number) =>
    stages.push({ key, label: STAGE_LABELS[key], startMs, endMs: Math.max(startMs, endMs) });
  if (end > 0) add("end-of-turn", 0, end);
  let sttEnd = end;
  if (m.sttMs > 0) {
    const start = end + (m.sttStartMs ?? 0);
    sttEnd = start + m.sttMs;
    add("stt", start, sttEnd);
  }
  let firstToken: number | null = null;
  if (m.llmFirstTokenMs !== null) {
    const start = m.llmStartMs !== undefined ? end + m.llmStartMs : sttEnd;
    firstToken = start + m.llmFirstTokenMs;
    add("llm", start, firstToken);
  }
  const chunkAt = m.firstChunkMs !== undefined ? end + m.firstChunkMs : null;
  // A retried reply speaks its opening before the LLM answers: no "first sentence" wait then.
  if (chunkAt !== null && firstToken !== null && chunkAt > firstToken) add("first-chunk", firstToken, chunkAt);
  const sentAt = m.firstAudioMs !== null ? end + m.firstAudioMs : null;
  if (chunkAt !== null && sentAt !== null) add("tts", chunkAt, sentAt);
  // The client measures from the end of the speech it heard (or the push-to-talk release, the typed send).
  if (sentAt !== null && turn.clientFirstAudioMs !== null) add("client", sentAt, turn.clientFirstAudioMs);
  return stages;
}

export interface WaterfallOptions {
  /** Total width of the chart, px. */
  width: number;
  /** Width of the label column on the left, px. */
  labelWidth: number;
  /** Height of one bar, px. */
  rowHeight: number;
  /** Vertical space between bars, px. */
  gap: number;
  /** Height of the time axis under the bars, px. */
  axisHeight: number;
  /** A stage shorter than this still shows as a sliver this wide, px. */
  minBarWidth: number;
}

export const DEFAULT_WATERFALL: Readonly<WaterfallOptions> = Object.freeze({
  width: 520,
  labelWidth: 124,
  rowHeight: 14,
  gap: 4,
  axisHeight: 18,
  minBarWidth: 2,
});

export interface Bar extends Stage {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Tick {
  ms: number;
  x: number;
  label: string;
}

export interface WaterfallLayout {
  width: number;
  height: number;
  /** The plot area (right of the labels), px. */
  plotX: number;
  plotWidth: number;
  /** The time span drawn, ms from the end of the user's speech. */
  fromMs: number;
  toMs: number;
  bars: Bar[];
  ticks: Tick[];
  /** x of time 0 (the end of the user's speech). */
  zeroX: number;
}

/** Tick spacings the axis chooses from, ms. */
const TICK_STEPS = [10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 30_000, 60_000];

/** The smallest listed step that draws at most `maxTicks` intervals over `spanMs`. */
export function tickStep(spanMs: number, maxTicks = 5): number {
  for (const step of TICK_STEPS) if (spanMs / step <= maxTicks) return step;
  return Math.ceil(spanMs / maxTicks / 60_000) * 60_000;
}

export function tickLabel(ms: number): string {
  if (ms === 0) return "0";
  return Math.abs(ms) >= 1_000 ? `${+(ms / 1_000).toFixed(2)} s` : `${ms} ms`;
}

/**
 * Lay the stages out as one bar per row over a shared time axis. The span starts at 0 (or earlier, when
 * a stage began before the user's speech ended) and ends at the last stage's end, rounded up to a tick.
 */
export function layoutWaterfall(stages: readonly Stage[], options: Readonly<WaterfallOptions> = DEFAULT_WATERFALL): WaterfallLayout {
  const { width, labelWidth, rowHeight, gap, axisHeight, minBarWidth } = options;
  const plotX = labelWidth;
  const plotWidth = Math.max(1, width - labelWidth - 8);
  const rawFrom = Math.min(0, ...stages.map((s) => s.startMs));
  const rawTo = Math.max(1, ...stages.map((s) => s.endMs));
  const step = tickStep(rawTo - rawFrom);
  const fromMs = Math.floor(rawFrom / step) * step;
  const toMs = Math.max(fromMs + step, Math.ceil(rawTo / step) * step);
  const pxPerMs = plotWidth / (toMs - fromMs);
  const xOf = (ms: number) => plotX + (ms - fromMs) * pxPerMs;
  const bars = stages.map((s, i) => {
    const x = xOf(s.startMs);
    const w = Math.max(minBarWidth, (s.endMs - s.startMs) * pxPerMs);
    // A sliver at the right edge stays inside the plot.
    return { ...s, x: Math.min(x, plotX + plotWidth - w), y: i * (rowHeight + gap), width: w, height: rowHeight };
  });
  const ticks: Tick[] = [];
  for (let ms = fromMs; ms <= toMs + 1e-9; ms += step) ticks.push({ ms, x: xOf(ms), label: tickLabel(ms) });
  const barsHeight = stages.length > 0 ? stages.length * (rowHeight + gap) - gap : 0;
  return { width, height: barsHeight + axisHeight, plotX, plotWidth, fromMs, toMs, bars, ticks, zeroX: xOf(0) };
}
