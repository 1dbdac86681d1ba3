// The turn-taking benchmark's model latencies: what each call to the fake Workers AI costs. The figures
// and their sources live in one place, bench/profiles/workers-ai.ts (shared with `npm run bench`'s
// turn-taking paths); this module keeps the flat shape the turn-taking code and its results use.
// Cloudflare publishes no latencies for these models: every value is an estimate or a vendor's claim,
// printed with the results. Pure: runs in workerd and Node.
import { WORKERS_AI_PROFILE as W, smartTurnCallMs } from "../profiles/workers-ai.ts";

export interface LatencyProfile {
  /** whisper-large-v3-turbo, fixed part of a call: request, queueing, and the encoder, which always runs on a 30 s window. */
  sttBaseMs: number;
  /** whisper-large-v3-turbo, decoder work per second of audio sent. */
  sttMsPerAudioSecond: number;
  /** llama-3.1-8b-instruct-fp8: request -> first token. */
  llmFirstTokenMs: number;
  llmTokensPerSecond: number;
  /** melotts: fixed part of a call. */
  ttsBaseMs: number;
  /** melotts: per character of the sentence. */
  ttsMsPerChar: number;
  /** smart-turn-v2: request -> answer, DO <-> AI round trip included. */
  smartTurnMs: number;
  /** Nova-3 live: a word shows up in an interim result this long after it ends. */
  novaWordLagMs: number;
  /** Nova-3 live: Finalize -> the final result (round trip excluded). */
  novaFinalizeMs: number;
  /** Durable Object <-> Workers AI round trip, added to streaming-socket events. */
  doAiRttMs: number;
}

export const LATENCY_PROFILE: Readonly<LatencyProfile> = Object.freeze({
  sttBaseMs: W.whisper.baseMs.value,
  sttMsPerAudioSecond: W.whisper.msPerAudioSecond.value,
  llmFirstTokenMs: W.llm.firstTokenMs.value,
  llmTokensPerSecond: W.llm.tokensPerSecond.value,
  ttsBaseMs: W.tts.baseMs.value,
  ttsMsPerChar: W.tts.msPerChar.value,
  smartTurnMs: smartTurnCallMs(),
  novaWordLagMs: W.nova.wordLagMs.value,
  novaFinalizeMs: W.nova.finalizeMs.value,
  doAiRttMs: W.network.doAiRttMs.value,
});

/** Where each value comes from (printed with the results and in bench/README.md). */
export const LATENCY_SOURCES: Readonly<Record<keyof LatencyProfile, string>> = Object.freeze({
  sttBaseMs: `${W.whisper.baseMs.basis}: ${W.whisper.baseMs.source}`,
  sttMsPerAudioSecond: `${W.whisper.msPerAudioSecond.basis}: ${W.whisper.msPerAudioSecond.source}`,
  llmFirstTokenMs: `${W.llm.firstTokenMs.basis}: ${W.llm.firstTokenMs.source}`,
  llmTokensPerSecond: `${W.llm.tokensPerSecond.basis}: ${W.llm.tokensPerSecond.source}`,
  ttsBaseMs: `${W.tts.baseMs.basis}: ${W.tts.baseMs.source}`,
  ttsMsPerChar: `${W.tts.msPerChar.basis}: ${W.tts.msPerChar.source}`,
  smartTurnMs: `${W.smartTurn.inferenceMs.basis}: ${W.smartTurn.inferenceMs.source}`,
  novaWordLagMs: `${W.nova.wordLagMs.basis}: ${W.nova.wordLagMs.source}`,
  novaFinalizeMs: `${W.nova.finalizeMs.basis}: ${W.nova.finalizeMs.source}`,
  doAiRttMs: `${W.network.doAiRttMs.basis}: ${W.network.doAiRttMs.source}`,
});

export function sttLatencyMs(audioSeconds: number, p: LatencyProfile = LATENCY_PROFILE): number {
  return p.sttBaseMs + p.sttMsPerAudioSecond * audioSeconds;
}

export function ttsLatencyMs(text: string, p: LatencyProfile = LATENCY_PROFILE): number {
  return p.ttsBaseMs + p.ttsMsPerChar * text.length;
}

/** When token `i` (0-based) is due, counted from the request; `i === tokens.length` is the end of the stream. */
export function tokenDueMs(i: number, p: LatencyProfile = LATENCY_PROFILE): number {
  return p.llmFirstTokenMs + (i * 1000) / p.llmTokensPerSecond;
}
