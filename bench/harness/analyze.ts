// Turns the clients' timestamps into the benchmark's numbers for one phase (one pipeline at one N).
import type { SimClient, TurnRecord } from "./client.ts";
import type { Expectations } from "./expectations.ts";
import { FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE } from "./fixtures.ts";
import type { FakeLatencies } from "./latency-model.ts";
import { CORES, type ProcessUsage } from "./proc.ts";

/**
 * "raw" / "raw-accept": a bare Durable Object (no partyserver, no Parley) with the hibernation WebSocket API /
 * with plain accept() + a message listener; used only to price idle streaming.
 */
export type Pipeline = "parley" | "naive" | "raw" | "raw-accept";

export interface Dist {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  min: number;
  mean: number;
}

/** Nearest-rank percentiles; NaN fields when there are no samples. */
export function dist(values: number[]): Dist {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  const n = v.length;
  const pick = (p: number) => (n ? v[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]! : NaN);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    n,
    p50: round(pick(50)),
    p95: round(pick(95)),
    p99: round(pick(99)),
    max: round(n ? v[n - 1]! : NaN),
    min: round(n ? v[0]! : NaN),
    mean: round(n ? v.reduce((a, b) => a + b, 0) / n : NaN),
  };
}

export interface PhaseResult {
  pipeline: Pipeline;
  sessions: number;
  turnsPlanned: number;
  turnsCompleted: number;
  turnsFailed: number;
  /** End of user speech (send of the last voiced frame) -> first audio byte received. */
  ttfaMs: Dist;
  /** First audio − send of the turn-ending frame − the fake's critical path: what Parley (and transport) add. */
  overheadMs: Dist;
  /** The fake AI's own floor on the critical path (calibrated p50s: RPC + workerd timers), when calibrated. */
  fakeFloorMs?: number;
  /** overheadMs minus fakeFloorMs: what is left for Parley's code, workerd and transport ("everything except waiting on Workers AI"). */
  overheadNetMs?: Dist;
  /** The definition: TTFA − (silenceMs + critical path); = overheadMs + client pacing slip. */
  overheadRawMs: Dist;
  /** Time between the last voiced frame and the turn-ending frame beyond silenceMs: the client's own lateness. */
  pacingSlipMs: Dist;
  /** `ping` -> `pong` round trip under the same load: WebSocket transport both ways + DO dispatch, no pipeline. */
  pingRttMs: Dist;
  /** Client-observed overhead per stage (known fake latency subtracted); the stages add up to overheadMs. */
  stagesMs: Record<string, Dist>;
  /** From reply-done metrics (server clock), fake latency subtracted. */
  serverMs: Record<string, Dist>;
  gaps: {
    replies: number;
    segmentsPerReply: number;
    /** Largest time between two consecutive segments' audio arriving. */
    maxInterSegmentGapMs: number;
    /** Smallest audio still queued at the player when a later segment arrived (negative = starvation). */
    minQueuedAudioMs: number;
    starvations: number;
  };
  cpu: {
    streamedAudioSeconds: number;
    workerdCpuMs: number;
    /** workerd CPU ms per second of upstream audio (everything in the process: Parley or naive DOs, fake AI, router). */
    workerdCpuMsPerAudioSecond: number;
    /** Turn work: (workerd CPU - frames x the idle-stream cost per frame) / turns; filled in by the run. */
    workerdCpuMsPerTurn?: number;
    workerdCoreUtilPct: number;
    /** Busiest workerd thread, % of one core over the phase (JavaScript runs on one thread: this saturates first). */
    workerdBusiestThreadPct: number;
    benchCpuPctOfCore: number;
    machineBusyPct: number;
    /** Machine CPU used by everything but workerd and the bench process (other work on the machine), % of all cores. */
    otherProcessesPct: number;
    clientLoopDelayP99Ms: number;
    maxFrameLateMs: number;
  };
  memory: { rssBeforeMiB: number; rssPeakMiB: number; rssAfterMiB: number; perSessionMiB: number };
  frames: {
    sent: number;
    perSecond: number;
    /** rate_limited errors received (the server reports at most one per second per connection). */
    rateLimitedErrors: number;
    /** Frames missing from the utterances the server transcribed (expected vs reply-done usage.audioInSeconds). */
    lostInUtterances: number;
    turnsWithAudioMismatch: number;
  };
  errors: Record<string, number>;
  wallMs: number;
}

export interface AnalyzeInput {
  pipeline: Pipeline;
  clients: SimClient[];
  turnsPerClient: number;
  expectations: Expectations;
  latencies: FakeLatencies;
  silenceMs: number;
  usage: ProcessUsage;
  loopDelayP99Ms: number;
}

const firstAudio = (t: TurnRecord): number | undefined => t.segments.find((s) => s.index === 0)?.tAudio;

export function analyzePhase(a: AnalyzeInput): PhaseResult {
  const { expectations: ex, latencies: l, silenceMs } = a;
  const critical = a.pipeline === "parley" ? ex.parley.criticalMs : ex.naive.criticalMs;
  const turns = a.clients.flatMap((c) => c.turns);
  const ok = turns.filter(
    (t) => t.status === "complete" && firstAudio(t) !== undefined && t.tEndSpeech !== undefined && t.tTurnEndSent !== undefined,
  );
  const v = (f: (t: TurnRecord) => number | undefined) => dist(ok.map((t) => f(t) ?? NaN));
  const audio0 = (t: TurnRecord) => firstAudio(t)!;

  const stagesMs: Record<string, Dist> = {
    "uplink+detect+downlink": v((t) => t.tThinking! - t.tTurnEndSent!),
    stt: v((t) => t.tTranscript! - t.tThinking! - l.sttMs),
    "llm first token": v((t) => t.tFirstDelta! - t.tTranscript! - l.llmFirstTokenMs),
  };
  if (a.pipeline === "parley") {
    stagesMs["tokens to first chunk"] = v((t) => t.tChunkDelta! - t.tFirstDelta! - (ex.firstChunkTokens - 1) * l.llmTokenMs);
    stagesMs["tts+send first chunk"] = v((t) => audio0(t) - t.tChunkDelta! - ex.parley.ttsMs);
  } else {
    stagesMs["rest of reply+tts+send"] = v((t) => audio0(t) - t.tFirstDelta! - (ex.naive.llmMs - l.llmFirstTokenMs) - ex.naive.ttsMs);
  }
  const serverMs: Record<string, Dist> = {
    stt: v((t) => t.metrics!.sttMs - l.sttMs),
    "llm first token": v((t) => (t.metrics!.llmFirstTokenMs ?? NaN) - l.llmFirstTokenMs),
    "turn start->first audio sent": v((t) => (t.metrics!.firstAudioMs ?? NaN) - critical),
    // Client-measured overhead minus the server's part: WebSocket transport both ways, frame handling
    // up to the turn-end decision, and the client's own event loop.
    "outside turn runner": v((t) => audio0(t) - t.tTurnEndSent! - (t.metrics!.firstAudioMs ?? NaN)),
  };

  // Would a player starve? Segment i+1 must arrive before the audio queued so far has played out.
  let maxGap = 0;
  let minQueued = Infinity;
  let starvations = 0;
  let replies = 0;
  let segments = 0;
  for (const t of ok) {
    const segs = [...t.segments].sort((x, y) => x.index - y.index);
    if (segs.some((s) => s.tAudio === undefined)) continue;
    replies++;
    segments += segs.length;
    let queuedUntil = segs[0]!.tAudio! + segs[0]!.durationMs;
    for (let i = 1; i < segs.length; i++) {
      const at = segs[i]!.tAudio!;
      maxGap = Math.max(maxGap, at - segs[i - 1]!.tAudio!);
      const queued = queuedUntil - at;
      minQueued = Math.min(minQueued, queued);
      if (queued < 0) starvations++;
      queuedUntil = Math.max(queuedUntil, at) + segs[i]!.durationMs;
    }
  }

  let lost = 0;
  let mismatched = 0;
  for (const t of turns) {
    if (!t.usage) continue;
    const got = Math.round(t.usage.audioInSeconds * SAMPLE_RATE);
    if (got !== t.expectedUtteranceSamples) {
      mismatched++;
      lost += Math.max(0, Math.round((t.expectedUtteranceSamples - got) / FRAME_SAMPLES));
    }
  }

  const errors: Record<string, number> = {};
  for (const c of a.clients) for (const [k, n] of Object.entries(c.errors)) errors[k] = (errors[k] ?? 0) + n;
  const sent = a.clients.reduce((s, c) => s + c.framesSent, 0);
  const u = a.usage;
  const audioSeconds = (sent * FRAME_MS) / 1000;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    pipeline: a.pipeline,
    sessions: a.clients.length,
    turnsPlanned: a.clients.length * a.turnsPerClient,
    turnsCompleted: ok.length,
    turnsFailed: a.clients.length * a.turnsPerClient - ok.length,
    ttfaMs: v((t) => audio0(t) - t.tEndSpeech!),
    overheadMs: v((t) => audio0(t) - t.tTurnEndSent! - critical),
    overheadRawMs: v((t) => audio0(t) - t.tEndSpeech! - silenceMs - critical),
    pacingSlipMs: v((t) => t.tTurnEndSent! - t.tEndSpeech! - silenceMs),
    pingRttMs: dist(a.clients.flatMap((c) => c.pingRtts)),
    stagesMs,
    serverMs,
    gaps: {
      replies,
      segmentsPerReply: replies ? r2(segments / replies) : NaN,
      maxInterSegmentGapMs: r2(maxGap),
      minQueuedAudioMs: Number.isFinite(minQueued) ? r2(minQueued) : NaN,
      starvations,
    },
    cpu: {
      streamedAudioSeconds: r2(audioSeconds),
      workerdCpuMs: r2(u.workerdCpuMs),
      workerdCpuMsPerAudioSecond: audioSeconds ? r2(u.workerdCpuMs / audioSeconds) : NaN,
      workerdCoreUtilPct: r2((100 * u.workerdCpuMs) / u.wallMs),
      workerdBusiestThreadPct: r2((100 * u.workerdBusiestThreadCpuMs) / u.wallMs),
      benchCpuPctOfCore: r2((100 * u.benchCpuMs) / u.wallMs),
      machineBusyPct: r2(u.machineBusyPct),
      otherProcessesPct: r2(Math.max(0, u.machineBusyPct - (100 * (u.workerdCpuMs + u.benchCpuMs)) / (u.wallMs * CORES))),
      clientLoopDelayP99Ms: r2(a.loopDelayP99Ms),
      maxFrameLateMs: r2(Math.max(0, ...a.clients.map((c) => c.maxFrameLateMs))),
    },
    memory: {
      rssBeforeMiB: r2(u.rssBeforeMiB),
      rssPeakMiB: r2(u.rssPeakMiB),
      rssAfterMiB: r2(u.rssAfterMiB),
      perSessionMiB: r2((u.rssPeakMiB - u.rssBeforeMiB) / a.clients.length),
    },
    frames: {
      sent,
      perSecond: r2(sent / (u.wallMs / 1000)),
      rateLimitedErrors: errors.rate_limited ?? 0,
      lostInUtterances: lost,
      turnsWithAudioMismatch: mismatched,
    },
    errors,
    wallMs: Math.round(u.wallMs),
  };
}
