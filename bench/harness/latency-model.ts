// The benchmark's fake Workers AI latencies: fixed, known, and shared by the fake (inside workerd) and
// the harness (which subtracts them from what it measures). Pure; runs in workerd and Node.

export interface FakeLatencies {
  /** Whisper: fixed per call. */
  sttMs: number;
  /** Llama: request -> first token. */
  llmFirstTokenMs: number;
  /** Llama: between tokens (1000 / tokens per second). */
  llmTokenMs: number;
  /** TTS: per sentence in the request (a one-sentence chunk costs this; a whole 3-sentence reply 3x). */
  ttsMsPerSentence: number;
}

export const DEFAULT_LATENCIES: FakeLatencies = { sttMs: 150, llmFirstTokenMs: 200, llmTokenMs: 20, ttsMsPerSentence: 120 };

/** Sentences in a TTS request: runs of . ! ? … followed by a space or the end; at least 1. */
export function sentenceCount(text: string): number {
  return Math.max(1, (text.match(/[.!?…]+(?=\s|$)/g) ?? []).length);
}

export function ttsLatencyMs(text: string, l: FakeLatencies): number {
  return l.ttsMsPerSentence * sentenceCount(text);
}

/**
 * When the fake emits LLM token `i` (0-based), counted from the request: first token after
 * llmFirstTokenMs, then one every llmTokenMs. `i === tokens.length` is the end of the stream
 * (usage + [DONE]). Deadlines are absolute, so timer lateness never accumulates over a reply.
 */
export function tokenAtMs(i: number, l: FakeLatencies): number {
  return l.llmFirstTokenMs + i * l.llmTokenMs;
}

/** Duration of the (silent MP3) audio the fake returns for a text, as the test fake does. */
export function speechDurationMs(text: string): number {
  return Math.max(200, text.length * 60);
}

/** Latencies from the worker vars (strings), falling back to the defaults. */
export function latenciesFromVars(vars: Record<string, unknown>): FakeLatencies {
  const num = (k: string, d: number) => {
    const v = vars[k];
    const n = typeof v === "string" && v !== "" ? Number(v) : typeof v === "number" ? v : NaN;
    return Number.isFinite(n) && n >= 0 ? n : d;
  };
  const d = DEFAULT_LATENCIES;
  return {
    sttMs: num("FAKE_STT_MS", d.sttMs),
    llmFirstTokenMs: num("FAKE_LLM_FIRST_TOKEN_MS", d.llmFirstTokenMs),
    llmTokenMs: num("FAKE_LLM_TOKEN_MS", d.llmTokenMs),
    ttsMsPerSentence: num("FAKE_TTS_MS", d.ttsMsPerSentence),
  };
}

export function latenciesToVars(l: FakeLatencies): Record<string, string> {
  return {
    FAKE_STT_MS: String(l.sttMs),
    FAKE_LLM_FIRST_TOKEN_MS: String(l.llmFirstTokenMs),
    FAKE_LLM_TOKEN_MS: String(l.llmTokenMs),
    FAKE_TTS_MS: String(l.ttsMsPerSentence),
  };
}
