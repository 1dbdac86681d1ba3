// What the fake's latencies alone would give: the critical path from the end of the user's turn to the
// first audio, for Parley (first chunk the sentence chunker releases) and for the naive baseline (whole
// reply). Computed from the fake's reply text and the server's own chunker, never hard-coded.
import { DEFAULT_CHUNKER, SentenceChunker, toSpeakableText } from "../../server/reply/sentence-chunker.ts";
import { DEFAULT_TRANSCRIPT, defaultReply, tokenize } from "../../test/fake-ai/replies.ts";
import { tokenAtMs, ttsLatencyMs, type FakeLatencies } from "./latency-model.ts";

export interface Expectations {
  /** What the fake transcribes every utterance as; the reply quotes it. */
  transcript: string;
  reply: string;
  replyTokens: number;
  /** The first chunk Parley speaks, and how many LLM tokens it takes to release it (the chunker needs the next word to confirm a boundary). */
  firstChunk: string;
  firstChunkTokens: number;
  /** Chunks of the whole reply, as Parley speaks them. */
  chunks: string[];
  parley: { sttMs: number; llmMs: number; ttsMs: number; criticalMs: number };
  naive: { sttMs: number; llmMs: number; ttsMs: number; criticalMs: number };
  /** (silence + naive critical path) / (silence + Parley critical path): the best ratio any implementation could show. */
  idealRatio: number;
  /** The same, from the end of the turn (endpointing silence excluded). */
  idealRatioAfterEndpointing: number;
}

export function computeExpectations(l: FakeLatencies, silenceMs: number, transcript = DEFAULT_TRANSCRIPT): Expectations {
  const reply = defaultReply(transcript);
  const tokens = tokenize(reply);
  const chunker = new SentenceChunker(DEFAULT_CHUNKER);
  const chunks: string[] = [];
  let firstChunkTokens = -1;
  tokens.forEach((t, i) => {
    const out = chunker.push(t);
    if (out.length && firstChunkTokens < 0) firstChunkTokens = i + 1;
    chunks.push(...out);
  });
  const flushed = chunker.flush();
  if (firstChunkTokens < 0) firstChunkTokens = tokens.length + 1; // released only at the end of the stream
  chunks.push(...flushed);
  const firstChunk = chunks[0] ?? "";

  // Token i arrives tokenAtMs(i); the end of the stream (usage + [DONE]) at tokenAtMs(tokens.length).
  const parleyLlm = tokenAtMs(firstChunkTokens - 1, l);
  const parleyTts = ttsLatencyMs(firstChunk, l);
  const naiveLlm = tokenAtMs(tokens.length, l);
  const naiveTts = ttsLatencyMs(toSpeakableText(reply), l);
  const parley = { sttMs: l.sttMs, llmMs: parleyLlm, ttsMs: parleyTts, criticalMs: l.sttMs + parleyLlm + parleyTts };
  const naive = { sttMs: l.sttMs, llmMs: naiveLlm, ttsMs: naiveTts, criticalMs: l.sttMs + naiveLlm + naiveTts };
  return {
    transcript,
    reply,
    replyTokens: tokens.length,
    firstChunk,
    firstChunkTokens,
    chunks,
    parley,
    naive,
    idealRatio: (silenceMs + naive.criticalMs) / (silenceMs + parley.criticalMs),
    idealRatioAfterEndpointing: naive.criticalMs / parley.criticalMs,
  };
}
