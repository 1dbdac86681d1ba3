// Smoke run of the benchmark (`npm run bench -- --smoke`: N = 2, one turn each, Parley and the naive
// baseline) so the harness cannot rot. Real workerd, real WebSockets, the bench fake Workers AI.
// Asserts what the benchmark must be able to measure, not performance targets (CI machines vary).
import { describe, expect, it } from "vitest";
import { runBench } from "../../bench/harness/bench.ts";
import { formatReport } from "../../bench/harness/report.ts";

describe("benchmark smoke run", () => {
  it("runs both pipelines over WebSockets and measures overhead, gaps, cost and the naive ratio", async () => {
    const r = await runBench({ sessions: [2], turns: 1, warmup: false, idleStream: { sessions: 0, ms: 0 }, memoryProbeSessions: 0, log: () => {} });
    const parley = r.phases.find((p) => p.pipeline === "parley")!;
    const naive = r.phases.find((p) => p.pipeline === "naive")!;
    expect(r.incomplete).toEqual([]);

    // Every turn completed, end to end, on both pipelines.
    for (const p of [parley, naive]) {
      expect(p.sessions).toBe(2);
      expect(p.turnsCompleted).toBe(2);
      expect(p.ttfaMs.n).toBe(2);
      expect(p.frames.lostInUtterances).toBe(0);
      expect(p.frames.rateLimitedErrors).toBe(0);
      expect(p.errors).toEqual({});
      expect(p.cpu.workerdCpuMs).toBeGreaterThan(0);
      expect(p.cpu.streamedAudioSeconds).toBeGreaterThan(4);
      expect(Number.isFinite(p.memory.perSessionMiB)).toBe(true);
    }

    // Overhead is measured against the critical path the chunker implies, and is never negative.
    expect(r.expectations.firstChunkTokens).toBeGreaterThan(1);
    expect(r.expectations.firstChunkTokens).toBeLessThan(r.expectations.replyTokens);
    expect(r.expectations.parley.criticalMs).toBeLessThan(r.expectations.naive.criticalMs);
    expect(parley.overheadMs.n).toBe(2);
    expect(parley.overheadMs.min).toBeGreaterThanOrEqual(0);
    expect(parley.ttfaMs.min).toBeGreaterThanOrEqual(r.options.silenceMs + r.expectations.parley.criticalMs);
    for (const stage of Object.values(parley.stagesMs)) expect(stage.n).toBe(2);

    // Parley streams the reply as several segments, and a player would not starve between them.
    expect(parley.gaps.replies).toBe(2);
    expect(parley.gaps.segmentsPerReply).toBe(r.expectations.chunks.length);
    expect(parley.gaps.starvations).toBe(0);

    // The naive baseline (whole reply, then one TTS call) is slower to first audio.
    expect(naive.gaps.segmentsPerReply).toBe(1);
    expect(naive.ttfaMs.min).toBeGreaterThan(parley.ttfaMs.max);
    expect(r.ratios).toHaveLength(1);
    expect(r.ratios[0]!.ttfaP50Ratio).toBeGreaterThan(1.2);

    // The fake's own floor was calibrated (RPC + timers, no Parley code around it).
    expect(r.calibration?.stt?.n).toBeGreaterThan(0);
    expect(r.calibration?.llmFirstChunkToken?.n).toBeGreaterThan(0);
    expect(parley.pingRttMs.n).toBeGreaterThan(0);

    const text = formatReport(r);
    expect(text).toContain("Targets:");
    expect(text).toMatch(/parley\s+2\s+2\/2/);
  }, 90_000);
});
