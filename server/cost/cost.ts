// Workers AI cost arithmetic (neurons and USD). Pure. Rates: docs/workers-ai.md, "Prices".

export type PriceUnit =
  | { kind: "audio-minute-in"; neurons: number } // per minute of audio sent (STT)
  | { kind: "audio-minute-out"; neurons: number } // per minute of audio produced (melotts)
  | { kind: "kchars"; neurons: number } // per 1,000 input characters (aura)
  | { kind: "mtokens"; inNeurons: number; outNeurons: number }; // per million tokens

export const MODEL_PRICES: Record<string, PriceUnit> = {
  "@cf/openai/whisper": { kind: "audio-minute-in", neurons: 41.14 },
  "@cf/openai/whisper-large-v3-turbo": { kind: "audio-minute-in", neurons: 46.63 },
  // Not on the pricing page; assumed to cost the same as whisper.
  "@cf/openai/whisper-tiny-en": { kind: "audio-minute-in", neurons: 41.14 },
  // Streaming speech-to-text over a WebSocket, priced in dollars per audio minute: neurons = $/min ÷ $0.011 × 1,000.
  "@cf/deepgram/flux": { kind: "audio-minute-in", neurons: 700 }, // $0.0077
  "@cf/deepgram/nova-3": { kind: "audio-minute-in", neurons: 836.36 }, // $0.0092 over a WebSocket (HTTP: $0.0052 = 472.73; unused)
  // End-of-turn classifier. Cloudflare's row contradicts itself ("$0.00033795 per audio minute" but
  // "0.51 neurons per audio minute", which would be $0.0000056): we bill the dollar figure, $0.00034.
  "@cf/pipecat-ai/smart-turn-v2": { kind: "audio-minute-in", neurons: 30.91 },
  "@cf/myshell-ai/melotts": { kind: "audio-minute-out", neurons: 18.63 },
  "@cf/deepgram/aura-1": { kind: "kchars", neurons: 1363.64 },
  "@cf/deepgram/aura-2-en": { kind: "kchars", neurons: 2727.27 },
  "@cf/deepgram/aura-2-es": { kind: "kchars", neurons: 2727.27 },
  "@cf/meta/llama-3.2-1b-instruct": { kind: "mtokens", inNeurons: 2457, outNeurons: 18252 },
  "@cf/meta/llama-3.2-3b-instruct": { kind: "mtokens", inNeurons: 4625, outNeurons: 30475 },
  "@cf/meta/llama-3.1-8b-instruct-fp8": { kind: "mtokens", inNeurons: 13778, outNeurons: 26128 },
  // The pricing page lists only "-fp8-fast"; assumed to be the same model as "-fast".
  "@cf/meta/llama-3.1-8b-instruct-fast": { kind: "mtokens", inNeurons: 4119, outNeurons: 34868 },
  "@cf/meta/llama-3.1-8b-instruct-fp8-fast": { kind: "mtokens", inNeurons: 4119, outNeurons: 34868 },
  "@cf/meta/llama-3.3-70b-instruct-fp8-fast": { kind: "mtokens", inNeurons: 26668, outNeurons: 204805 },
  "@cf/meta/llama-4-scout-17b-16e-instruct": { kind: "mtokens", inNeurons: 24545, outNeurons: 77273 },
};

/** $0.011 per 1,000 neurons. */
export const USD_PER_NEURON = 0.011 / 1000;
export const FREE_NEURONS_PER_DAY = 10_000;

export interface UsageInput {
  sttModel: string;
  audioInSeconds: number;
  llmModel: string;
  promptTokens: number;
  completionTokens: number;
  ttsModel: string;
  ttsCharacters: number;
  ttsAudioSeconds: number;
}

export interface TurnCost {
  neurons: number;
  usd: number;
  byStage: { stt: number; llm: number; tts: number };
  /** Models that had usage this turn but no known price (their stage counts as 0). */
  unpricedModels: string[];
}

interface Quantities {
  audioInSeconds: number;
  audioOutSeconds: number;
  chars: number;
  promptTokens: number;
  completionTokens: number;
}

// Usage figures come from streams and estimates; a NaN or negative must not poison the total.
const clean = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

function neuronsFor(unit: PriceUnit, q: Quantities): number {
  switch (unit.kind) {
    case "audio-minute-in":
      return (unit.neurons * q.audioInSeconds) / 60;
    case "audio-minute-out":
      return (unit.neurons * q.audioOutSeconds) / 60;
    case "kchars":
      return (unit.neurons * q.chars) / 1000;
    case "mtokens":
      return (unit.inNeurons * q.promptTokens + unit.outNeurons * q.completionTokens) / 1_000_000;
  }
}

/** Neurons and dollars for one turn, split by stage. Free allocation is not subtracted here. */
export function turnCost(u: UsageInput): TurnCost {
  const unpricedModels: string[] = [];
  const stage = (model: string, q: Quantities): number => {
    const used = q.audioInSeconds + q.audioOutSeconds + q.chars + q.promptTokens + q.completionTokens > 0;
    if (!used) return 0;
    const unit = Object.hasOwn(MODEL_PRICES, model) ? MODEL_PRICES[model] : undefined;
    if (!unit) {
      if (!unpricedModels.includes(model)) unpricedModels.push(model);
      return 0;
    }
    return neuronsFor(unit, q);
  };
  const none: Quantities = { audioInSeconds: 0, audioOutSeconds: 0, chars: 0, promptTokens: 0, completionTokens: 0 };
  const stt = stage(u.sttModel, { ...none, audioInSeconds: clean(u.audioInSeconds) });
  const llm = stage(u.llmModel, { ...none, promptTokens: clean(u.promptTokens), completionTokens: clean(u.completionTokens) });
  const tts = stage(u.ttsModel, { ...none, chars: clean(u.ttsCharacters), audioOutSeconds: clean(u.ttsAudioSeconds) });
  const neurons = stt + llm + tts;
  return { neurons, usd: neurons * USD_PER_NEURON, byStage: { stt, llm, tts }, unpricedModels };
}

/** Neurons and dollars for `audioSeconds` of audio on a model priced per audio minute; zeros for any other model. */
export function audioModelCost(model: string, audioSeconds: number): { neurons: number; usd: number } {
  const unit = Object.hasOwn(MODEL_PRICES, model) ? MODEL_PRICES[model] : undefined;
  if (unit?.kind !== "audio-minute-in" && unit?.kind !== "audio-minute-out") return { neurons: 0, usd: 0 };
  const neurons = (unit.neurons * clean(audioSeconds)) / 60;
  return { neurons, usd: neurons * USD_PER_NEURON };
}

/** Rough token count (~4 chars per token) for when a stream reports no usage. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
