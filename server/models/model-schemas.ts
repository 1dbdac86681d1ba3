// Output shapes of the Workers AI models Parley calls (docs/workers-ai.md).
// One set of schemas: the server validates real responses with them, and the test fake and the
// offline stand-in are tested against them, so all three answer in the same shape.
import { z } from "zod";

/** `@cf/openai/whisper`, `@cf/openai/whisper-tiny-en`: input `{ audio: number[] }` (bytes of a WAV). */
export const WhisperInput = z.object({ audio: z.array(z.number().int().min(0).max(255)) });
export const WhisperOutput = z.object({
  text: z.string(),
  word_count: z.number().optional(),
  words: z.array(z.object({ word: z.string().optional(), start: z.number().optional(), end: z.number().optional() })).optional(),
  vtt: z.string().optional(),
});

/** `@cf/openai/whisper-large-v3-turbo`: input `{ audio: base64 WAV, language?, task? }`. */
export const WhisperTurboInput = z.object({
  audio: z.string().min(1),
  language: z.string().optional(),
  task: z.string().optional(),
  vad_filter: z.boolean().optional(),
});
export const WhisperTurboOutput = z.object({
  text: z.string(),
  word_count: z.number().optional(),
  transcription_info: z
    .object({
      language: z.string().optional(),
      language_probability: z.number().optional(),
      duration: z.number().optional(),
      duration_after_vad: z.number().optional(),
    })
    .optional(),
  segments: z.array(z.object({ start: z.number().optional(), end: z.number().optional(), text: z.string().optional() }).passthrough()).optional(),
  vtt: z.string().optional(),
});

/** Text generation input as Parley sends it (messages form). */
export const LlmInput = z.object({
  messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).min(1),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().optional(),
  temperature: z.number().optional(),
});
export const LlmUsage = z.object({
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  total_tokens: z.number().int().min(0),
});
/** Non-streamed text generation output. */
export const LlmOutput = z.object({ response: z.string().optional(), usage: LlmUsage.optional() }).passthrough();
/** One `data:` JSON payload of a streamed reply: native `response` form or OpenAI `choices[].delta` form. */
export const LlmStreamChunk = z
  .object({
    response: z.string().optional(),
    p: z.string().optional(),
    // OpenAI-compatible servers send `"usage": null` on every chunk but the last.
    usage: LlmUsage.partial().nullish(),
    /** Set by the offline stand-in: which engine wrote the reply. */
    engine: z.string().optional(),
    choices: z
      .array(z.object({ delta: z.object({ content: z.string().nullish() }).passthrough().optional(), finish_reason: z.string().nullish() }).passthrough())
      .optional(),
  })
  .passthrough();

/** `@cf/myshell-ai/melotts`: `{ prompt, lang? }` -> `{ audio: base64 MP3 }` (the stand-in may return a WAV). */
export const MelottsInput = z.object({ prompt: z.string().min(1), lang: z.string().optional() });
export const MelottsOutput = z.object({ audio: z.string().min(1) });

/** `@cf/deepgram/aura-1` / `aura-2-en`: `{ text, speaker?, encoding?, container?, sample_rate? }` -> audio bytes. */
export const AuraInput = z.object({
  text: z.string().min(1),
  speaker: z.string().optional(),
  encoding: z.string().optional(),
  container: z.string().optional(),
  sample_rate: z.number().optional(),
});

/**
 * Extra field the offline stand-in adds to every response so the UI can say which engine answered.
 * Real Workers AI never sets it.
 */
export const StandInMarker = z.object({ engine: z.string().min(1) });
