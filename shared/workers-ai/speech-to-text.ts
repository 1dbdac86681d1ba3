// Request and answer shapes of the Whisper models (docs/workers-ai.md, "Models and their shapes").
// The server validates real answers with the output schemas; the offline stand-in checks requests
// with the input schemas, which compile only if they fit the published input types.
import { z } from "zod";
import { publishedInput } from "./published-types.ts";

/** `@cf/openai/whisper`, `@cf/openai/whisper-tiny-en`: input `{ audio: number[] }` (bytes of a WAV). */
export const WhisperInput = publishedInput("@cf/openai/whisper", z.object({ audio: z.array(z.number().int().min(0).max(255)) }));
publishedInput("@cf/openai/whisper-tiny-en", WhisperInput); // same published input type: checked for both
export const WhisperOutput = z.object({
  text: z.string(),
  word_count: z.number().optional(),
  words: z.array(z.object({ word: z.string().optional(), start: z.number().optional(), end: z.number().optional() })).optional(),
  vtt: z.string().optional(),
});

/** `@cf/openai/whisper-large-v3-turbo`: input `{ audio: base64 WAV, language?, task? }`. */
export const WhisperTurboInput = publishedInput(
  "@cf/openai/whisper-large-v3-turbo",
  z.object({
    audio: z.string().min(1),
    language: z.string().optional(),
    task: z.string().optional(),
    vad_filter: z.boolean().optional(),
  }),
);
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
  segments: z
    .array(z.object({ start: z.number().optional(), end: z.number().optional(), text: z.string().optional() }).passthrough())
    .optional(),
  vtt: z.string().optional(),
});
