// The review page's session summary and timeline, from a stored transcript.
import { describe, expect, it } from "vitest";
import type { HistoryMessage, SessionTranscript, TranscriptTurn } from "../../../../shared/protocol.ts";
import { percentile, phoneCallLines, summarize } from "../../../../client/review/summary.ts";
import { reviewTimeline } from "../../../../client/review/timeline.ts";

function turn(n: number, t: Partial<TranscriptTurn> & { firstAudioMs?: number | null } = {}): TranscriptTurn {
  const { firstAudioMs = null, ...rest } = t;
  return {
    turnId: `t-${n}`,
    replyId: `r-${n}`,
    source: "voice",
    status: "complete",
    endReason: "completed",
    startedAt: n * 1_000,
    endedAt: n * 1_000 + 500,
    errorCode: null,
    models: { stt: "stt", llm: "llm", tts: "tts" },
    backend: "workers-ai",
    metrics: { endpointingMs: 500, sttMs: 100, llmFirstTokenMs: 100, firstAudioMs, ttsMs: 100, totalMs: 900, retries: 0 },
    usage: { audioInSeconds: 1, promptTokens: 1, completionTokens: 1, ttsCharacters: 1, ttsAudioSeconds: 1, neurons: 1, usd: 0.001 },
    clientFirstAudioMs: null,
    recordings: { user: false, reply: false },
    ...rest,
  };
}

const totals = (over: Partial<SessionTranscript["totals"]> = {}): SessionTranscript["totals"] => ({
  turns: 0,
  neurons: 0,
  usd: 0,
  audioInSeconds: 0,
  ttsAudioSeconds: 0,
  interruptionsConfirmed: 0,
  interruptionsResumed: 0,
  ...over,
});

describe("percentiles", () => {
  it("nearest rank: p50 and p95 of 1..20 are 10 and 19; always one of the values", () => {
    const values = Array.from({ length: 20 }, (_, i) => 20 - i); // unsorted on purpose
    expect(percentile(values, 50)).toBe(10);
    expect(percentile(values, 95)).toBe(19);
    expect(percentile(values, 100)).toBe(20);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
});

describe("session summary", () => {
  it("p50/p95 time to first audio over answered turns, the client's figure where reported; totals and interruptions from the transcript", () => {
    const turns = [
      // Client-measured: 100, 200, ..., 1800 ms (the server's figure is lower and ignored for these).
      ...Array.from({ length: 18 }, (_, i) => turn(i, { firstAudioMs: 50, clientFirstAudioMs: (i + 1) * 100 })),
      // Server-measured only.
      turn(18, { firstAudioMs: 1_900 }),
      turn(19, { firstAudioMs: 2_000, status: "interrupted", endReason: "barge-in" }),
      // Not turns: no speech; and a failure with no audio at all.
      turn(20, { status: "no-speech" }),
      turn(21, { status: "failed", errorCode: "stt_failed", endReason: "failed" }),
    ];
    const s = summarize({ turns, totals: totals({ neurons: 1234.4, usd: 0.0135, interruptionsConfirmed: 2, interruptionsResumed: 3 }) });
    expect(s.turns).toBe(21);
    expect(s.failedTurns).toBe(1);
    expect(s.interruptedTurns).toBe(1);
    expect(s.firstAudio).toEqual({ p50Ms: 1_000, p95Ms: 1_900, turns: 20 });
    expect([s.neurons, s.usd]).toEqual([1234.4, 0.0135]);
    expect(s.interruptions).toEqual({ confirmed: 2, resumed: 3 });
  });

  it("a session with no audio yet has no percentiles, not zeros", () => {
    const s = summarize({ turns: [turn(0, { status: "failed", errorCode: "llm_failed" })], totals: totals() });
    expect(s.firstAudio).toEqual({ p50Ms: null, p95Ms: null, turns: 0 });
    expect(s.turns).toBe(1);
  });
});

describe("review timeline", () => {
  const msg = (id: number, role: "user" | "assistant", createdAt: number, replyId?: string): HistoryMessage => ({
    id,
    role,
    text: `${role} ${id}`,
    status: "complete",
    source: "voice",
    createdAt,
    ...(replyId ? { replyId } : {}),
  });

  it("a failed turn that left no reply message is placed by its start among the messages; one with a reply is that message", () => {
    const messages = [msg(1, "user", 1_100), msg(2, "assistant", 1_400, "r-1"), msg(3, "user", 5_100), msg(4, "assistant", 5_400, "r-5")];
    const turns = [
      turn(1),
      turn(3, { status: "failed", errorCode: "stt_failed" }),
      turn(5, { status: "failed", errorCode: "tts_failed" }),
      turn(9, { status: "failed", errorCode: "ai_timeout" }),
    ];
    const items = reviewTimeline(messages, turns).map((i) => (i.kind === "message" ? `m${i.message.id}` : `failed ${i.turn.errorCode}`));
    expect(items).toEqual(["m1", "m2", "failed stt_failed", "m3", "m4", "failed ai_timeout"]);
  });
});

describe("phone calls on the review page", () => {
  it("say who called (masked as stored), when, how long, how the call ended and what it cost; a call still going says so", () => {
    const started = (at: number) => `@${at}`;
    const lines = phoneCallLines(
      [
        { caller: "+1••••••0123", startedAt: 1_000, endedAt: 186_000, durationMs: 185_000, endReason: "stop", usd: 0.0123 },
        { caller: "withheld number", startedAt: 200_000, endedAt: 230_000, durationMs: 30_000, endReason: "closed", usd: 0 },
        { caller: "+44•••••••7890", startedAt: 300_000, endedAt: null, durationMs: null, endReason: null, usd: null },
      ],
      started,
    );
    expect(lines).toEqual([
      "Phone call from +1••••••0123 · @1000 · 3 min 05 s, the caller hung up · $0.012",
      "Phone call from withheld number · @200000 · 30 s, the line dropped · $0",
      "Phone call from +44•••••••7890 · @300000 · still on the line · cost so far unknown",
    ]);
    expect(phoneCallLines([], started)).toEqual([]);
  });
});
