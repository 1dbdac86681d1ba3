// One user turn -> one spoken reply, driven through its TurnHandle:
// transcription (voice turns) -> streamed LLM -> sentence chunks -> ReplySpeaker (TTS, ordered
// segments) -> recordOutcome. Everything the client sees goes through `sink`; everything kept goes
// through `store`. The handle's phases tell the session what the turn is doing; `turn.signal`
// (barge-in, cancel, a new turn) and an internal failure both stop the reply.
import {
  TEXT_LIMITS,
  clampText,
  type EndOfTurnSource,
  type ServerMessage,
  type TurnEndReason,
  type TurnMetrics,
  type TurnUsage,
} from "../../shared/protocol.ts";
import type { Admission } from "../budget/budget-gate.ts";
import { dailyBudgetMessage } from "../budget/budget-messages.ts";
import { replyReservationNeurons } from "../budget/turn-estimate.ts";
import type { ParleyConfig } from "../config.ts";
import { estimateTokens, turnCost } from "../cost/cost.ts";
import { AiCallError, abortError, classifyAiError, isAbort } from "../models/ai-errors.ts";
import type { AiCallContext } from "../models/ai-binding.ts";
import { withDeadline, withRetry } from "../models/retry.ts";
import { startReplyStream } from "../reply/llm.ts";
import { buildLlmMessages } from "../reply/prompt.ts";
import { SentenceChunker } from "../reply/sentence-chunker.ts";
import { readLlmStream } from "../reply/llm-stream-reader.ts";
import type { LlmStreamEvent } from "../../shared/workers-ai/llm-stream.ts";
import { isMeaningfulTranscript } from "../speech-to-text/whisper.ts";
import type { ConversationStore } from "../storage/conversation-store.ts";
import { segmentHeader, synthesize, type SpeechAudio } from "../text-to-speech/tts.ts";
import type { PlaybackReport } from "./heard-text.ts";
import { ReplySpeaker } from "./reply-speaker.ts";
import type { TurnHandle } from "./turn-handle.ts";
import { recordOutcome, type SpentBefore, type TurnOutcome, type TurnStatus } from "./turn-outcome.ts";
import { RETRY_OPENING, retryMessages, type RetryPlan } from "./turn-recovery.ts";
import { transcribeUtterance, type TranscriptionResult } from "./transcription.ts";

export interface TurnSink {
  event(message: ServerMessage): void;
  audio(bytes: Uint8Array): void;
}

export interface TurnInput {
  turnId: string;
  replyId: string;
  source: "voice" | "text";
  /** 16 kHz mono PCM16 of the utterance (voice turns not yet transcribed). */
  audio?: Int16Array;
  /** The audio of an utterance already transcribed (`transcribed`), kept only for the turn's recording. */
  transcribedAudio?: Int16Array;
  /** The typed text (text turns). */
  text?: string;
  /** Already transcribed (the speech that confirmed an interruption, a streaming recognizer's end of turn). `model` bills the audio (default: the batch STT model). */
  transcribed?: { text: string; audioSeconds: number; engine: string | undefined; sttMs: number; model?: string };
  /** The model that recognizes this turn's speech, when it is not the batch STT model. */
  sttModel?: string;
  /** Being transcribed elsewhere (a streaming recognizer finalizing the utterance). */
  transcript?: Promise<TranscriptionResult & { model?: string; sttMs?: number }>;
  /** What ended the user's turn. */
  endOfTurn?: EndOfTurnSource;
  /** What the utterance cost before this turn (discarded speculative replies, smart-turn calls): billed with it. */
  spentBefore?: SpentBefore;
  /** Silence waited after the last speech before the turn was declared over. */
  endpointingMs: number;
  language: string;
  /** How many times this utterance has gone to speech-to-text (a restart during it runs it again: server/turn/turn-recovery.ts). */
  attempt?: number;
  /** Retrying a reply a restart cut off: no speech-to-text, no new user message, and the prompt says what was heard. */
  retry?: RetryPlan;
}

export interface TurnRunnerDeps {
  ai: Ai;
  sessionId: string;
  config: ParleyConfig;
  store: ConversationStore;
  sink: TurnSink;
  /** The client's latest playback report for a reply, if any. */
  playback?: (replyId: string) => PlaybackReport | undefined;
  /** The daily budget (budget/budget-gate.ts): the reply's cost is reserved before the LLM, and settled at the end. */
  budget?: TurnBudget;
  /** The user's words are stored (in the same write): the utterance kept for a restart can go. */
  transcriptStored?: (turnId: string) => void;
  /** A segment's audio went out to the clients (the session records the reply: server/recordings/). */
  spoken?: (replyId: string, audio: SpeechAudio) => void;
  now?: () => number;
}

export interface TurnBudget {
  admit(turnId: string, neurons: number): Promise<Admission>;
  settle(turnId: string, neurons: number): void;
}

export async function runTurn(deps: TurnRunnerDeps, input: TurnInput, turn: TurnHandle): Promise<TurnOutcome> {
  const { config, store, sink } = deps;
  const now = deps.now ?? (() => Date.now());
  const models = config.models;
  const started = now();
  // Stopped from outside (turn.interrupt) or from inside (a stage failed for good).
  const internal = new AbortController();
  const signal = AbortSignal.any([turn.signal, internal.signal]);
  const ctx: AiCallContext = { ai: deps.ai, tags: ["parley", `session:${deps.sessionId}`], signal };
  const retryBase = { maxRetries: config.reliability.maxRetries, retryBaseMs: config.reliability.retryBaseMs, signal };
  const engines = new Set<string>();
  // When stages on the way to first audio began (clock times; stored relative to the end of the user's turn).
  const stagesAt: { stt: number | null; llm: number | null; firstChunk: number | null } = { stt: null, llm: null, firstChunk: null };

  const metrics: TurnMetrics = {
    endpointingMs: input.endpointingMs,
    sttMs: 0,
    llmFirstTokenMs: null,
    firstAudioMs: null,
    ttsMs: 0,
    totalMs: 0,
    retries: 0,
  };
  const usage = { audioInSeconds: 0, promptTokens: 0, completionTokens: 0, ttsCharacters: 0, ttsAudioSeconds: 0 };
  let userText = input.text ?? input.retry?.userText ?? "";
  let replyText = "";
  let usageReported = false;
  let userStored = false;
  let failure: AiCallError | undefined;
  const fail = (e: AiCallError) => {
    failure ??= e;
    internal.abort();
  };
  const onRetry = (e: AiCallError) => {
    metrics.retries++;
    console.warn(`[parley] ${deps.sessionId} ${e.stage} retry after ${e.code}: ${e.message}`);
  };
  // Asked now, answered while speech is recognized; only the LLM call waits for it.
  const admission = deps.budget?.admit(input.turnId, replyReservationNeurons(config));

  // A storage write holds back every message and request that follows it until the write is durable
  // (the Durable Object output gate). So on the path to first audio, each write comes right after
  // the event or model request it would otherwise delay, and its commit overlaps the model's wait.
  // A speculative turn holds every write and event until it is confirmed (and drops them if discarded).
  let sttModel = input.transcribed?.model ?? input.sttModel ?? models.stt;
  const recordStart = () =>
    turn.hold(() =>
      store.startTurn({
        turnId: input.turnId,
        replyId: input.replyId,
        source: input.source,
        startedAt: started,
        models: { ...models, stt: sttModel },
        retryOf: input.retry?.of,
      }),
    );

  // ---- speech-to-text
  if (input.transcribed) {
    recordStart();
    userText = input.transcribed.text;
    usage.audioInSeconds = input.transcribed.audioSeconds;
    metrics.sttMs = input.transcribed.sttMs;
    if (input.transcribed.model) sttModel = input.transcribed.model;
    if (input.transcribed.engine) engines.add(input.transcribed.engine);
  } else if (input.transcript) {
    const sttStart = now();
    stagesAt.stt = sttStart;
    recordStart();
    try {
      const t = await input.transcript;
      userText = t.text;
      usage.audioInSeconds = t.audioSeconds;
      metrics.sttMs = t.sttMs ?? now() - sttStart;
      if (t.model) sttModel = t.model;
      if (t.engine) engines.add(t.engine);
    } catch (err) {
      failure = classifyAiError(err, "stt");
    }
    if (failure) return finish("failed");
    if (!isMeaningfulTranscript(userText)) return finish("no-speech");
  } else if (input.audio) {
    const sttStart = now();
    stagesAt.stt = sttStart;
    // Not cancelled by barge-in: when the user goes on talking after a pause, what they said first
    // still belongs in the conversation (it is merged with what follows), so transcription finishes.
    // A discarded speculation's transcript is of no use: that one stops.
    const sttSignal = AbortSignal.any([internal.signal, turn.discardSignal]);
    const transcription = transcribeUtterance({ ...ctx, signal: sttSignal }, input.audio, {
      model: models.stt,
      language: input.language,
      timeoutMs: config.reliability.aiTimeoutMs,
      maxRetries: config.reliability.maxRetries,
      retryBaseMs: config.reliability.retryBaseMs,
      onRetry,
    });
    recordStart();
    try {
      const t = await transcription;
      userText = t.text;
      usage.audioInSeconds = t.audioSeconds;
      if (t.engine) engines.add(t.engine);
    } catch (err) {
      failure = isAbort(err, sttSignal) ? undefined : classifyAiError(err, "stt");
      usage.audioInSeconds = input.audio.length / 16_000;
    }
    if (turn.discarded) return finish("interrupted");
    metrics.sttMs = now() - sttStart;
    // Nothing the user said reached the conversation: no reply, nothing stored but the turn record.
    if (failure) return finish("failed");
    if (!isMeaningfulTranscript(userText)) return finish("no-speech");
  } else {
    recordStart();
  }

  // A recognizer's output is capped like everything stored (a typed message was checked at the wire).
  userText = clampText(userText, TEXT_LIMITS.transcript);
  // A retry answers words the clients already have.
  if (!input.retry)
    turn.hold(() => sink.event({ type: "transcript", turnId: input.turnId, text: userText, source: input.source, kind: "turn" }));
  const storeUserMessage = () =>
    turn.hold(() => {
      // A retry's user message is the cut turn's, already stored.
      if (!input.retry)
        store.addMessage({
          role: "user",
          text: userText,
          status: "complete",
          source: input.source,
          turnId: input.turnId,
          createdAt: now(),
        });
      deps.transcriptStored?.(input.turnId);
      userStored = true;
    });
  const admitted = admission ? await admission : { ok: true as const };
  if (!admitted.ok) {
    // What the user said is kept; only the reply is refused.
    storeUserMessage();
    failure = new AiCallError("budget_exceeded", dailyBudgetMessage(admitted.status, now()), false, "llm");
    return finish("failed");
  }
  turn.advance("generating", now());
  // Far more than any history budget keeps; bounded so a long session does not read its whole table per turn.
  const past = store.conversation(400);
  const history = past.filter((m) => m.text.trim() !== "");
  const prompt = { systemPrompt: config.reply.systemPrompt, history, budgetChars: config.reply.historyBudgetChars };
  const messages = input.retry
    ? retryMessages({ ...prompt, userText, heard: input.retry.heard })
    : buildLlmMessages({ ...prompt, userText });
  usage.promptTokens = estimateTokens(messages.map((m) => m.content).join("\n"));
  const llmStart = now();
  stagesAt.llm = llmStart;
  const replyStream = withRetry(
    (s) =>
      startReplyStream({ ...ctx, signal: s }, models.llm, messages, {
        maxTokens: config.reply.maxTokens,
        temperature: config.reply.temperature,
      }),
    { ...retryBase, stage: "llm", timeoutMs: config.reliability.aiTimeoutMs, onRetry },
  );
  replyStream.catch(() => {}); // awaited below; a cancelled turn may return before that
  storeUserMessage();
  if (turn.signal.aborted) return finish("interrupted");

  // ---- reply: LLM stream -> chunker -> speaker (TTS, bounded concurrency) -> segments in order
  const chunker = new SentenceChunker(config.chunking);
  const speaker = new ReplySpeaker({
    concurrency: config.reliability.ttsConcurrency,
    signal,
    now,
    synthesize: async (text) =>
      (
        await withRetry(
          (s) =>
            synthesize({ ...ctx, signal: s }, models.tts, text, {
              speaker: models.ttsSpeaker,
              language: input.language,
              output: models.ttsOutput,
            }),
          {
            ...retryBase,
            stage: "tts",
            timeoutMs: config.reliability.aiTimeoutMs,
            onRetry,
          },
        )
      ).value,
    fail: (err) => fail(classifyAiError(err, "tts")),
    send: (index, text, audio) => {
      if (audio.engine) engines.add(audio.engine);
      usage.ttsCharacters += text.length;
      usage.ttsAudioSeconds += audio.durationMs / 1000;
      turn.hold(() => {
        // From the end-of-turn decision: a speculative reply's audio waited for it.
        if (metrics.firstAudioMs === null) metrics.firstAudioMs = Math.max(0, now() - (turn.confirmedAt ?? started));
        turn.advance("speaking", now());
        turn.audioMs += audio.durationMs;
        sink.event(segmentHeader(input.replyId, index, text, audio));
        sink.audio(audio.bytes);
        deps.spoken?.(input.replyId, audio);
        store.addSegment(input.replyId, index, text, audio.durationMs, now());
      });
    },
  });

  const speak = (chunk: string) => {
    stagesAt.firstChunk ??= now();
    speaker.speak(chunk);
  };

  if (input.retry) {
    replyText = `${RETRY_OPENING} `;
    turn.hold(() => sink.event({ type: "reply-delta", replyId: input.replyId, text: replyText }));
    for (const chunk of chunker.push(replyText)) speak(chunk);
  }

  try {
    const { value: stream } = await replyStream;
    // Idle timeouts while streaming: abort only the stream reader; the turn then ends on an error.
    const streamAbort = new AbortController();
    const events = readLlmStream(stream, AbortSignal.any([signal, streamAbort.signal]));
    let sawDone = false;
    for (;;) {
      const wait = metrics.llmFirstTokenMs === null ? config.reliability.aiTimeoutMs : config.reliability.streamIdleMs;
      let next: IteratorResult<LlmStreamEvent>;
      try {
        next = await withDeadline(events.next(), wait, signal);
      } catch (err) {
        streamAbort.abort();
        throw err;
      }
      if (next.done) break;
      const ev = next.value;
      if (ev.type === "delta") {
        if (ev.text === "") continue;
        if (metrics.llmFirstTokenMs === null) metrics.llmFirstTokenMs = now() - llmStart;
        replyText += ev.text;
        const text = ev.text;
        turn.hold(() => sink.event({ type: "reply-delta", replyId: input.replyId, text }));
        for (const chunk of chunker.push(ev.text)) speak(chunk);
      } else if (ev.type === "usage") {
        usage.promptTokens = ev.promptTokens;
        usage.completionTokens = ev.completionTokens;
        usageReported = true;
      } else if (ev.type === "engine") {
        engines.add(ev.engine);
      } else if (ev.type === "end") {
        sawDone = ev.sawDone;
      }
    }
    if (signal.aborted) throw abortError();
    if (!sawDone) throw new AiCallError("ai_stream_broken", "The reply stream broke off before it finished.", true, "llm");
    for (const chunk of chunker.flush()) speak(chunk);
  } catch (err) {
    // The reply stream is over either way; sentences already released are still spoken (a TTS
    // failure, by contrast, stops everything), so the turn ends on whole sentences and an error.
    if (!isAbort(err, signal) && !failure) failure = classifyAiError(err, "llm");
  }
  await speaker.drain();
  metrics.ttsMs = speaker.ttsMs;
  if (!usageReported) usage.completionTokens = estimateTokens(replyText);
  return finish(failure ? "failed" : turn.interrupted ? "interrupted" : "complete");

  async function finish(status: TurnStatus): Promise<TurnOutcome> {
    // A speculative turn that ran to its end waits to learn whether the user's turn was over.
    if (!(await turn.decided)) return discarded();
    metrics.totalMs = now() - started;
    let spentBefore = input.spentBefore;
    if (turn.endpointing) {
      // Confirmed speculation: how the user's turn ended is known only now.
      metrics.endpointingMs = turn.endpointing.endpointingMs;
      metrics.endOfTurn = turn.endpointing.endOfTurn;
      usage.audioInSeconds += turn.endpointing.billedSeconds;
      spentBefore = turn.endpointing.spentBefore;
    } else if (input.endOfTurn) metrics.endOfTurn = input.endOfTurn;
    if (turn.speculative) metrics.speculative = true;
    // From the end of the user's turn, as firstAudioMs is: a speculative reply's stages began before it.
    const turnEnd = turn.confirmedAt ?? started;
    if (stagesAt.stt !== null) metrics.sttStartMs = stagesAt.stt - turnEnd;
    if (stagesAt.llm !== null) metrics.llmStartMs = stagesAt.llm - turnEnd;
    if (stagesAt.firstChunk !== null) metrics.firstChunkMs = stagesAt.firstChunk - turnEnd;
    const endReason: TurnEndReason = failure ? "failed" : (turn.reason ?? "completed");
    turn.markGenerationDone();
    const outcome = recordOutcome(
      { store, event: (e) => sink.event(e), playback: (id) => deps.playback?.(id), now },
      {
        turnId: input.turnId,
        replyId: input.replyId,
        status,
        endReason,
        userStored,
        userText,
        replyText,
        failure,
        metrics,
        usage,
        spentBefore,
        engines,
        models: { ...models, stt: sttModel },
      },
    );
    // What the utterance cost before this turn was settled when it was spent (discarded replies, end-of-turn calls).
    const before = (outcome.usage.wasted?.neurons ?? 0) + (outcome.usage.endOfTurn?.neurons ?? 0);
    deps.budget?.settle(input.turnId, outcome.usage.neurons - before);
    return outcome;
  }

  /** Nothing of a discarded speculation was sent or stored; its spending goes to the turn that follows. */
  function discarded(): TurnOutcome {
    turn.markGenerationDone();
    if (!usageReported) usage.completionTokens = estimateTokens(replyText);
    const billed = engines.size === 0;
    const cost = turnCost({
      sttModel,
      audioInSeconds: usage.audioInSeconds,
      llmModel: models.llm,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      ttsModel: models.tts,
      ttsCharacters: usage.ttsCharacters,
      ttsAudioSeconds: usage.ttsAudioSeconds,
    });
    const spent: TurnUsage = { ...usage, neurons: billed ? cost.neurons : 0, usd: billed ? cost.usd : 0 };
    deps.budget?.settle(input.turnId, spent.neurons);
    return { status: "interrupted", endReason: "superseded", userText, replyText, metrics, usage: spent, backend: "", discarded: true };
  }
}
