// The turn-taking benchmark's model latencies: what each call to the fake Workers AI costs, with
// where each number comes from. Cloudflare publishes no latencies for these models, so every value
// is an estimate, marked as such, and printed with the results. Pure: runs in workerd and Node.

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
}

export const LATENCY_PROFILE: Readonly<LatencyProfile> = Object.freeze({
  sttBaseMs: 300,
  sttMsPerAudioSecond: 25,
  llmFirstTokenMs: 300,
  llmTokensPerSecond: 50,
  ttsBaseMs: 150,
  ttsMsPerChar: 1.5,
});

/** Where each value comes from (printed with the results and in bench/README.md). */
export const LATENCY_SOURCES: Readonly<Record<keyof LatencyProfile, string>> = Object.freeze({
  sttBaseMs:
    "estimate: Whisper's encoder always processes a 30 s window, so a short clip costs about a fixed amount; third-party hosted large-v3-turbo runs at ~0.25x real time end to end on 4-8 s clips (polargrid.ai benchmark, 2026); 250-400 ms is the range commonly seen for Workers AI on short clips",
  sttMsPerAudioSecond: "estimate: decoder share of the same real-time factor",
  llmFirstTokenMs: "estimate: request + queue + prefill of a ~1k-token prompt on an 8B fp8 model (npm run bench uses 200 ms)",
  llmTokensPerSecond: "estimate: same as npm run bench (50 tokens/s)",
  ttsBaseMs: "estimate: melotts is a small model; fixed cost of a call (npm run bench uses 120 ms per sentence)",
  ttsMsPerChar: "estimate: ~270 ms for an 80-character sentence",
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
