// The voices each Aura model has. A speaker the model does not know fails every sentence of every
// reply at run time, so TTS_SPEAKER is checked against this list when the configuration loads.
// The offline stand-in rejects any other speaker, as Workers AI does. The lists are Workers AI's own
// (the `speaker` enums of @cloudflare/workers-types; docs/workers-ai.md): the build fails if one
// drifts from them. aura-1 and aura-2-en share only some names. Pure.
import type { AiModels } from "@cloudflare/workers-types";

export const AURA_1_VOICES = [
  "angus",
  "asteria",
  "arcas",
  "orion",
  "orpheus",
  "athena",
  "luna",
  "zeus",
  "perseus",
  "helios",
  "hera",
  "stella",
] as const;
export const AURA_2_EN_VOICES = [
  "amalthea",
  "andromeda",
  "apollo",
  "arcas",
  "aries",
  "asteria",
  "athena",
  "atlas",
  "aurora",
  "callista",
  "cora",
  "cordelia",
  "delia",
  "draco",
  "electra",
  "harmonia",
  "helena",
  "hera",
  "hermes",
  "hyperion",
  "iris",
  "janus",
  "juno",
  "jupiter",
  "luna",
  "mars",
  "minerva",
  "neptune",
  "odysseus",
  "ophelia",
  "orion",
  "orpheus",
  "pandora",
  "phoebe",
  "pluto",
  "saturn",
  "thalia",
  "theia",
  "vesta",
  "zeus",
] as const;
export const AURA_2_ES_VOICES = [
  "sirio",
  "nestor",
  "carina",
  "celeste",
  "alvaro",
  "diana",
  "aquila",
  "selena",
  "estrella",
  "javier",
] as const;

export const AURA_VOICES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  "@cf/deepgram/aura-1": AURA_1_VOICES,
  "@cf/deepgram/aura-2-en": AURA_2_EN_VOICES,
  "@cf/deepgram/aura-2-es": AURA_2_ES_VOICES,
});

// Each list must be exactly the model's `speaker` type, or this does not compile.
type SpeakerOf<M extends keyof AiModels> = NonNullable<(AiModels[M]["inputs"] & { speaker?: unknown })["speaker"]>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AuraVoiceListsMatchWorkersAi = [
  Same<(typeof AURA_1_VOICES)[number], SpeakerOf<"@cf/deepgram/aura-1">>,
  Same<(typeof AURA_2_EN_VOICES)[number], SpeakerOf<"@cf/deepgram/aura-2-en">>,
  Same<(typeof AURA_2_ES_VOICES)[number], SpeakerOf<"@cf/deepgram/aura-2-es">>,
] extends [true, true, true]
  ? true
  : never;
const auraVoiceListsMatch: AuraVoiceListsMatchWorkersAi = true;
void auraVoiceListsMatch;

/** Why `speaker` cannot be used with `model`, or null when it can. */
export function speakerProblem(model: string, speaker: string): string | null {
  const voices = AURA_VOICES[model];
  if (!voices) {
    return model.startsWith("@cf/deepgram/aura")
      ? null // an Aura model newer than this list: Workers AI will say if the voice is wrong
      : `${model} has no speaker choice; TTS_SPEAKER applies to the Aura models (${Object.keys(AURA_VOICES).join(", ")})`;
  }
  if (voices.includes(speaker)) return null;
  return `${model} has no voice "${speaker}"; its voices: ${voices.join(", ")}`;
}
