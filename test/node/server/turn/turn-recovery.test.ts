// What a restart must not lose, against the real schema (Node's SQLite standing in for the Durable
// Object's): kept utterances, playback reports, cut replies and their one retry.
import { describe, expect, it } from "vitest";
import { ConversationStore } from "../../../../server/storage/conversation-store.ts";
import { PLAYBACK_REPORTS_KEPT, RecoveryStore, UTTERANCE_CHUNK_BYTES } from "../../../../server/storage/recovery-store.ts";
import type { PlaybackReport } from "../../../../server/turn/heard-text.ts";
import {
  MAX_UTTERANCE_ATTEMPTS,
  RETRY_OPENING,
  keepUtterance,
  offerRetry,
  recoverAfterRestart,
  retryMessages,
  retryWhenConnected,
  retryWhenCut,
  takeRetry,
} from "../../../../server/turn/turn-recovery.ts";
import { nodeSqlStorage } from "../../../support/node-sql-storage.ts";

const MODELS = { stt: "@cf/openai/whisper-large-v3-turbo", llm: "@cf/meta/llama-3.1-8b-instruct-fp8", tts: "@cf/myshell-ai/melotts" };
const WITHIN_MS = 120_000;

function stores() {
  const sql = nodeSqlStorage();
  return { conv: new ConversationStore(sql), rec: new RecoveryStore(sql), sql };
}

/** A turn cut off mid-reply: the user's words stored, two segments sent (1 s each, from t=1000). */
function midReply(conv: ConversationStore, id = "1", startedAt = 0, retryOf?: string) {
  conv.startTurn({ turnId: `t-${id}`, replyId: `r-${id}`, source: "text", startedAt, models: MODELS, retryOf });
  conv.addMessage({
    role: "user",
    text: "Tell me two things.",
    status: "complete",
    source: "text",
    turnId: `t-${id}`,
    createdAt: startedAt,
  });
  conv.addSegment(`r-${id}`, 0, "First thing heard.", 1_000, startedAt + 1_000);
  conv.addSegment(`r-${id}`, 1, "Second thing never played.", 1_000, startedAt + 1_100);
}

const speech = (samples: number) => Int16Array.from({ length: samples }, (_, i) => ((i * 7919) % 65536) - 32768);

describe("kept utterances", () => {
  it("an utterance longer than a row may hold is kept in chunks under 2 MB and comes back sample for sample", () => {
    const { rec, sql } = stores();
    const audio = speech(16_000 * 90); // 90 s: 2.88 MB of PCM16
    keepUtterance(rec, { turnId: "t-1", audio, endpointingMs: 500, endOfTurn: "silence" }, 10);
    const chunks = sql
      .exec<{ n: number; biggest: number }>(`SELECT COUNT(*) AS n, MAX(LENGTH(pcm)) AS biggest FROM utterance_chunks`)
      .one();
    expect(chunks.biggest).toBeLessThanOrEqual(UTTERANCE_CHUNK_BYTES);
    expect(chunks.biggest).toBeLessThan(2_000_000);
    expect(chunks.n).toBe(Math.ceil(audio.byteLength / UTTERANCE_CHUNK_BYTES));
    const [kept] = rec.utterances();
    expect(kept).toMatchObject({ turnId: "t-1", endpointingMs: 500, endOfTurn: "silence", attempt: 1, createdAt: 10 });
    expect(kept!.audio).toEqual(audio);
    rec.dropUtterance("t-1");
    expect(rec.utterances()).toEqual([]);
    expect(sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM utterance_chunks`).one().n).toBe(0);
  });

  it("a restart during speech-to-text fails that turn and hands its utterance back to run again, once", () => {
    const { conv, rec } = stores();
    conv.startTurn({ turnId: "t-1", replyId: "r-1", source: "voice", startedAt: 0, models: MODELS });
    keepUtterance(rec, { turnId: "t-1", audio: speech(1600), endpointingMs: 400 }, 0);
    // A turn whose utterance was kept before its turn record was written (the restart came in between).
    keepUtterance(rec, { turnId: "t-2", audio: speech(800), endpointingMs: 300, attempt: MAX_UTTERANCE_ATTEMPTS }, 5);
    const r = recoverAfterRestart(conv, rec, new Map(), 1_000);
    expect(r).toMatchObject({ abandoned: 1, cutReplies: 0, lost: 1 });
    expect(r.reruns.map((u) => [u.turnId, u.attempt, u.audio.length])).toEqual([["t-1", 1, 1600]]);
    expect(conv.turns()[0]).toMatchObject({ status: "failed", endReason: "shutdown" });
    expect(conv.history()).toEqual([]);
    // Handed back: not kept twice (the re-run keeps it again under its own turn).
    expect(rec.utterances()).toEqual([]);
  });
});

describe("a reply cut off by a restart", () => {
  it("keeps the sentence a playing report says was heard, beside the planned text, and waits for its retry", () => {
    const { conv, rec } = stores();
    midReply(conv);
    rec.savePlaybackReport("r-1", { segment: 0, playedMs: 900, state: "playing", at: 1_950 });
    const reports = new Map(rec.playbackReports());
    // The client played on after its report; the second segment was sent but the report says the first was still playing at 1950.
    const r = recoverAfterRestart(conv, rec, reports, 2_050);
    expect(r.cutReplies).toBe(1);
    const reply = conv.history()[1]!;
    expect(reply).toMatchObject({
      role: "assistant",
      text: "First thing heard.",
      status: "interrupted",
      plannedText: "First thing heard. Second thing never played.",
    });
    expect(conv.turns()[0]).toMatchObject({ status: "interrupted", endReason: "shutdown", retry: "pending" });
  });

  it("is not retried when the user was talking over it (held or stopped playback)", () => {
    const { conv, rec } = stores();
    midReply(conv);
    const report: PlaybackReport = { segment: 0, playedMs: 400, state: "paused", at: 1_400 };
    recoverAfterRestart(conv, rec, new Map([["r-1", report]]), 5_000);
    expect(conv.history()[1]!.text).toBe("First");
    expect(conv.turns()[0]!.retry).toBe("skipped");
    expect(takeRetry(rec, false, 5_000, WITHIN_MS)).toBeNull();
  });

  it("is retried once when a client connects, and never again", () => {
    const { conv, rec } = stores();
    midReply(conv);
    recoverAfterRestart(conv, rec, new Map(), 2_050);
    const plan = takeRetry(rec, false, 2_100, WITHIN_MS);
    expect(plan).toEqual({ of: "t-1", source: "text", userText: "Tell me two things.", heard: "First thing heard." });
    expect(conv.turns()[0]!.retry).toBe("started");
    expect(takeRetry(rec, false, 2_500, WITHIN_MS)).toBeNull();
  });

  it("a retry cut off in its turn is not retried", () => {
    const { conv, rec } = stores();
    midReply(conv, "1", 0);
    recoverAfterRestart(conv, rec, new Map(), 1_500);
    takeRetry(rec, false, 2_000, WITHIN_MS);
    // The retry's turn (no user message of its own: it answers t-1's) is cut off mid-reply too.
    conv.startTurn({ turnId: "t-2", replyId: "r-2", source: "text", startedAt: 2_000, models: MODELS, retryOf: "t-1" });
    conv.addSegment("r-2", 0, `${RETRY_OPENING} the second thing.`, 1_000, 2_100);
    const r = recoverAfterRestart(conv, rec, new Map(), 2_300);
    expect(r).toMatchObject({ cutReplies: 1, abandoned: 0 });
    // What was heard of the retry is kept (200 ms of its 1 s opening segment), and it waits for no retry of its own.
    expect(conv.history().at(-1)).toMatchObject({ role: "assistant", replyId: "r-2", text: "Sorry, I", status: "interrupted" });
    expect(conv.turns().find((t) => t.turnId === "t-2")).toMatchObject({ retryOf: "t-1", retry: "skipped", endReason: "shutdown" });
    expect(takeRetry(rec, false, 2_500, WITHIN_MS)).toBeNull();
  });

  it("is not retried when the user spoke since, a turn is under way, or it is too old", () => {
    for (const [name, setup, busy, now] of [
      [
        "a later turn",
        (c: ConversationStore) => c.startTurn({ turnId: "t-9", replyId: "r-9", source: "text", startedAt: 3_000, models: MODELS }),
        false,
        4_000,
      ],
      [
        "an utterance kept since",
        (_c: ConversationStore, r: RecoveryStore) => keepUtterance(r, { turnId: "t-8", audio: speech(160), endpointingMs: 0 }, 3_000),
        false,
        4_000,
      ],
      ["a turn under way", () => {}, true, 4_000],
      ["too old", () => {}, false, 1_100 + WITHIN_MS + 1],
    ] as const) {
      const { conv, rec } = stores();
      midReply(conv);
      recoverAfterRestart(conv, rec, new Map(), 2_000);
      setup(conv, rec);
      expect(takeRetry(rec, busy, now, WITHIN_MS), name).toBeNull();
      expect(conv.turns()[0]!.retry, name).toBe("skipped");
    }
  });

  it("a drained reply stored as interrupted waits for its retry like one a restart cut off; a drained retry does not", () => {
    const { conv, rec } = stores();
    midReply(conv);
    offerRetry(rec, "t-1", { segment: 1, playedMs: 0, state: "playing", at: 2_000 });
    expect(conv.turns()[0]!.retry).toBe("pending");
    conv.startTurn({ turnId: "t-2", replyId: "r-2", source: "text", startedAt: 3_000, models: MODELS, retryOf: "t-1" });
    offerRetry(rec, "t-2", undefined);
    expect(conv.turns()[1]!.retry).toBe("skipped");
  });
});

describe("retry rules and prompt", () => {
  it("a retry is never retried, nor a reply the user held or stopped", () => {
    expect(retryWhenCut("t-0", undefined)).toBe("is-a-retry");
    expect(retryWhenCut(null, { segment: 0, playedMs: 1, state: "paused", at: 0 })).toBe("user-interrupted");
    expect(retryWhenCut(null, { segment: 0, playedMs: 1, state: "stopped", at: 0 })).toBe("user-interrupted");
    expect(retryWhenCut(null, { segment: 0, playedMs: 1, state: "playing", at: 0 })).toBe("retry");
    expect(retryWhenCut(null, undefined)).toBe("retry");
    expect(retryWhenConnected(true, 0, 1, 10)).toBe("user-spoke");
    expect(retryWhenConnected(false, 0, 11, 10)).toBe("too-old");
    expect(retryWhenConnected(false, 0, 10, 10)).toBe("retry");
  });

  it("the retry's prompt answers the cut turn's question, says what was heard and that its words follow the opening", () => {
    const history = [
      { role: "user" as const, text: "Hi." },
      { role: "assistant" as const, text: "Hello!" },
      { role: "user" as const, text: "Tell me two things." },
      { role: "assistant" as const, text: "First thing heard." },
    ];
    const messages = retryMessages({
      systemPrompt: "Be brief.",
      history,
      userText: "Tell me two things.",
      heard: "First thing heard.",
      budgetChars: 10_000,
    });
    expect(messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(messages[0]!.content).toMatch(/^Be brief\.\n\n/);
    expect(messages[0]!.content).toContain('heard only this much of it: "First thing heard."');
    expect(messages[0]!.content).toContain(`right after the words "${RETRY_OPENING}"`);
    expect(messages[3]!.content).toBe("Tell me two things.");
    expect(messages.some((m) => m.role === "assistant" && m.content.includes("First thing heard."))).toBe(false);
    const none = retryMessages({
      systemPrompt: "Be brief.",
      history: history.slice(0, 3),
      userText: "Tell me two things.",
      heard: "",
      budgetChars: 10_000,
    });
    expect(none[0]!.content).toContain("before the user heard any of it");
    expect(none.at(-1)).toEqual({ role: "user", content: "Tell me two things." });
  });

  it("playback reports are kept for the newest replies only, the latest per reply", () => {
    const { rec } = stores();
    for (let i = 0; i < PLAYBACK_REPORTS_KEPT + 3; i++)
      rec.savePlaybackReport(`r-${i}`, { segment: 0, playedMs: i, state: "playing", at: i });
    rec.savePlaybackReport("r-10", { segment: 2, playedMs: 5, state: "stopped", at: 100 });
    const kept = rec.playbackReports();
    expect(kept).toHaveLength(PLAYBACK_REPORTS_KEPT);
    expect(kept.at(-1)).toEqual(["r-10", { segment: 2, playedMs: 5, state: "stopped", at: 100 }]);
    expect(kept.map(([id]) => id)).not.toContain("r-0");
  });
});
