// Speech-to-text with the Whisper family. Each model takes the utterance as a WAV, but in its own shape:
// whisper-large-v3-turbo wants base64, whisper and whisper-tiny-en an array of byte values.
import { bytesToBase64 } from "../../shared/base64.ts";
import { encodeWav } from "../../shared/audio/wav.ts";
import { type AiCallContext, engineOf, runModel } from "../models/ai-binding.ts";
import { WhisperOutput, WhisperTurboOutput } from "../../shared/workers-ai/speech-to-text.ts";
import { UPSTREAM_AUDIO } from "../../shared/protocol.ts";

export const STT_MODELS = ["@cf/openai/whisper-large-v3-turbo", "@cf/openai/whisper", "@cf/openai/whisper-tiny-en"] as const;

export interface Transcript {
  text: string;
  audioSeconds: number;
  engine: string | undefined;
}

export function sttInputs(model: string, pcm: Int16Array, language: string): unknown {
  const wav = encodeWav(pcm, UPSTREAM_AUDIO.sampleRate, 1);
  if (model.includes("whisper-large-v3-turbo")) {
    const inputs: AiModels["@cf/openai/whisper-large-v3-turbo"]["inputs"] = { audio: bytesToBase64(wav), language, task: "transcribe" };
    return inputs;
  }
  const inputs: Exclude<AiModels["@cf/openai/whisper"]["inputs"], string> = { audio: Array.from(wav) };
  return inputs;
}

export async function transcribe(ctx: AiCallContext, model: string, pcm: Int16Array, language: string): Promise<Transcript> {
  const output = await runModel(ctx, model, sttInputs(model, pcm, language));
  const schema = model.includes("whisper-large-v3-turbo") ? WhisperTurboOutput : WhisperOutput;
  const parsed = schema.safeParse(output);
  if (!parsed.success) throw new Error(`unexpected ${model} output: ${parsed.error.issues[0]?.message}`);
  return { text: parsed.data.text.trim(), audioSeconds: pcm.length / UPSTREAM_AUDIO.sampleRate, engine: engineOf(output) };
}

/** Whisper invents text for noise; a transcript with no letters or digits is not a turn. */
export function isMeaningfulTranscript(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}
