// Backchannels: what a listener says over a speaker to show they follow ("uh-huh", "okay", "I see"),
// not to take the turn. Said over the assistant they are kept in the conversation but never answered.
// Lists per language (ISO 639-1); BACKCHANNELS_<LANG> in wrangler vars replaces one.
import { wordsOf } from "./words.ts";
import { primaryLanguage } from "../speech-to-text/language.ts";

export const DEFAULT_BACKCHANNELS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  en: [
    "uh-huh",
    "uh huh",
    "mm-hmm",
    "mhm",
    "mm",
    "hmm",
    "hm",
    "uh",
    "um",
    "ah",
    "oh",
    "huh",
    "yeah",
    "yep",
    "yes",
    "yup",
    "okay",
    "ok",
    "right",
    "sure",
    "i see",
    "got it",
    "alright",
    "all right",
    "go on",
    "cool",
    "nice",
    "great",
    "exactly",
    "true",
    "indeed",
    "wow",
    "oh okay",
    "oh i see",
    "thank you",
    "thanks",
  ],
  fr: ["oui", "ouais", "d'accord", "ok", "okay", "je vois", "mm", "hmm", "hum", "ah", "oh", "bien sûr", "exactement", "voilà"],
  de: ["ja", "jaja", "genau", "okay", "ok", "mhm", "mm", "hmm", "aha", "ach so", "stimmt", "klar", "richtig"],
  es: ["sí", "si", "vale", "ajá", "claro", "ya", "ok", "okay", "mm", "hmm", "bueno", "ya veo", "exacto"],
  it: ["sì", "si", "ok", "okay", "certo", "capisco", "mm", "hmm", "ah", "esatto", "va bene"],
  pt: ["sim", "ok", "okay", "claro", "entendi", "aham", "mm", "hmm", "certo", "exato"],
  nl: ["ja", "oké", "ok", "okay", "mm", "hmm", "precies", "klopt", "inderdaad"],
});

/** Phrases as word lists, longest first (so "oh i see" wins over "oh"). */
export class BackchannelMatcher {
  readonly #phrases: string[][];

  constructor(phrases: readonly string[]) {
    this.#phrases = phrases.map((p) => wordsOf(p).map(squeeze)).filter((p) => p.length > 0);
    this.#phrases.sort((a, b) => b.length - a.length);
  }

  /** For each word, whether it belongs to a backchannel phrase (greedy, left to right). */
  mark(words: readonly string[]): boolean[] {
    const w = words.map(squeeze);
    const marked = Array.from({ length: w.length }, () => false);
    for (let i = 0; i < w.length;) {
      const hit = this.#phrases.find((p) => p.every((word, k) => w[i + k] === word));
      if (hit) {
        marked.fill(true, i, i + hit.length);
        i += hit.length;
      } else {
        i++;
      }
    }
    return marked;
  }

  /**
   * How many words at the end of `words` could be the start of a backchannel phrase still being
   * said ("i" of "i see", "oh" of "oh i see"): in a partial transcript they are not decisive yet.
   */
  openTail(words: readonly string[]): number {
    const w = words.map(squeeze);
    for (let k = Math.min(w.length, this.#longest - 1); k > 0; k--) {
      const tail = w.slice(w.length - k);
      if (this.#phrases.some((p) => p.length > k && tail.every((word, i) => p[i] === word))) return k;
    }
    return 0;
  }

  get #longest(): number {
    return this.#phrases[0]?.length ?? 0;
  }

  static forLanguage(lists: Readonly<Record<string, readonly string[]>>, language: string): BackchannelMatcher {
    return new BackchannelMatcher(lists[primaryLanguage(language)] ?? lists.en ?? []);
  }
}

/** "mmm", "hmmm", "uhhh", "yeaaah" -> one letter per run, so drawn-out fillers match their list entry. */
function squeeze(word: string): string {
  return word.replace(/(\p{L})\1+/gu, "$1");
}
