// One user turn -> one spoken reply, as a single cancellable unit of work:
// STT (voice turns) -> streamed LLM -> sentence chunks -> TTS per chunk (overlapping) -> ordered segments.
// Everything the client sees goes through `sink`; everything kept goes through `store`.
import type { MessageStatus, ServerMessage, TurnMetrics, TurnUsage } from "../../shared/protocol.ts";
import type { ParleyConfig } from "../config.ts";
import { turnCost, estimateTokens } from "../cost/cost.ts";
import { AiCallError, abortError, classifyAiError, isAbort } from "../models/ai-errors.ts";
import type { AiCallContext } from "../models/ai-binding.ts";
import { withDeadline, withRetry } from "../models/retry.ts";
import { startReplyStream } from "../reply/llm.ts";
import { buildLlmMessages } from "../reply/prompt.ts";
import { SentenceChunker } from "../reply/sentence-chunker.ts";
import { readLlmStream, type LlmStreamEvent } from "../reply/sse-parser.ts";
import { isMeaningfulTranscript, transcribe } from "../speech-to-text/whisper.ts";
import type { ConversationStore } from "../storage/conversation-store.ts";
import { segmentHeader, synthesize, type SpeechAudio } from "../text-to-speech/tts.ts";
import { currentPosition, heardText, type PlaybackReport } from "./heard-text.ts";

export interface TurnSink {
  event(message: ServerMessage): void;
  audio(bytes: Uint8Array): void;
}

export interface TurnInput {
  turnId: string;
  replyId: string;
  source: "voice" | "text";
  /** 16 kHz mono PCM16 of the utterance (voice turns). */
  audio?: Int16Array;
  /** The typed text (text turns). */
  text?: string;
  /** Silence waited after the last speech before the turn was declared over. */
  endpointingMs: number;
  language: string;
}

export interface TurnOutcome {
  status: MessageStatus | "no-speech";
  userText: string;
  replyText: string;
  metrics: TurnMetrics;
  usage: TurnUsage;
  errorCode?: string;
}

export interface TurnRunnerDeps {
  ai: Ai;
  sessionId: string;
  config: ParleyConfig;
  store: ConversationStore;
  sink: TurnSink;
  /** The client's latest playback report for a reply, if any. */
  playback?: (replyId: string) => PlaybackReport | undefined;
  now?: () => number;
}

class Semaphore {
  private waiting: (() => void)[] = [];
  constructor(private free: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

export async function runTurn(deps: TurnRunnerDeps, input: TurnInput, cancel: AbortSignal): Promise<TurnOutcome> {
  const { config, store, sink } = deps;
  const now = deps.now ?? (() => Date.now());
  const models = config.models;
  const started = now();
  // Cancelled from outside (barge-in, cancel, new turn) or from inside (a stage failed for good).
  const internal = new AbortController();
  const signal = AbortSignal.any([cancel, internal.signal]);
  const ctx: AiCallContext = { ai: deps.ai, tags: ["parley", `session:${deps.sessionId}`], signal };
  const retryBase = { maxRetries: config.reliability.maxRetries, retryBaseMs: config.reliability.retryBaseMs, signal };
  const engines = new Set<string>();

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
  let userText = input.text ?? "";
  let replyText = "";
  let usageReported = false;
  let userStored = false;
  let failure: AiCallError | undefined;

  // A storage write holds back every message and request that follows it until the write is durable
  // (the Durable Object output gate). So on the path to first audio, each write comes right after
  // the event or model request it would otherwise delay, and its commit overlaps the model's wait.
  sink.event({ type: "state", state: "thinking", replyId: input.replyId });
  const recordStart = () => store.startTurn({ turnId: input.turnId, replyId: input.replyId, source: input.source, startedAt: started, models });

  const onRetry = (e: AiCallError) => {
    metrics.retries++;
    console.warn(`[parley] ${deps.sessionId} ${e.stage} retry after ${e.code}: ${e.message}`);
  };

  // ---- speech-to-text
  // Not cancelled by barge-in: when the user goes on talking after a pause, what they said first
  // still belongs in the conversation (it is merged with what follows), so transcription finishes.
  if (input.audio) {
    const sttStart = now();
    const transcription = withRetry((s) => transcribe({ ...ctx, signal: s }, models.stt, input.audio!, input.language), {
      ...retryBase,
      signal: internal.signal,
      stage: "stt",
      timeoutMs: config.reliability.aiTimeoutMs,
      onRetry,
    });
    recordStart();
    try {
      const { value } = await transcription;
      userText = value.text;
      usage.audioInSeconds = value.audioSeconds;
      if (value.engine) engines.add(value.engine);
    } catch (err) {
      failure = isAbort(err, signal) ? undefined : classifyAiError(err, "stt");
      usage.audioInSeconds = input.audio.length / 16_000;
    }
    metrics.sttMs = now() - sttStart;
    if (failure || !isMeaningfulTranscript(userText)) {
      // Nothing the user said reached the conversation: no reply, nothing stored but the turn record.
      return finish(failure ? "failed" : "no-speech");
    }
  } else {
    recordStart();
  }

  sink.event({ type: "transcript", turnId: input.turnId, text: userText, source: input.source });
  // Far more than any history budget keeps; bounded so a long session does not read its whole table per turn.
  const past = store.history(400);
  const messages = buildLlmMessages({
    systemPrompt: config.reply.systemPrompt,
    history: past.filter((m) => m.text.trim() !== "").map((m) => ({ role: m.role, text: m.text })),
    userText,
    budgetChars: config.reply.historyBudgetChars,
  });
  usage.promptTokens = estimateTokens(messages.map((m) => m.content).join("\n"));
  const llmStart = now();
  const replyStream = withRetry(
    (s) => startReplyStream({ ...ctx, signal: s }, models.llm, messages, { maxTokens: config.reply.maxTokens, temperature: config.reply.temperature }),
    { ...retryBase, stage: "llm", timeoutMs: config.reliability.aiTimeoutMs, onRetry },
  );
  replyStream.catch(() => {}); // awaited below; a cancelled turn may return before that
  store.addMessage({ role: "user", text: userText, status: "complete", source: input.source, turnId: input.turnId, createdAt: now() });
  userStored = true;
  if (cancel.aborted) return finish("interrupted");

  // ---- reply: LLM stream -> chunker -> TTS (bounded concurrency) -> segments in order
  const chunker = new SentenceChunker(config.chunking);
  const ttsSlots = new Semaphore(config.reliability.ttsConcurrency);
  let segmentIndex = 0;
  let sendChain: Promise<void> = Promise.resolve();

  const speak = (text: string) => {
    const index = segmentIndex++;
    const synth = ttsSlots.run(async () => {
      const t = now();
      try {
        const { value } = await withRetry(
          (s) => synthesize({ ...ctx, signal: s }, models.tts, text, { speaker: models.ttsSpeaker, language: input.language }),
          { ...retryBase, stage: "tts", timeoutMs: config.reliability.aiTimeoutMs, onRetry },
        );
        return value;
      } finally {
        metrics.ttsMs += now() - t;
      }
    });
    synth.catch(() => {}); // observed through sendChain; avoid an unhandled rejection while it waits its turn
    sendChain = sendChain.then(async () => {
      if (signal.aborted) return;
      let audio: SpeechAudio;
      try {
        audio = await synth;
      } catch (err) {
        if (!isAbort(err, signal)) fail(classifyAiError(err, "tts"));
        return;
      }
      if (signal.aborted) return;
      if (audio.engine) engines.add(audio.engine);
      usage.ttsCharacters += text.length;
      usage.ttsAudioSeconds += audio.durationMs / 1000;
      if (metrics.firstAudioMs === null) {
        metrics.firstAudioMs = now() - started;
        sink.event({ type: "state", state: "speaking", replyId: input.replyId });
      }
      sink.event(segmentHeader(input.replyId, index, text, audio));
      sink.audio(audio.bytes);
      store.addSegment(input.replyId, index, text, audio.durationMs, now());
    });
  };

  function fail(e: AiCallError) {
    if (!failure) failure = e;
    internal.abort();
  }

  try {
    const { value: stream } = await replyStream;
    // Idle timeouts while streaming: abort only the stream reader; `fail` then ends the turn.
    const streamAbort = new AbortController();
    const streamSignal = AbortSignal.any([signal, streamAbort.signal]);
    const events = readLlmStream(stream, streamSignal);
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
        sink.event({ type: "reply-delta", replyId: input.replyId, text: ev.text });
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
    if (!sawDone) {
      throw new AiCallError("ai_stream_broken", "The reply stream broke off before it finished.", true, "llm");
    }
    for (const chunk of chunker.flush()) speak(chunk);
  } catch (err) {
    // The reply stream is over either way; sentences already released are still spoken (a TTS
    // failure, by contrast, stops everything), so the turn ends on whole sentences and an error.
    if (!isAbort(err, signal) && !failure) failure = classifyAiError(err, "llm");
  }
  await sendChain;
  if (!usageReported) usage.completionTokens = estimateTokens(replyText);
  const status: MessageStatus = failure ? "failed" : cancel.aborted ? "interrupted" : "complete";
  return finish(status);

  function finish(status: MessageStatus | "no-speech"): TurnOutcome {
    metrics.totalMs = now() - started;
    const cost = turnCost({
      sttModel: models.stt,
      audioInSeconds: usage.audioInSeconds,
      llmModel: models.llm,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      ttsModel: models.tts,
      ttsCharacters: usage.ttsCharacters,
      ttsAudioSeconds: usage.ttsAudioSeconds,
    });
    // The local stand-in marks its answers; nothing it answers is billed by Workers AI.
    const billed = engines.size === 0;
    const fullUsage: TurnUsage = { ...usage, neurons: billed ? cost.neurons : 0, usd: billed ? cost.usd : 0 };
    const backend = engines.size ? `local stand-in (${[...engines].sort().join(", ")})` : "workers-ai";
    if (failure) {
      sink.event({ type: "error", code: failure.code, message: failure.message, retryable: failure.retryable, replyId: input.replyId });
    }
    // Every user message stored gets its reply stored too, even an empty interrupted or failed one.
    // A reply cut short keeps only what was heard: the conversation must not contain unheard words.
    if (userStored && status !== "no-speech") {
      let text = replyText;
      if (status !== "complete") {
        const { segments, firstSentAt } = store.segments(input.replyId);
        const report = deps.playback?.(input.replyId);
        const at = status === "failed" && report?.state !== "stopped" ? { segment: segments.length, playedMs: 0 } : currentPosition(segments, firstSentAt, report, now());
        text = heardText(segments, at);
      }
      store.addMessage({
        role: "assistant",
        text,
        plannedText: replyText,
        status,
        source: "voice",
        turnId: input.turnId,
        replyId: input.replyId,
        createdAt: now(),
      });
    }
    store.finishTurn({
      turnId: input.turnId,
      status,
      endedAt: now(),
      errorCode: failure?.code,
      backend,
      metrics,
      usage: fullUsage,
    });
    if (status !== "no-speech") {
      sink.event({ type: "reply-done", replyId: input.replyId, status, text: replyText, metrics, usage: fullUsage, backend });
    }
    const outcome: TurnOutcome = { status, userText, replyText, metrics, usage: fullUsage };
    if (failure) outcome.errorCode = failure.code;
    return outcome;
  }
}
