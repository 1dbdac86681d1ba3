// Request and answer shapes of the text-to-speech models (docs/workers-ai.md, "Models and their
// shapes"). The input schemas compile only if they fit the published input types, so the offline
// stand-in rejects what Workers AI would (an unknown voice, encoding or container).
import { z } from "zod";
import { AURA_1_VOICES, AURA_2_EN_VOICES } from "./aura-voices.ts";
import { publishedInput } from "./published-types.ts";

/** `@cf/myshell-ai/melotts`: `{ prompt, lang? }` -> `{ audio: base64 MP3 }` (the stand-in may return a WAV). */
export const MelottsInput = publishedInput("@cf/myshell-ai/melotts", z.object({ prompt: z.string().min(1), lang: z.string().optional() }));
export const MelottsOutput = z.object({ audio: z.string().min(1) });

const auraOptions = {
  text: z.string().min(1),
  encoding: z.enum(["linear16", "flac", "mulaw", "alaw", "mp3", "opus", "aac"]).optional(),
  container: z.enum(["none", "wav", "ogg"]).optional(),
  sample_rate: z.number().optional(),
};
/** `@cf/deepgram/aura-1`: `{ text, speaker?, encoding?, container?, sample_rate? }` -> audio bytes. */
export const Aura1Input = publishedInput("@cf/deepgram/aura-1", z.object({ ...auraOptions, speaker: z.enum(AURA_1_VOICES).optional() }));
/** `@cf/deepgram/aura-2-en`: as aura-1, with its own voices. */
export const Aura2EnInput = publishedInput(
  "@cf/deepgram/aura-2-en",
  z.object({ ...auraOptions, speaker: z.enum(AURA_2_EN_VOICES).optional() }),
);
export type AuraInput = z.infer<typeof Aura1Input> | z.infer<typeof Aura2EnInput>;
