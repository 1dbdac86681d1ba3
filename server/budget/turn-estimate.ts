// What a reply can cost at most, reserved against the daily budget before its LLM call: the longest
// prompt the history budget lets through, the most tokens the reply may have, and speech for all of
// them. Speech-to-text is left out: it is spent before the reservation matters, and settled after.
// Pure.
import type { ParleyConfig } from "../config.ts";
import { turnCost } from "../cost/cost.ts";

/** ~4 characters per token (cost.ts's estimate); spoken at ~12 characters per second, the slow end of speech. */
const CHARS_PER_TOKEN = 4;
const SPOKEN_CHARS_PER_SECOND = 12;
/** Room for the user's own words on top of the history budget. */
const USER_TEXT_CHARS = 2_000;

export function replyReservationNeurons(config: ParleyConfig): number {
  const promptChars = config.reply.systemPrompt.length + config.reply.historyBudgetChars + USER_TEXT_CHARS;
  const replyChars = config.reply.maxTokens * CHARS_PER_TOKEN;
  return turnCost({
    sttModel: config.models.stt,
    audioInSeconds: 0,
    llmModel: config.models.llm,
    promptTokens: Math.ceil(promptChars / CHARS_PER_TOKEN),
    completionTokens: config.reply.maxTokens,
    ttsModel: config.models.tts,
    ttsCharacters: replyChars,
    ttsAudioSeconds: replyChars / SPOKEN_CHARS_PER_SECOND,
  }).neurons;
}
