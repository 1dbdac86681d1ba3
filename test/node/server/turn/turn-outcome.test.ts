// The step that records how a turn ended, and the later cut of a reply whose playback stopped,
// against the real schema (Node's SQLite standing in for the Durable Object's).
import { describe, expect, it } from "vitest";
import type { ServerMessage, TurnMetrics } from "../../../../shared/protocol.ts";
import { ConversationStore } from "../../../../server/storage/conversation-store.ts";
import type { PlaybackReport } from "../../../../server/turn/heard-text.ts";
import { recordOutcome, settleHeard, type OutcomeInput } from "../../../../server/turn/turn-outcome.ts";
import { AiCallError } from "../../../../server/models/ai-errors.ts";
import { nodeSqlStorage } from "../../../support/node-sql-storage.ts";

const MODELS = { stt: "@cf/openai/whisper-large-v3-turbo", llm: "@cf/meta/llama-3.1-8b-instruct-fp8", tts: "@cf/myshell-ai/melotts" };
const METRICS: TurnMetrics = {
  endpointingMs: 500,
  sttMs: 120,
  llmFirstTokenMs: 200,
  firstAudioMs: 650,
  ttsMs: 300,
  totalMs: 2000,
  retries: 0,
};
const USAGE = { audioInSeconds: 2, promptTokens: 100, completionTokens: 30, ttsCharacters: 120, ttsAudioSeconds: 8 };
const REPLY = "First part is here. Second part follows it.";

function setup(report?: PlaybackReport) {
  const store = new ConversationStore(nodeSqlStorage());
  const events: ServerMessage[] = [];
  store.startTurn({ turnId: "t-1", replyId: "r-1", source: "voice", startedAt: 0, models: MODELS });
  store.addMessage({ role: "user", text: "Tell me two things.", status: "complete", source: "voice", turnId: "t-1", createdAt: 1 });
  store.addSegment("r-1", 0, "First part is here.", 1_000, 10);
  store.addSegment("r-1", 1, "Second part follows it.", 1_000, 20);
  const deps = { store, event: (e: ServerMessage) => events.push(e), playback: () => report, now: () => 5_000 };
  const input = (o: Partial<OutcomeInput>): OutcomeInput => ({
    turnId: "t-1",
    replyId: "r-1",
    status: "complete",
    endReason: "completed",
    userStored: true,
    userText: "Tell me two things.",
    replyText: REPLY,
    failure: undefined,
    metrics: METRICS,
    usage: USAGE,
    engines: new Set(),
    models: MODELS,
    ...o,
  });
  return { store, events, deps, input };
}

describe("recording a turn's outcome", () => {
  it("a complete turn stores the whole reply, bills Workers AI and says reply-done with why it ended", () => {
    const { store, events, deps, input } = setup();
    const outcome = recordOutcome(deps, input({}));
    expect(store.history().map((m) => [m.role, m.text, m.status])).toEqual([
      ["user", "Tell me two things.", "complete"],
      ["assistant", REPLY, "complete"],
    ]);
    expect(outcome.usage.usd).toBeGreaterThan(0);
    expect(outcome.backend).toBe("workers-ai");
    expect(events).toEqual([expect.objectContaining({ type: "reply-done", status: "complete", endReason: "completed", text: REPLY })]);
    expect(store.turns()[0]).toMatchObject({ status: "complete", endReason: "completed" });
    expect(store.history()[1]!.meta).toMatchObject({ firstAudioMs: 650, backend: "workers-ai", endReason: "completed" });
  });

  it("a reply interrupted while paused in its second segment keeps only the words heard before the pause", () => {
    const { store, deps, input } = setup({ segment: 1, playedMs: 500, state: "paused", at: 4_000 });
    recordOutcome(deps, input({ status: "interrupted", endReason: "barge-in" }));
    const reply = store.history()[1]!;
    expect(reply).toMatchObject({ status: "interrupted", text: "First part is here. Second part", plannedText: REPLY });
    expect(store.turns()[0]).toMatchObject({ status: "interrupted", endReason: "barge-in" });
  });

  it("a failed reply keeps every sentence that was sent, and the error goes out before reply-done", () => {
    const { store, events, deps, input } = setup();
    const failure = new AiCallError("ai_stream_broken", "The reply stream broke off.", true, "llm");
    recordOutcome(deps, input({ status: "failed", endReason: "failed", failure, replyText: `${REPLY} And a third` }));
    expect(store.history()[1]).toMatchObject({ status: "failed", text: REPLY });
    expect(events.map((e) => e.type)).toEqual(["error", "reply-done"]);
    expect(store.turns()[0]).toMatchObject({ errorCode: "ai_stream_broken", endReason: "failed" });
  });

  it("the local stand-in's answers are not billed and name their engines", () => {
    const { deps, input } = setup();
    const outcome = recordOutcome(deps, input({ engines: new Set(["pocketsphinx/generic", "flite/slt"]) }));
    expect(outcome.usage).toMatchObject({ usd: 0, neurons: 0 });
    expect(outcome.backend).toBe("local stand-in (flite/slt, pocketsphinx/generic)");
  });

  it("no speech stores no message and sends no reply-done", () => {
    const { store, events, deps, input } = setup();
    recordOutcome(deps, input({ status: "no-speech", userStored: false, replyText: "" }));
    expect(events).toEqual([]);
    expect(store.turns()[0]!.status).toBe("no-speech");
  });
});

describe("settling what was heard after playback", () => {
  it("a reply stopped after it was stored is cut to the heard words, marked interrupted, and reply-heard says so", () => {
    const { store, deps, input } = setup();
    recordOutcome(deps, input({}));
    const heard = settleHeard(store, { turnId: "t-1", replyId: "r-1" }, { segment: 1, playedMs: 100 }, "barge-in");
    expect(heard).toEqual({
      type: "reply-heard",
      replyId: "r-1",
      status: "interrupted",
      text: "First part is here.",
      plannedText: REPLY,
      endReason: "barge-in",
    });
    expect(store.history()[1]).toMatchObject({ status: "interrupted", text: "First part is here." });
    expect(store.turns()[0]).toMatchObject({ status: "interrupted", endReason: "barge-in" });
    // The LLM's view of the conversation has only the heard words.
    expect(store.conversation(10).map((m) => m.text)).toEqual(["Tell me two things.", "First part is here."]);
  });

  it("a reply played to its end stays complete", () => {
    const { store, deps, input } = setup();
    recordOutcome(deps, input({}));
    expect(settleHeard(store, { turnId: "t-1", replyId: "r-1" }, null, "completed")).toMatchObject({ status: "complete", text: REPLY });
    expect(settleHeard(store, { turnId: "t-1", replyId: "r-1" }, { segment: 2, playedMs: 0 }, "completed")).toMatchObject({
      status: "complete",
    });
  });

  it("backchannels are kept in the history but not in the LLM's conversation", () => {
    const { store, deps, input } = setup();
    recordOutcome(deps, input({}));
    store.addMessage({
      role: "user",
      text: "Mm-hmm.",
      status: "complete",
      source: "voice",
      turnId: "t-1",
      replyId: "r-1",
      kind: "backchannel",
      createdAt: 6,
    });
    expect(store.history().at(-1)).toMatchObject({ kind: "backchannel", replyId: "r-1", text: "Mm-hmm." });
    expect(store.conversation(10).map((m) => m.text)).toEqual(["Tell me two things.", REPLY]);
  });
});
