// Smoke run of the benchmark (`npm run bench -- --smoke`: N = 2, one turn each, Parley and the naive
// baseline; then one turn per turn-taking path) so the harness cannot rot. Real workerd, real
// WebSockets, the bench fake Workers AI. Asserts what the benchmark must be able to measure, and
// orderings that follow from the fake's latencies, not performance targets (CI machines vary).
import { describe, expect, it } from "vitest";
import { runBench } from "../../../bench/harness/bench.ts";
import { runPaths, TURN_PATHS } from "../../../bench/harness/paths.ts";
import { floodChecks, formatFloodReport, recoveryMs, runFlood } from "../../../bench/harness/flood.ts";
import { formatPathsReport, formatReport } from "../../../bench/harness/report.ts";
import { formatPhoneReport, phoneFixture, runPhoneBench } from "../../../bench/harness/phone.ts";
import { loadFixtures } from "../../../bench/harness/fixtures.ts";
import { fluxEagerMs, fluxEndOfTurnMs, stratifiedQuantile } from "../../../bench/profiles/workers-ai.ts";

describe("benchmark smoke run", () => {
  it("runs both pipelines over WebSockets and measures overhead, gaps, cost and the naive ratio", async () => {
    const r = await runBench({
      sessions: [2],
      turns: 1,
      warmup: false,
      idleStream: { sessions: 0, ms: 0 },
      memoryProbeSessions: 0,
      log: () => {},
    });
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

  it("runs one turn through every turn-taking path and each ends the turn its own way, faster than the baseline", async () => {
    const r = await runPaths({ sessions: 1, turnsPerSession: 1, warmup: false, log: () => {} });
    expect(r.incomplete).toEqual([]);
    expect(r.paths.map((p) => p.id)).toEqual(TURN_PATHS.map((p) => p.id));
    const by = (id: string) => r.paths.find((p) => p.id === id)!;
    const expected: Record<string, { endOfTurn: string; speculative: boolean }> = {
      baseline: { endOfTurn: "silence", speculative: false },
      "smart-turn": { endOfTurn: "smart-turn", speculative: true },
      "flux-eager": { endOfTurn: "flux", speculative: true },
      "flux-eager-alone": { endOfTurn: "flux", speculative: true },
      flux: { endOfTurn: "flux", speculative: false },
      "nova-transcript": { endOfTurn: "transcript", speculative: true },
    };
    for (const p of r.paths) {
      // A first reply audio arrived, the turn completed, and it was ended by the path's own signal.
      expect(p.turnsCompleted, p.id).toBe(1);
      expect(p.errors, p.id).toEqual({});
      expect(p.turns[0], p.id).toMatchObject({ status: "complete", ...expected[p.id] });
      // The fake's latencies are floors: nothing arrives before the path's ideal critical path.
      expect(p.ttfaMs.min, `${p.id}: ${p.idealBreakdown}`).toBeGreaterThanOrEqual(p.idealMs - 25);
    }
    const base = by("baseline").ttfaMs.p50;
    expect(base).toBeGreaterThanOrEqual(500);
    // On the same fake latencies, every early end-of-turn path beats the fixed 500 ms silence...
    for (const id of ["smart-turn", "flux-eager", "flux-eager-alone", "flux", "nova-transcript"])
      expect(by(id).ttfaMs.p50, id).toBeLessThan(base);
    // ...speculation at the pause saves about the 250 ms the pause mark is ahead of the silence...
    expect(base - by("smart-turn").ttfaMs.p50).toBeGreaterThan(150);
    // ...and Flux's eager end of turn starts the reply earlier than its end of turn does.
    expect(by("flux-eager").ttfaMs.p50).toBeLessThan(by("flux").ttfaMs.p50);
    expect(by("flux").ttfaMs.p50).toBeLessThan(base - 300);

    const text = formatPathsReport(r);
    expect(text).toContain("Targets:");
    expect(text).toMatch(/streaming Flux, eager\s+1\/1/);
  }, 120_000);
});

describe("flood row", () => {
  it("floods one session from one connection, which is closed with 1008, while both bystanders keep getting pongs", async () => {
    const r = await runFlood({ messages: 2_000, warmup: false, afterMs: 1_000, settleMs: 500, log: () => {} });
    expect(r.flooder.closeCode).toBe(1008);
    expect(r.flooder.closeReason).toMatch(/rate limited/);
    expect(r.flooder.errors.rate_limited).toBe(1);
    expect(r.other.quiet.n).toBeGreaterThan(10);
    expect(r.other.during.n).toBeGreaterThan(10);
    expect(r.same.closed).toBe(false);
    expect(r.same.recoveryMs).not.toBeNull();
    expect(r.rss.beforeMiB).toBeGreaterThan(0);
    expect(floodChecks(r)).toHaveLength(3);
    expect(formatFloodReport(r)).toContain("Targets:");
  }, 60_000);

  it("recovery is measured from the flood's end to the first prompt pong after which every pong is prompt", () => {
    const s = (sentAt: number, rttMs: number | null) => ({ sentAt, rttMs });
    expect(recoveryMs([s(0, 500), s(100, 10), s(200, 400), s(300, 10), s(400, 12)], 50, 50)).toBe(250);
    expect(recoveryMs([s(0, 5), s(100, 5)], 50, 50)).toBe(50);
    expect(recoveryMs([s(100, null)], 50, 50)).toBeNull();
  });
});

describe("Workers AI profile", () => {
  it("puts Flux's end-of-turn delay at the vendor's median and p95, eager 150 ms earlier", () => {
    expect(fluxEndOfTurnMs(0.5)).toBeCloseTo(260, 6);
    expect(fluxEndOfTurnMs(0.95)).toBeCloseTo(1500, 3);
    expect(fluxEndOfTurnMs(0.001)).toBeGreaterThan(120);
    expect(fluxEndOfTurnMs(0.99, 3000)).toBeLessThanOrEqual(3000);
    expect(fluxEagerMs(260)).toBe(110);
    expect(fluxEagerMs(1000)).toBe(850);
    // n stratified draws visit every slice once.
    const q = Array.from({ length: 20 }, (_, k) => stratifiedQuantile(k, 20)).sort((a, b) => a - b);
    expect(q).toEqual(Array.from({ length: 20 }, (_, i) => (i + 0.5) / 20));
  });
});

describe("phone rows of the benchmark", () => {
  it("a browser and a phone call on the same fake, each turn's end -> first audio measured on both, and a keypad and a spoken barge-in's clear", async () => {
    // The phone's turn-ending message is found by passing the fixture through the phone path's own decoding into the detector.
    const fixture = loadFixtures(500, ["what-is-the-weather.wav"])[0]!;
    const phone = phoneFixture(fixture, 500);
    expect(phone.turnEndPayload).toBeGreaterThan(0);
    expect(Math.abs(phone.turnEndPayload - fixture.turnEndFrame)).toBeLessThanOrEqual(1);

    const r = await runPhoneBench({ calls: 1, turnsPerCall: 2, warmup: false, log: () => {} });
    expect(r.incomplete).toEqual([]);
    expect(r.browserFirstAudioMs.n).toBe(2);
    expect(r.phoneFirstMediaMs.n).toBe(2);
    // Both wait for the same fake STT, LLM and TTS after the turn ends.
    for (const d of [r.browserFirstAudioMs, r.phoneFirstMediaMs])
      expect(d.min).toBeGreaterThan(r.options.latencies.sttMs + r.options.latencies.llmFirstTokenMs);
    expect(r.keypadClearMs.n).toBe(1);
    expect(r.spokenClearMs.n).toBe(1);
    expect(r.keypadClearMs.min).toBeGreaterThan(0);
    expect(r.spokenClearMs.min).toBeGreaterThanOrEqual(0);
    const text = formatPhoneReport(r);
    expect(text).toMatch(/phone: turn-ending media sent -> first reply media received \| 2 \|/);
    expect(text).toMatch(/spoken barge-in: interruption confirmed \(session decidedAt\) -> clear received \| 1 \|/);
  }, 90_000);
});
