// Model table of the offline stand-in: which model ids it answers, how each one's inputs are read
// and what shape each one answers in (the same shapes as Workers AI, checked against
// shared/workers-ai/). Requests are checked with schemas typed against Workers AI's published input
// types, not the server's own assumptions. Engines are injected, so this runs with fakes in unit tests.
import type { z } from "zod";
import { WhisperInput, WhisperTurboInput } from "../shared/workers-ai/speech-to-text.ts";
import { LlmInput, LlmPromptInput } from "../shared/workers-ai/llm.ts";
import { Aura1Input, Aura2EnInput, MelottsInput, type AuraInput } from "../shared/workers-ai/text-to-speech.ts";
import { base64ToBytes, Base64Error, bytesToBase64 } from "../shared/base64.ts";
import { AudioFormatError, float32ToInt16, int16ToFloat32 } from "../shared/audio/pcm.ts";
import { Resampler } from "../shared/audio/resampler.ts";
import { encodeSamples, encodeWav, type WavEncoding } from "../shared/audio/wav.ts";
import { wavToPcm16Mono } from "./audio.ts";
import { AiError } from "./errors.ts";
import type { ReplyEngine } from "./engines/offline-responder.ts";
import type { SpeechRecognizer, SttResult } from "./engines/pocketsphinx.ts";
import type { SpeechSynthesizer } from "./engines/flite.ts";
import { makeUsage, estimatePromptTokens, workersAiSse, type ChatMessage, type StreamPiece } from "./sse.ts";
import { WORKERS_AI_ERRORS } from "../shared/workers-ai/errors.ts";

export interface Engines {
  stt: SpeechRecognizer;
  tts: SpeechSynthesizer;
  reply: ReplyEngine;
}

export type RunResult =
  | { kind: "json"; body: Record<string, unknown> }
  | { kind: "stream"; contentType: string; body: AsyncIterable<Uint8Array | string> };

export const STT_MODELS = ["@cf/openai/whisper", "@cf/openai/whisper-tiny-en", "@cf/openai/whisper-large-v3-turbo"] as const;
export const TTS_MODELS = ["@cf/myshell-ai/melotts", "@cf/deepgram/aura-1", "@cf/deepgram/aura-2-en"] as const;
export const isLlmModel = (model: string) => model.startsWith("@cf/meta/llama-");

export function isKnownModel(model: string): boolean {
  return (STT_MODELS as readonly string[]).includes(model) || (TTS_MODELS as readonly string[]).includes(model) || isLlmModel(model);
}

function parse<T extends z.ZodType>(schema: T, inputs: unknown, model: string): z.infer<T> {
  const r = schema.safeParse(inputs);
  if (!r.success) {
    const issues = r.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new AiError(WORKERS_AI_ERRORS.invalidInput, `Invalid input for ${model}: ${issues}`);
  }
  return r.data;
}

/** Answer one `env.AI.run(model, inputs)` call. */
export async function runModel(engines: Engines, model: string, inputs: unknown, signal: AbortSignal): Promise<RunResult> {
  if (model === "@cf/openai/whisper-large-v3-turbo") {
    const input = parse(WhisperTurboInput, inputs, model);
    const bytes = decodeBase64(input.audio);
    const { result, durationSec } = await transcribe(engines.stt, bytes);
    const text = presentable(result.text);
    return {
      kind: "json",
      body: {
        text,
        word_count: wordCount(text),
        transcription_info: { language: "en", duration: round(durationSec), duration_after_vad: round(durationSec) },
        segments: text
          ? [{ start: result.words[0]?.start ?? 0, end: result.words.at(-1)?.end ?? round(durationSec), text, words: result.words }]
          : [],
        vtt: vtt(text, result),
        engine: engines.stt.label,
      },
    };
  }
  if (model === "@cf/openai/whisper" || model === "@cf/openai/whisper-tiny-en") {
    const input = parse(WhisperInput, inputs, model);
    const { result } = await transcribe(engines.stt, Uint8Array.from(input.audio));
    const text = presentable(result.text);
    return {
      kind: "json",
      body: { text, word_count: wordCount(text), words: result.words, vtt: vtt(text, result), engine: engines.stt.label },
    };
  }
  if (isLlmModel(model)) {
    const input = parse(LlmInput.or(LlmPromptInput), inputs, model);
    const messages: ChatMessage[] = "messages" in input ? input.messages : [{ role: "user", content: input.prompt }];
    const req = { messages, maxTokens: input.max_tokens, temperature: input.temperature, signal };
    const engine = engines.reply;
    if (!input.stream) {
      const { response, usage } = await engine.complete(req);
      return { kind: "json", body: { response, usage, engine: engine.label } };
    }
    // Pull the first piece before answering, so a failing engine throws (as the real binding does
    // for a non-OK status) instead of producing an empty stream.
    const pieces = await primed(engine.stream(req));
    const fallback = (completion: number) => makeUsage(estimatePromptTokens(messages), completion);
    return { kind: "stream", contentType: "text/event-stream", body: workersAiSse(pieces, engine.label, fallback) };
  }
  if (model === "@cf/myshell-ai/melotts") {
    const input = parse(MelottsInput, inputs, model);
    const wav = await engines.tts.synthesize(input.prompt);
    return { kind: "json", body: { audio: bytesToBase64(wav), engine: engines.tts.label } };
  }
  if (model === "@cf/deepgram/aura-1" || model === "@cf/deepgram/aura-2-en") {
    const input = parse(model === "@cf/deepgram/aura-1" ? Aura1Input : Aura2EnInput, inputs, model);
    const wav = await engines.tts.synthesize(input.text);
    const { bytes, contentType } = auraOutput(wav, input);
    return { kind: "stream", contentType, body: chunks(bytes, 8192) };
  }
  throw new AiError(WORKERS_AI_ERRORS.noSuchModel, `No such model ${model} or task`);
}

async function transcribe(stt: SpeechRecognizer, bytes: Uint8Array): Promise<{ result: SttResult; durationSec: number }> {
  let pcm: Int16Array;
  let durationSec: number;
  try {
    ({ pcm, durationSec } = wavToPcm16Mono(bytes));
  } catch (e) {
    if (e instanceof AudioFormatError)
      throw new AiError(WORKERS_AI_ERRORS.invalidData, `Invalid audio: ${e.message} (the offline stand-in reads WAV only)`);
    throw e;
  }
  return { result: await stt.transcribe(pcm), durationSec };
}

function decodeBase64(s: string): Uint8Array {
  try {
    return base64ToBytes(s.replace(/^data:[^,]*,/, ""));
  } catch (e) {
    if (e instanceof Base64Error) throw new AiError(WORKERS_AI_ERRORS.invalidData, `Invalid data type for base64 input: ${e.message}`);
    throw e;
  }
}

/** Whisper-like text: PocketSphinx gives lower case without punctuation; capitalise the first letter and "I". */
export function presentable(text: string): string {
  const t = text.trim().replace(/\s+/g, " ").replace(/\bi\b/g, "I");
  return t ? t[0]!.toUpperCase() + t.slice(1) : "";
}

function wordCount(text: string): number {
  return text ? text.split(/\s+/).length : 0;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function vtt(text: string, r: SttResult): string {
  if (!text) return "WEBVTT\n";
  const ts = (s: number) => {
    const ms = Math.round(s * 1000);
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor((ms % 3_600_000) / 60_000);
    const sec = Math.floor((ms % 60_000) / 1000);
    return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}.${String(ms % 1000).padStart(3, "0")}`;
  };
  return `WEBVTT\n\n${ts(r.words[0]?.start ?? 0)} --> ${ts(r.words.at(-1)?.end ?? 0)}\n${text}\n\n`;
}

/**
 * Aura answers with audio bytes. The stand-in honours `encoding` linear16 / mulaw / alaw with
 * `container` wav (default) or none, and `sample_rate`; mp3/opus/flac/aac cannot be produced
 * offline, so those (and the default) get a 16 kHz linear16 WAV, which the server sniffs.
 */
export function auraOutput(wav: Uint8Array, input: AuraInput): { bytes: Uint8Array; contentType: string } {
  const encoding: WavEncoding | undefined =
    input.encoding === "linear16" || input.encoding === "mulaw" || input.encoding === "alaw" ? input.encoding : undefined;
  const { pcm: pcm16k } = wavToPcm16Mono(wav);
  const rate =
    encoding && input.sample_rate && input.sample_rate >= 8000 && input.sample_rate <= 48000
      ? input.sample_rate
      : encoding === "mulaw" || encoding === "alaw"
        ? 8000
        : 16000;
  const pcm = rate === 16000 ? pcm16k : float32ToInt16(Resampler.convert(int16ToFloat32(pcm16k), 16000, rate));
  if (encoding && input.container === "none") {
    const type =
      encoding === "linear16"
        ? `audio/l16; rate=${rate}`
        : encoding === "mulaw"
          ? `audio/basic; rate=${rate}`
          : `audio/x-alaw-basic; rate=${rate}`;
    return { bytes: encodeSamples(pcm, encoding), contentType: type };
  }
  return { bytes: encodeWav(pcm, rate, 1, encoding ?? "linear16"), contentType: "audio/wav" };
}

async function* chunks(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function primed<T>(source: AsyncIterable<T>): Promise<AsyncIterable<T>> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        if (first.done) return;
        yield first.value;
        for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
      } finally {
        await it.return?.();
      }
    },
  };
}

export type { StreamPiece };
