// Is an utterance finished, judged from its words alone: the offline stand-in for smart-turn, fed
// with streaming partial transcripts (PocketSphinx: lower case, no punctuation) or Whisper's
// (punctuated). A weak signal, so it errs towards "incomplete": a wrong "incomplete" only makes
// the assistant wait longer, a wrong "complete" cuts the user off.
//
// The word lists hold only closed-class words that need something after them, in two tiers:
// - HARD: articles, possessive determiners, conjunctions, fillers. No sentence ends on them, so
//   they mean "incomplete" even before a period (Whisper ends fragments with "." too).
// - SOFT: prepositions and the infinitive "to". Usually followed by their object ("set a timer
//   for"), but English strands them ("what is it for?"), so a period or question mark wins.
// Left out on purpose: verbs and auxiliaries ("I know where it is"), pronouns ("can you repeat
// that"), and prepositions that double as verb particles ending common commands ("turn the lights
// on", "mach das Licht an"). "in" stays despite "log in": "what's the weather in" is more common.

export type TranscriptVerdict = "complete" | "incomplete" | "unknown";

interface WordLists {
  hard: ReadonlySet<string>;
  soft: ReadonlySet<string>;
  /** Endings that finish an utterance although their last word is listed ("i think so"). */
  finalPhrases: readonly (readonly string[])[];
}

function lists(hard: string, soft: string, finalPhrases: string[] = []): WordLists {
  const words = (s: string) => s.split(/\s+/).filter(Boolean);
  return { hard: new Set(words(hard)), soft: new Set(words(soft)), finalPhrases: finalPhrases.map(words) };
}

// Lower case; elided French forms without their apostrophe ("l'" -> "l").
const LANGUAGES: Readonly<Record<string, WordLists>> = {
  en: lists(
    "a an the my your our their its and but or nor so because if than whether although unless um uh er erm uhm hmm like",
    "to for of with in at from into onto about",
    [
      "think so",
      "hope so",
      "guess so",
      "believe so",
      "suppose so",
      "said so",
      "do so",
      "or so",
      "if you like",
      "as you like",
      "whatever you like",
    ],
  ),
  fr: lists(
    "le la les l un une des du d mon ma mes ton ta tes son sa ses notre votre nos vos et ou mais car ni que qu si puisque comme euh heu hum",
    "de à au aux pour avec dans sur sous chez par en vers sans entre contre pendant",
  ),
  // "das", "die" are also demonstrative pronouns ("ich mag das"); an, auf, aus, ab, mit, zu, vor, nach are separable prefixes.
  de: lists(
    "der dem den des ein eine einen einem einer eines mein meine meinen meinem meiner dein deine deinen deinem unser unsere euer eure und oder aber denn sondern weil dass ob wenn als äh ähm öhm hm",
    "für von bei in im am zum zur vom beim über unter gegen ohne",
  ),
  // Unaccented "si", "tu" are left out: transcripts without accents write "sí" (yes) and "tú" (you) that way.
  es: lists(
    "el la los las un una unos unas mi mis su sus nuestro nuestra nuestros nuestras y e o u pero ni que porque aunque eh em mmm",
    "de del a al en con para por sin sobre hasta desde entre hacia",
  ),
};

const WORD_RE = /[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*['’]?/gu;
const CLOSERS_RE = /["'”’»)\]}]+$/u;

/** Completeness of `text` in `language` (e.g. "en", "fr-FR"); unknown languages go by punctuation only. */
export function judgeTranscript(text: string, language: string): TranscriptVerdict {
  const trimmed = text.trim().replace(CLOSERS_RE, "").trimEnd();
  const words = (trimmed.toLowerCase().match(WORD_RE) ?? []).map((w) => w.replace(/['’]$/, ""));
  if (words.length === 0) return "unknown";
  const lang = LANGUAGES[language.toLowerCase().split(/[-_]/)[0]!];
  const last = words[words.length - 1]!;
  const listed = (tier: "hard" | "soft") => lang !== undefined && lang[tier].has(last) && !endsWithFinalPhrase(words, lang);

  // Trailing off: an ellipsis, or a clause mark with nothing after it.
  if (/(\.\.|…)$/u.test(trimmed) || /[,;:\-–—、，；：]$/u.test(trimmed)) return "incomplete";
  if (/[?!。？！]$/u.test(trimmed)) return "complete";
  if (trimmed.endsWith(".")) return listed("hard") ? "incomplete" : "complete";
  if (lang === undefined) return "unknown";
  if (listed("hard") || listed("soft")) return "incomplete";
  // One word ("hello", "yes", "so…") may be all the user says or the start of more: no verdict.
  return words.length >= 2 ? "complete" : "unknown";
}

function endsWithFinalPhrase(words: readonly string[], lang: WordLists): boolean {
  return lang.finalPhrases.some((p) => p.length <= words.length && p.every((w, i) => words[words.length - p.length + i] === w));
}
