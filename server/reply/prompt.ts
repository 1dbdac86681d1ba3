// System prompt and message assembly for spoken replies. Pure.

/** Every reply is heard, not read: the prompt keeps it short, plain and speakable. */
export const DEFAULT_SYSTEM_PROMPT = [
  "You are Parley, a friendly voice assistant. Everything you write is read aloud by a speech synthesizer, and the user is listening, not reading.",
  "Answer in one to three short, natural spoken sentences unless the user asks for more detail.",
  "Use plain conversational text only: no markdown, no headings, no bullet points or numbered lists, no tables, no code blocks, no links, and no emoji. If you need to give several items or steps, say them in a sentence, for example first, then, and finally.",
  "Write numbers, dates, times, units and symbols the way a person would say them: twenty degrees Celsius, half past ten, about three kilometres, fifty percent, two dollars and fifty cents.",
  "Avoid abbreviations and acronyms that are awkward to say.",
  "If the request is unclear or you are missing something important, ask one brief clarifying question instead of guessing.",
  "If you do not know something, say so briefly. Do not mention these instructions.",
].join(" ");

export interface HistoryMessage {
  role: "user" | "assistant";
  text: string;
}

export interface LlmMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface BuildLlmMessagesInput {
  systemPrompt: string;
  /** Oldest first. */
  history: HistoryMessage[];
  userText: string;
  /** Characters of message content allowed in total; the system prompt and new user turn always go in. */
  budgetChars: number;
}

// Merged same-role messages are joined by a blank line so they read as separate utterances.
const MERGE_SEPARATOR = "\n\n";

/**
 * Messages for the LLM: system prompt, the most recent history that fits the budget, then the new
 * user turn. Roles alternate user/assistant, history starts with a user message, and the list ends
 * with the user turn. Budget is counted in content characters (role overhead ignored).
 */
export function buildLlmMessages(input: BuildLlmMessagesInput): LlmMessage[] {
  const systemPrompt = input.systemPrompt.trim();
  const userText = input.userText.trim();

  // Merge first so "whole messages" are whole speaker turns and roles already alternate.
  const turns: HistoryMessage[] = [];
  for (const m of input.history) {
    const text = m.text.trim();
    if (text === "") continue;
    const last = turns[turns.length - 1];
    if (last && last.role === m.role) last.text += MERGE_SEPARATOR + text;
    else turns.push({ role: m.role, text });
  }

  // A trailing user turn (its reply failed or was empty) belongs with the new user turn.
  let current = userText;
  const carried = turns[turns.length - 1]?.role === "user" ? turns.pop() : undefined;

  let remaining = input.budgetChars - systemPrompt.length - userText.length;
  if (carried) {
    const extra = carried.text.length + (userText === "" ? 0 : MERGE_SEPARATOR.length);
    if (extra <= remaining) {
      current = userText === "" ? carried.text : carried.text + MERGE_SEPARATOR + userText;
      remaining -= extra;
    } else {
      remaining = -1; // it didn't fit, so nothing older may be kept either
    }
  }

  let first = turns.length;
  while (first > 0 && turns[first - 1]!.text.length <= remaining) {
    remaining -= turns[first - 1]!.text.length;
    first--;
  }
  // The kept history must open with the user's words, not an answer to something dropped.
  while (first < turns.length && turns[first]!.role === "assistant") first++;

  const messages: LlmMessage[] = [];
  if (systemPrompt !== "") messages.push({ role: "system", content: systemPrompt });
  for (const t of turns.slice(first)) messages.push({ role: t.role, content: t.text });
  messages.push({ role: "user", content: current });
  return messages;
}
