// The assistant's scripted reply in the turn-taking benchmark: long enough (four sentences, ~15 s
// of flite speech) that there is an early, a middle and a late part to talk over. Both LLM stand-ins
// (the workerd fake and the OpenAI-compatible server for the local stand-in) stream exactly this.
// Pure: runs in workerd and Node.

export const SCRIPTED_REPLY =
  "Paris began as a fishing village on an island in the river Seine. " +
  "The Romans called it Lutetia, and they built baths and an arena there. " +
  "In the Middle Ages it grew into one of the largest cities in Europe. " +
  "Much of it was rebuilt later, with the wide avenues you still see today.";

/** Streamed tokens the way an LLM sends them: words with their leading space. */
export function replyTokens(text: string = SCRIPTED_REPLY): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** The reply's words (what the words-lost count is measured against). */
export function replyWords(text: string = SCRIPTED_REPLY): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/** Sentences, as a sentence chunker would cut them (used to synthesize the TTS cache ahead of the trials). */
export function replySentences(text: string = SCRIPTED_REPLY): string[] {
  return text.match(/[^.!?]+[.!?]+/g)?.map((s) => s.trim()) ?? [text];
}
