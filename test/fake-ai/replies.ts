// What the fake Workers AI says by default (kept out of worker.ts: a Worker module may only export handlers).
export const DEFAULT_TRANSCRIPT = "What is the weather in Paris tomorrow?";

export function defaultReply(userText: string): string {
  return `I heard you say: ${userText.replace(/[.?!]+$/, "")}. This is the second sentence of my reply. And here is a third one, so there are several segments.`;
}

/** Split a reply into streamed tokens the way an LLM does: words with their leading space. */
export function tokenize(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}
