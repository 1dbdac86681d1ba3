// Text-to-speech per sentence. melotts answers JSON `{ audio: base64 }`; Aura answers a byte stream.
// Either way the container is sniffed from the bytes (MP3 from Workers AI, WAV from the stand-in),
// which also catches an error body that would otherwise be sent to the client as "audio".
import { base64ToBytes } from "../../shared/base64.ts";
import { sniffAudio } from "../../shared/audio/audio-container.ts";
import { type AiCallContext, engineOf, readAllBytes, runModel } from "../models/ai-binding.ts";
import { MelottsOutput } from "../../shared/workers-ai/text-to-speech.ts";
import type { SegmentEvent } from "../../shared/protocol.ts";
import type { AuraOutput } from "../config.ts";

export interface SpeechAudio {
  bytes: Uint8Array;
  container: "mp3" | "wav";
  codec: "mp3" | "pcm_s16le";
  sampleRate: number;
  channels: number;
  durationMs: number;
  engine: string | undefined;
}

/** The `segment` header that goes out right before the segment's audio. */
export function segmentHeader(replyId: string, index: number, text: string, audio: SpeechAudio): SegmentEvent {
  return {
    type: "segment",
    replyId,
    index,
    text,
    container: audio.container,
    codec: audio.codec,
    sampleRate: audio.sampleRate,
    channels: audio.channels,
    durationMs: audio.durationMs,
    bytes: audio.bytes.byteLength,
  };
}

export function isAuraModel(model: string): boolean {
  return model.startsWith("@cf/deepgram/aura");
}

export function ttsInputs(model: string, text: string, o: TtsOptions): unknown {
  if (isAuraModel(model)) {
    const inputs: AiModels["@cf/deepgram/aura-1"]["inputs"] = { text };
    if (o.speaker) (inputs as { speaker?: string }).speaker = o.speaker;
    if (o.output) {
      inputs.encoding = o.output.encoding;
      inputs.container = o.output.container;
      inputs.sample_rate = o.output.sampleRate;
    }
    return inputs;
  }
  const inputs: AiModels["@cf/myshell-ai/melotts"]["inputs"] = { prompt: text, lang: o.language };
  return inputs;
}

export interface TtsOptions {
  speaker?: string | undefined;
  language: string;
  /** Aura only: the output format (default MP3). */
  output?: AuraOutput | undefined;
}

export async function synthesize(ctx: AiCallContext, model: string, text: string, o: TtsOptions): Promise<SpeechAudio> {
  const output = await runModel(ctx, model, ttsInputs(model, text, o));
  let bytes: Uint8Array;
  if (output instanceof ReadableStream) bytes = await readAllBytes(output as ReadableStream<Uint8Array>, ctx.signal);
  else if (output instanceof Uint8Array) bytes = output;
  else if (output instanceof ArrayBuffer) bytes = new Uint8Array(output);
  else {
    const parsed = MelottsOutput.safeParse(output);
    if (!parsed.success) throw new Error(`unexpected ${model} output: no audio`);
    bytes = base64ToBytes(parsed.data.audio);
  }
  const info = sniffAudio(bytes);
  return { bytes, ...info, engine: engineOf(output) };
}
