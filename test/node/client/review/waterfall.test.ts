// The review page's latency waterfall: which stages a stored turn has, where they sit in time, and
// their geometry on the chart.
import { describe, expect, it } from "vitest";
import type { TurnMetrics } from "../../../../shared/protocol.ts";
import {
  DEFAULT_WATERFALL,
  layoutWaterfall,
  tickStep,
  timeToFirstAudioMs,
  turnStages,
  type TurnTimings,
} from "../../../../client/review/waterfall.ts";

/** A turn in which nothing was measured; each test sets what its case needs. */
const UNMEASURED: TurnMetrics = { endpointingMs: 0, sttMs: 0, llmFirstTokenMs: null, firstAudioMs: null, ttsMs: 0, totalMs: 0, retries: 0 };
const metrics = (m: Partial<TurnMetrics>): TurnMetrics => ({ ...UNMEASURED, ...m });
const turn = (m: Partial<TurnMetrics>, clientFirstAudioMs: number | null = null): TurnTimings => ({
  metrics: metrics(m),
  clientFirstAudioMs,
});

/** A voice turn with every stage stored. */
const FULL = turn(
  { endpointingMs: 500, sttMs: 200, sttStartMs: 0, llmStartMs: 210, llmFirstTokenMs: 300, firstChunkMs: 700, firstAudioMs: 900 },
  1_600,
);
const spans = (t: TurnTimings) => turnStages(t).map((s) => [s.key, s.startMs, s.endMs]);

describe("turn stages", () => {
  it("places every stored stage from the end of the user's speech: end of turn, STT, LLM first token, first sentence, TTS, to the ear", () => {
    expect(spans(FULL)).toEqual([
      ["end-of-turn", 0, 500],
      ["stt", 500, 700],
      ["llm", 710, 1_010],
      ["first-chunk", 1_010, 1_200],
      ["tts", 1_200, 1_400],
      ["client", 1_400, 1_600],
    ]);
  });

  it("a speculative reply's stages start before the end-of-turn decision", () => {
    const t = turn({
      endpointingMs: 200,
      sttMs: 150,
      sttStartMs: -300,
      llmStartMs: -120,
      llmFirstTokenMs: 100,
      firstChunkMs: 40,
      firstAudioMs: 260,
      speculative: true,
    });
    expect(spans(t)).toEqual([
      ["end-of-turn", 0, 200],
      ["stt", -100, 50],
      ["llm", 80, 180],
      ["first-chunk", 180, 240],
      ["tts", 240, 460],
    ]);
  });

  it("leaves out what was not stored: a turn from before the offsets runs STT and the LLM back to back, with no first sentence, TTS or client stage", () => {
    expect(spans(turn({ endpointingMs: 500, sttMs: 200, llmFirstTokenMs: 300, firstAudioMs: 900 }))).toEqual([
      ["end-of-turn", 0, 500],
      ["stt", 500, 700],
      ["llm", 700, 1_000],
    ]);
  });

  it("a typed turn has no end-of-turn wait and no speech-to-text; a turn that failed at STT has no LLM or audio stages", () => {
    expect(spans(turn({ llmStartMs: 5, llmFirstTokenMs: 300, firstChunkMs: 500, firstAudioMs: 650 }, 700)).map((s) => s[0])).toEqual([
      "llm",
      "first-chunk",
      "tts",
      "client",
    ]);
    expect(spans(turn({ endpointingMs: 400, sttMs: 1_500, sttStartMs: 0 })).map((s) => s[0])).toEqual(["end-of-turn", "stt"]);
  });

  it("a client that reports hearing audio before the server's send time (coarse clocks) gets an empty stage, never a negative one", () => {
    const t = turn(
      { endpointingMs: 500, sttMs: 100, sttStartMs: 0, llmStartMs: 100, llmFirstTokenMs: 100, firstChunkMs: 300, firstAudioMs: 400 },
      880,
    );
    expect(turnStages(t).find((s) => s.key === "client")).toMatchObject({ startMs: 900, endMs: 900 });
  });

  it("time to first audio is the client's measurement when reported, else the server's", () => {
    expect(timeToFirstAudioMs(FULL)).toBe(1_600);
    expect(timeToFirstAudioMs(turn({ firstAudioMs: 900 }))).toBe(900);
    expect(timeToFirstAudioMs(turn({}))).toBeNull();
  });
});

describe("waterfall geometry", () => {
  const options = { ...DEFAULT_WATERFALL, width: 632, labelWidth: 124 }; // a 500 px plot

  it("scales every bar on one axis rounded up to a tick: 0..2000 ms over 500 px is 0.25 px per ms", () => {
    const layout = layoutWaterfall(turnStages(FULL), options);
    expect(layout.plotWidth).toBe(500);
    expect([layout.fromMs, layout.toMs]).toEqual([0, 2_000]);
    const llm = layout.bars.find((b) => b.key === "llm")!;
    expect(llm.x).toBeCloseTo(124 + 710 * 0.25, 9);
    expect(llm.width).toBeCloseTo(75, 9);
    expect(layout.bars.map((b) => b.y)).toEqual([0, 18, 36, 54, 72, 90]);
    expect(layout.ticks.map((t) => [t.ms, t.x, t.label])).toEqual([
      [0, 124, "0"],
      [500, 249, "500 ms"],
      [1_000, 374, "1 s"],
      [1_500, 499, "1.5 s"],
      [2_000, 624, "2 s"],
    ]);
    expect(layout.zeroX).toBe(124);
    expect(layout.height).toBe(6 * 14 + 5 * 4 + 18);
  });

  it("a stage that began before the speech ended moves time 0 right of the plot's start", () => {
    const layout = layoutWaterfall(
      [
        { key: "stt", label: "STT", startMs: -100, endMs: 50 },
        { key: "tts", label: "TTS", startMs: 240, endMs: 460 },
      ],
      options,
    );
    // -100..460 ms: 200 ms ticks, so the axis runs -200..600 ms at 500/800 px per ms.
    expect([layout.fromMs, layout.toMs]).toEqual([-200, 600]);
    expect(layout.bars[0]!.x).toBeCloseTo(124 + 100 * (500 / 800), 9);
    expect(layout.zeroX).toBeCloseTo(124 + 200 * (500 / 800), 9);
    expect(layout.zeroX).toBeGreaterThan(layout.bars[0]!.x);
  });

  it("an instant stage still shows as a sliver, kept inside the plot at its right edge", () => {
    const layout = layoutWaterfall(
      [
        { key: "llm", label: "LLM", startMs: 0, endMs: 1_000 },
        { key: "client", label: "Ear", startMs: 1_000, endMs: 1_000 },
      ],
      options,
    );
    const sliver = layout.bars[1]!;
    expect(sliver.width).toBe(options.minBarWidth);
    expect(sliver.x + sliver.width).toBeLessThanOrEqual(layout.plotX + layout.plotWidth);
  });

  it("picks the smallest tick spacing that keeps at most five intervals", () => {
    expect(tickStep(1_600)).toBe(500);
    expect(tickStep(1_000)).toBe(200);
    expect(tickStep(90)).toBe(20);
    expect(tickStep(24_000)).toBe(5_000);
  });
});
