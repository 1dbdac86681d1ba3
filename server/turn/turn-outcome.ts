// The one step that records how a turn ended: the reply message (only what was heard, the planned
// text beside it), the turn record with its timings, usage, cost and end reason, and the
// `reply-done` event. Later, when playback of the reply is over, `settleHeard` cuts the stored
// reply to what was heard if playback stopped early and says so with `reply-heard`.
import type { MessageStatus, ServerMessage, TurnEndReason, TurnMetrics, TurnUsage } from "../../shared/protocol.ts";
import type { ModelOptions } from "../config.ts";
import { turnCost } from "../cost/cost.ts";
import type { AiCallError } from "../models/ai-errors.ts";
import type { ConversationStore } from "../storage/conversation-store.ts";
import { currentPosition, heardText, type PlaybackPosition, type PlaybackReport } from "./heard-text.ts";

export type TurnStatus = MessageStatus | "no-speech";

/**
 * What an utterance cost before the turn that answers it: speculative replies thrown away because
 * the user went on, and end-of-turn model calls. Billed with that turn (`usage.wasted`, `usage.endOfTurn`).
 */
export interface SpentBefore {
  wasted: NonNullable<TurnUsage["wasted"]>;
  endOfTurn: NonNullable<TurnUsage["endOfTurn"]>;
}

export function nothingSpent(): SpentBefore {
  return {
    wasted: { replies: 0, completionTokens: 0, ttsAudioSeconds: 0, neurons: 0, usd: 0 },
    endOfTurn: { calls: 0, neurons: 0, usd: 0 },
  };
}

/** A discarded speculative reply's spending (its `usage`) joins the utterance's. */
export function addDiscarded(spent: SpentBefore, usage: TurnUsage): void {
  const w = spent.wasted;
  w.replies++;
  w.completionTokens += usage.completionTokens;
  w.ttsAudioSeconds += usage.ttsAudioSeconds;
  w.neurons += usage.neurons;
  w.usd += usage.usd;
}

export interface TurnOutcome {
  status: TurnStatus;
  endReason: TurnEndReason;
  userText: string;
  replyText: string;
  metrics: TurnMetrics;
  usage: TurnUsage;
  backend: string;
  errorCode?: string;
  /** A speculative reply thrown away: nothing was sent or stored; `usage` is what it spent. */
  discarded?: boolean;
}

export interface OutcomeInput {
  turnId: string;
  replyId: string;
  status: TurnStatus;
  endReason: TurnEndReason;
  /** The user's message was stored (so its reply must be too, even empty). */
  userStored: boolean;
  userText: string;
  replyText: string;
  failure: AiCallError | undefined;
  metrics: TurnMetrics;
  usage: Omit<TurnUsage, "neurons" | "usd" | "wasted" | "endOfTurn">;
  /** What the utterance cost before this turn: billed with it. */
  spentBefore?: SpentBefore | undefined;
  /** Engines the local stand-in named; empty for Workers AI (which is billed). */
  engines: ReadonlySet<string>;
  models: Pick<ModelOptions, "stt" | "llm" | "tts">;
}

export interface OutcomeDeps {
  store: ConversationStore;
  event(message: ServerMessage): void;
  /** The client's latest playback report for a reply, if any. */
  playback(replyId: string): PlaybackReport | undefined;
  now(): number;
}

export function recordOutcome(deps: OutcomeDeps, o: OutcomeInput): TurnOutcome {
  const { store } = deps;
  const now = deps.now();
  const cost = turnCost({
    sttModel: o.models.stt,
    audioInSeconds: o.usage.audioInSeconds,
    llmModel: o.models.llm,
    promptTokens: o.usage.promptTokens,
    completionTokens: o.usage.completionTokens,
    ttsModel: o.models.tts,
    ttsCharacters: o.usage.ttsCharacters,
    ttsAudioSeconds: o.usage.ttsAudioSeconds,
  });
  // The local stand-in marks its answers; nothing it answers is billed by Workers AI.
  const billed = o.engines.size === 0;
  const usage: TurnUsage = { ...o.usage, neurons: billed ? cost.neurons : 0, usd: billed ? cost.usd : 0 };
  const { wasted, endOfTurn } = o.spentBefore ?? nothingSpent();
  if (wasted.replies > 0) usage.wasted = wasted;
  if (endOfTurn.calls > 0) usage.endOfTurn = endOfTurn;
  usage.neurons += wasted.neurons + endOfTurn.neurons;
  usage.usd += wasted.usd + endOfTurn.usd;
  const backend = o.engines.size ? `local stand-in (${[...o.engines].sort().join(", ")})` : "workers-ai";
  if (o.failure) {
    deps.event({ type: "error", code: o.failure.code, message: o.failure.message, retryable: o.failure.retryable, replyId: o.replyId });
  }
  // Every user message stored gets its reply stored too, even an empty interrupted or failed one.
  // A reply cut short keeps only what was heard: the conversation must not contain unheard words.
  if (o.userStored && o.status !== "no-speech") {
    let text = o.replyText;
    if (o.status !== "complete") {
      const { segments, firstSentAt } = store.segments(o.replyId);
      const report = deps.playback(o.replyId);
      // A failure keeps every sentence that was sent (they play out); a stop keeps what was heard.
      const keepsAll = o.status === "failed" && report?.state !== "stopped" && report?.state !== "paused";
      const at = keepsAll ? { segment: segments.length, playedMs: 0 } : currentPosition(segments, firstSentAt, report, now);
      text = heardText(segments, at);
    }
    store.addMessage({
      role: "assistant",
      text,
      plannedText: o.replyText,
      status: o.status,
      source: "voice",
      turnId: o.turnId,
      replyId: o.replyId,
      createdAt: now,
    });
  }
  store.finishTurn({
    turnId: o.turnId,
    status: o.status,
    endReason: o.endReason,
    endedAt: now,
    errorCode: o.failure?.code,
    backend,
    metrics: o.metrics,
    usage,
  });
  if (o.status !== "no-speech") {
    deps.event({
      type: "reply-done",
      replyId: o.replyId,
      status: o.status,
      text: o.replyText,
      metrics: o.metrics,
      usage,
      backend,
      endReason: o.endReason,
    });
  }
  const outcome: TurnOutcome = {
    status: o.status,
    endReason: o.endReason,
    userText: o.userText,
    replyText: o.replyText,
    metrics: o.metrics,
    usage,
    backend,
  };
  if (o.failure) outcome.errorCode = o.failure.code;
  return outcome;
}

/**
 * Playback of a stored reply is over. If it stopped at `stoppedAt` (a stop, a confirmed barge-in),
 * keep only what was heard; a reply that played out stays as stored. Returns the `reply-heard`
 * event, or null when the reply was never stored (a turn with no speech).
 */
export function settleHeard(
  store: ConversationStore,
  ids: { turnId: string; replyId: string },
  stoppedAt: PlaybackPosition | null,
  endReason: TurnEndReason,
): Extract<ServerMessage, { type: "reply-heard" }> | null {
  const stored = store.reply(ids.replyId);
  if (!stored) return null;
  let { text, status } = stored;
  if (stoppedAt) {
    const heard = heardText(store.segments(ids.replyId).segments, stoppedAt);
    // A reply heard to its very end stays complete; anything shorter is interrupted (a failure stays failed).
    if (heard !== stored.text && !(stored.status === "complete" && heard === stored.plannedText)) {
      store.markReplyHeard(ids.replyId, heard);
      text = heard;
      status = status === "failed" ? "failed" : "interrupted";
    }
  }
  store.setTurnEndReason(ids.turnId, endReason);
  return { type: "reply-heard", replyId: ids.replyId, status, text, plannedText: stored.plannedText, endReason };
}
