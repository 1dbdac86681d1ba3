// Workers AI's `@cf/pipecat-ai/smart-turn-v2`: an audio classifier that says whether an utterance
// sounds finished (intonation, trailing words), asked at the pause mark. Cloudflare documents only
// the types: `{ audio: base64, dtype? }` -> `{ is_complete?, probability? }`. We send what Pipecat's
// own client feeds the model: 16 kHz mono float32 samples in [-1, 1], the last 8 s at most.
import { z } from "zod";
import { bytesToBase64 } from "../../shared/base64.ts";
import { type AiCallContext, runModel } from "../models/ai-binding.ts";

export const SMART_TURN_MODEL = "@cf/pipecat-ai/smart-turn-v2";
/** Pipecat's window: the model was trained on at most 8 s, so only the end of a long utterance is sent. */
export const SMART_TURN_MAX_AUDIO_MS = 8000;

// Matches UPSTREAM_AUDIO in shared/protocol.ts (utterances come from the turn detector at 16 kHz).
const SAMPLE_RATE_HZ = 16_000;
const MAX_SAMPLES = (SMART_TURN_MAX_AUDIO_MS * SAMPLE_RATE_HZ) / 1000;

export interface SmartTurnInput {
  /** Base64 of little-endian float32 PCM. */
  audio: string;
  dtype: "float32";
}

/** Either field may be missing; both missing is malformed. */
export const SmartTurnOutput = z
  .object({ is_complete: z.boolean().optional(), probability: z.number().min(0).max(1).optional() })
  .passthrough()
  .refine((o) => o.is_complete !== undefined || o.probability !== undefined, "neither is_complete nor probability");

export interface SmartTurnVerdict {
  complete: boolean;
  /** Probability that the utterance is finished, 0..1. */
  probability: number;
}

/** The request body for PCM16 audio: its last 8 s as float32, base64. */
export function smartTurnInput(audio: Int16Array): SmartTurnInput {
  const pcm = audio.length > MAX_SAMPLES ? audio.subarray(audio.length - MAX_SAMPLES) : audio;
  const bytes = new Uint8Array(pcm.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < pcm.length; i++) view.setFloat32(i * 4, pcm[i]! / 32768, true);
  // `satisfies` keeps the body in step with the binding's declared input type.
  return { audio: bytesToBase64(bytes), dtype: "float32" } satisfies AiModels[typeof SMART_TURN_MODEL]["inputs"];
}

/** The model's answer; the probability stands in for a missing is_complete (≥ 0.5) and vice versa (1 or 0). */
export function parseSmartTurnOutput(raw: unknown, model: string = SMART_TURN_MODEL): SmartTurnVerdict {
  const parsed = SmartTurnOutput.safeParse(raw);
  if (!parsed.success) throw new Error(`unexpected ${model} output: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  const { is_complete, probability } = parsed.data;
  if (probability === undefined) return { complete: is_complete!, probability: is_complete ? 1 : 0 };
  return { complete: is_complete ?? probability >= 0.5, probability };
}

export interface SmartTurnOptions {
  /** The session passes endOfTurn.smartTurnModel; default SMART_TURN_MODEL. */
  model?: string;
  /** `complete` when the probability is at least this (0..1; the session passes endOfTurn.smartTurnThreshold); the model's own is_complete is not used. */
  threshold: number;
}

/**
 * Ask once whether `audio` (the utterance so far, PCM16 16 kHz) is finished. No retry: the answer
 * is only useful within a few hundred ms, and the caller falls back to silence when it is late or fails.
 */
export async function askSmartTurn(
  ctx: AiCallContext,
  audio: Int16Array,
  o: SmartTurnOptions,
): Promise<SmartTurnVerdict & { audioSeconds: number }> {
  if (!(o.threshold >= 0 && o.threshold <= 1)) throw new RangeError(`smart-turn threshold must be within 0..1, got ${o.threshold}`);
  if (audio.length === 0) throw new RangeError("smart-turn needs audio");
  const model = o.model ?? SMART_TURN_MODEL;
  const { probability } = parseSmartTurnOutput(await runModel(ctx, model, smartTurnInput(audio)), model);
  return { complete: probability >= o.threshold, probability, audioSeconds: Math.min(audio.length, MAX_SAMPLES) / SAMPLE_RATE_HZ };
}
