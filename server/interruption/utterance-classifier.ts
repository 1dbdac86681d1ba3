// What did the user say over the reply? Speech that takes the turn, a backchannel, the assistant's
// own voice coming back through the microphone (echo), or nothing (a cough, a click, noise).
// Echo is judged with what the server knows it is playing: the transcript's words are aligned, in
// order, with the words played around that moment (longest common subsequence, allowing a
// recogniser's spelling slips); if enough of them line up, it is the reply talking, not the user.
import type { BackchannelMatcher } from "./backchannels.ts";
import { sameWord, wordsOf } from "./words.ts";

/** Short function words that, alone, are a recogniser's reading of a noise rather than something said. */
const FILLER_WORDS = new Set([
  "the",
  "a",
  "an",
  "and",
  "if",
  "of",
  "to",
  "in",
  "it",
  "is",
  "i",
  "you",
  "he",
  "she",
  "we",
  "they",
  "that",
  "this",
  "on",
  "at",
  "for",
  "but",
  "or",
  "so",
  "as",
  "be",
  "by",
  "with",
  "from",
]);

export type UtteranceKind = "speech" | "backchannel" | "echo" | "empty";

export interface UtteranceClass {
  kind: UtteranceKind;
  /** The transcript as recognised. */
  text: string;
  /** Words that are neither backchannel nor echo. */
  realWords: string[];
  /** Share of the transcript's words that matched the played words in order (0..1). */
  echoShare: number;
}

export interface ClassifyOptions {
  backchannels: BackchannelMatcher;
  /** A partial transcript (speech still going on): words that may be the start of a backchannel are not counted yet. */
  partial?: boolean;
  /** The reply's words played around the time of the speech. */
  playedText: string;
  minWords: number;
  /** echoShare at or above this: the whole transcript is echo. */
  echoWordOverlap: number;
}

export function classifyUtterance(text: string, o: ClassifyOptions): UtteranceClass {
  const words = wordsOf(text);
  if (words.length === 0) return { kind: "empty", text, realWords: [], echoShare: 0 };
  const echo = echoMatches(words, wordsOf(o.playedText));
  const echoCount = echo.filter(Boolean).length;
  const echoShare = echoCount / words.length;
  const backchannel = o.backchannels.mark(words);
  if (o.partial) backchannel.fill(true, words.length - o.backchannels.openTail(words));
  let realWords = words.filter((_, i) => !echo[i] && !backchannel[i]);
  // A lone function word ("the", "if", "and") is what recognisers make of a noise burst, not a turn.
  if (realWords.every((w) => FILLER_WORDS.has(w))) realWords = [];
  if (echoShare >= o.echoWordOverlap && echoCount > 0) return { kind: "echo", text, realWords, echoShare };
  if (realWords.length >= Math.max(1, o.minWords)) return { kind: "speech", text, realWords, echoShare };
  // Not enough words to take the turn: a backchannel if the user said one, else the reply's echo or noise.
  const kind: UtteranceKind = backchannel.some(Boolean)
    ? "backchannel"
    : echoCount > 0
      ? "echo"
      : realWords.length > 0
        ? "backchannel"
        : "empty";
  return { kind, text, realWords, echoShare };
}

/** For each transcript word, whether it lines up with a played word (an in-order alignment of maximum length). */
export function echoMatches(words: readonly string[], played: readonly string[]): boolean[] {
  const n = words.length;
  const m = played.length;
  const matched = Array.from({ length: n }, () => false);
  if (n === 0 || m === 0) return matched;
  // lcs[i][j]: longest common subsequence of words[i..] and played[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = sameWord(words[i]!, played[j]!) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  for (let i = 0, j = 0; i < n && j < m;) {
    if (sameWord(words[i]!, played[j]!) && lcs[i]![j] === lcs[i + 1]![j + 1]! + 1) {
      matched[i] = true;
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      i++;
    } else {
      j++;
    }
  }
  return matched;
}
