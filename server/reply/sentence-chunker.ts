// Streamed LLM text -> speakable chunks for TTS, released as soon as a sentence (or, for the first
// chunk, a clause) is complete so the first audio starts early. Pure; runs in workerd and Node.
//
// Two stages: a streaming cleaner strips markdown/emoji (it holds back only the few characters whose
// meaning depends on what comes next, so its output never depends on where deltas were split), then
// the chunker cuts the cleaned text. toSpeakableText() is the same cleaner run over a whole string,
// so the chunks always add up to toSpeakableText(full reply).
import { withDefaults } from "../../shared/options.ts";

export interface ChunkerOptions {
  /**
   * First chunk may be released at a clause boundary (, ; : dash) once it has this many words:
   * four words take about a second to say, long enough to cover the next chunk's synthesis, while
   * a lone "Well," or "Sure," would leave a gap after it. Default 4.
   */
  firstClauseMinWords: number;
  /**
   * ...and at least this many characters. Off (0) by default: words already measure how long a
   * chunk takes to say; kept for deployments that want a floor in characters. Default 0.
   */
  firstChunkMinChars: number;
  /** Later chunks are whole sentences of at least this many chars (short sentences are merged), default 40. */
  minChars: number;
  /**
   * Hard cap: longer text is split at the last clause boundary or space before it. Only text with
   * no letter or digit (a run of punctuation) can push a chunk past it, since such text is never a
   * chunk of its own. Default 220.
   */
  maxChars: number;
}

export const DEFAULT_CHUNKER: Readonly<ChunkerOptions> = Object.freeze({
  firstClauseMinWords: 4,
  firstChunkMinChars: 0,
  minChars: 40,
  maxChars: 220,
});

// ---------------------------------------------------------------------------------------------
// Cleaner

// Emoji and their glue (ZWJ, variation selectors, skin tones, flags, keycaps, tag sequences).
// oxlint-disable-next-line no-misleading-character-class -- the glue code points are matched one by one on purpose: each is removed
const EMOJI_RE = /[\p{Extended_Pictographic}\u{1F3FB}-\u{1F3FF}\u{1F1E6}-\u{1F1FF}\u200D\uFE0E\uFE0F\u20E3\u{E0020}-\u{E007F}]/u;
const WORD_CHAR_RE = /[\p{L}\p{N}]/u;
const ASCII_PUNCT_RE = /[!-/:-@[-`{-~]/;

const isBlank = (c: string | undefined): boolean => c === undefined || c === " " || c === "\t" || c === "\n" || c === "\r";
const isWordChar = (c: string | undefined): boolean => c !== undefined && WORD_CHAR_RE.test(c);

/** Length of the run of `ch` starting at `i`. */
function runLength(s: string, i: number, ch: string): number {
  let j = i;
  while (j < s.length && s[j] === ch) j++;
  return j - i;
}

const NEED_MORE = -1;

/**
 * Streaming markdown/emoji stripper. Output has single spaces, no leading/trailing spaces on a
 * line, at most one blank line in a row; newlines are kept (they are chunk boundaries).
 */
class SpeakableCleaner {
  private held = ""; // raw input not yet decided
  private lineStart = true;
  private mode: "text" | "skipLine" | "url" = "text";
  private urlDepth = 0;
  private prev = "\n"; // last raw char consumed (emphasis markers look at both neighbours)
  private out = "";
  private pendingSpace = false; // spaces are written lazily so trailing ones vanish
  private newlines = 0;
  private wroteAny = false;

  push(raw: string): string {
    this.held += raw;
    return this.run(false);
  }

  flush(): string {
    const s = this.run(true);
    this.pendingSpace = false;
    return s;
  }

  private run(final: boolean): string {
    const s = this.held;
    let i = 0;
    while (i < s.length) {
      const n = this.step(s, i, final);
      if (n === NEED_MORE) break;
      if (n > 0) this.prev = s[i + n - 1]!;
      i += n;
    }
    this.held = s.slice(i);
    const out = this.out;
    this.out = "";
    return out;
  }

  private write(ch: string): void {
    if (ch === " " || ch === "\t") {
      if (this.wroteAny && this.newlines === 0) this.pendingSpace = true;
      return;
    }
    if (ch === "\n") {
      this.pendingSpace = false;
      if (this.wroteAny && this.newlines < 2) {
        this.out += "\n";
        this.newlines++;
      }
      return;
    }
    if (this.pendingSpace) this.out += " ";
    this.pendingSpace = false;
    this.out += ch;
    this.newlines = 0;
    this.wroteAny = true;
  }

  /** Consumes from `s[i]`; returns chars consumed (0 = state changed, re-examine) or NEED_MORE. */
  private step(s: string, i: number, final: boolean): number {
    const c = s[i]!;
    if (this.mode === "skipLine") {
      if (c === "\n") {
        this.mode = "text";
        return 0;
      }
      const nl = s.indexOf("\n", i);
      return (nl < 0 ? s.length : nl) - i;
    }
    if (this.mode === "url") {
      if (isBlank(c)) {
        this.mode = "text"; // URLs have no spaces: never swallow prose after a broken link
        return 0;
      }
      if (c === "(") this.urlDepth++;
      if (c === ")" && --this.urlDepth === 0) this.mode = "text";
      return 1;
    }
    if (c === "\r") return 1;
    if (c === "\n") {
      this.write("\n");
      this.lineStart = true;
      return 1;
    }
    return this.lineStart ? this.lineStartStep(s, i, final) : this.inlineStep(s, i, final);
  }

  /** Block markers: headings, bullets, rules, quotes, code fences. */
  private lineStartStep(s: string, i: number, final: boolean): number {
    const c = s[i]!;
    if (c === " " || c === "\t" || c === ">") return 1; // indentation and blockquote markers
    if (c === "#") {
      const r = runLength(s, i, "#");
      if (i + r === s.length && !final) return NEED_MORE;
      const next = s[i + r];
      this.lineStart = false;
      if (r <= 6 && isBlank(next)) return r;
      return 0;
    }
    if (c === "`" || c === "~") {
      const r = runLength(s, i, c);
      if (i + r === s.length && !final) return NEED_MORE;
      this.lineStart = false;
      if (r >= 3) {
        this.mode = "skipLine"; // fence line, with its language tag
        return r;
      }
      return 0;
    }
    if (c === "-" || c === "*" || c === "_" || c === "+") {
      // Thematic break (--- / * * *) or bullet ("- ", "* ", "+ ")? Only the rest of the line tells.
      let j = i;
      let count = 0;
      while (j < s.length && (s[j] === c || s[j] === " " || s[j] === "\t")) {
        if (s[j] === c) count++;
        j++;
      }
      if (j === s.length && !final) return NEED_MORE;
      const endOfLine = j === s.length || s[j] === "\n" || s[j] === "\r";
      if (endOfLine && count >= 3 && c !== "+") return j - i; // rule: drop, keep the line break
      this.lineStart = false;
      if (c !== "_" && (s[i + 1] === " " || s[i + 1] === "\t")) return 2; // bullet marker
      return 0;
    }
    this.lineStart = false;
    return 0;
  }

  private inlineStep(s: string, i: number, final: boolean): number {
    const c = s[i]!;
    switch (c) {
      case " ":
      case "\t":
        this.write(" ");
        return 1;
      case "*":
      case "_":
      case "~": {
        const r = runLength(s, i, c);
        if (i + r === s.length && !final) return NEED_MORE;
        const next = s[i + r];
        let keep: boolean;
        if (c === "*") keep = isBlank(this.prev) && isBlank(next); // "5 * 3", not emphasis
        else if (c === "_") keep = isWordChar(this.prev) && isWordChar(next); // snake_case
        else keep = r === 1; // "~5 min" vs ~~strike~~
        if (keep) for (let k = 0; k < r; k++) this.write(c);
        return r;
      }
      case "`":
      case "[":
        return 1; // code ticks and link brackets are not spoken
      case "]":
        if (i + 1 === s.length && !final) return NEED_MORE;
        if (s[i + 1] === "(") {
          this.mode = "url"; // [text](url) -> text
          this.urlDepth = 1;
          return 2;
        }
        return 1;
      case "!":
        if (i + 1 === s.length && !final) return NEED_MORE;
        if (s[i + 1] !== "[") this.write("!"); // ![alt](src) -> alt
        return 1;
      case "\\":
        if (i + 1 === s.length && !final) return NEED_MORE;
        if (ASCII_PUNCT_RE.test(s[i + 1] ?? "")) {
          this.write(s[i + 1]!); // escaped markdown char is literal
          return 2;
        }
        return 1;
      default:
        break;
    }
    const code = c.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdbff) {
      if (i + 1 === s.length && !final) return NEED_MORE; // other half of the pair still to come
      const pair = s.slice(i, i + 2);
      if (!EMOJI_RE.test(pair)) this.write(pair);
      return pair.length;
    }
    if (!EMOJI_RE.test(c)) this.write(c);
    return 1;
  }
}

/** Markdown and emoji removed, whitespace tidied, paragraphs kept; "" when nothing is speakable. */
export function toSpeakableText(markdownish: string): string {
  const cleaner = new SpeakableCleaner();
  const text = (cleaner.push(markdownish) + cleaner.flush()).trim();
  return WORD_CHAR_RE.test(text) ? text : "";
}

// ---------------------------------------------------------------------------------------------
// Boundaries

type BoundaryKind = "hard" | "sentence" | "clause";
interface Boundary {
  /** Chunk is text.slice(0, end). */
  end: number;
  kind: BoundaryKind;
}

// Never end a sentence after these (lowercase, without the final period).
const NEVER_FINAL = new Set([
  "mr",
  "mrs",
  "ms",
  "mx",
  "dr",
  "prof",
  "st",
  "mt",
  "sr",
  "jr",
  "gen",
  "sen",
  "rep",
  "gov",
  "capt",
  "lt",
  "col",
  "sgt",
  "rev",
  "fr",
  "hon",
  "pres",
  "e.g",
  "i.e",
  "eg",
  "ie",
  "vs",
  "cf",
  "approx",
  "ca",
  "dept",
  "est",
  "fig",
  "figs",
]);
// Abbreviations that end a sentence unless a number follows ("No. 5", "Jan. 3", "p. 12").
const BEFORE_NUMBER = new Set([
  "no",
  "nos",
  "vol",
  "ch",
  "sec",
  "pp",
  "p",
  "art",
  "ver",
  "v",
  "jan",
  "feb",
  "mar",
  "apr",
  "jun",
  "jul",
  "aug",
  "sep",
  "sept",
  "oct",
  "nov",
  "dec",
]);
const TERMINATORS = ".!?…";
const CJK_TERMINATORS = "。！？";
const CLOSERS = "\"')]}»”’";
const OPENERS = "\"'([{«“‘¿¡";
const LOWER_RE = /\p{Ll}/u;
const UPPER_RE = /\p{Lu}/u;
const DIGIT_RE = /\p{N}/u;

/** Index of the last letter/digit in `s`, -1 if none. */
function lastWordCharIndex(s: string): number {
  for (let i = s.length - 1; i >= 0; i--) if (isWordChar(s[i])) return i;
  return -1;
}

/**
 * Boundaries in `s`, left to right. A boundary is reported only once a letter or digit follows it,
 * so a chunk is never followed by a punctuation-only remainder, and the word after a period is
 * known (abbreviation and case checks). `textStart` says whether s[0] begins a line. Scanning
 * starts at `from`, which must be 0 or a previous `lastWord` (a word char, so never mid-run).
 */
function* boundaries(s: string, textStart: boolean, from: number, lastWord: number): Generator<Boundary> {
  for (let i = from; i < lastWord; i++) {
    const c = s[i]!;
    if (c === "\n") {
      yield { end: i, kind: "hard" };
      continue;
    }
    if (CJK_TERMINATORS.includes(c)) {
      let j = i + 1;
      while (j < s.length && (CJK_TERMINATORS.includes(s[j]!) || CLOSERS.includes(s[j]!))) j++;
      yield { end: j, kind: "sentence" };
      i = j - 1;
      continue;
    }
    if (TERMINATORS.includes(c)) {
      let j = i;
      while (j < s.length && TERMINATORS.includes(s[j]!)) j++;
      const termEnd = j;
      while (j < s.length && CLOSERS.includes(s[j]!)) j++;
      i = j - 1;
      if (!isBlank(s[j])) continue; // "3.14", "v1.2", "e.g.,", "example.com"
      let w = j;
      while (w < s.length && !isWordChar(s[w])) w++;
      const next = s[w]!; // exists: w <= lastWord
      const kind = classifyTerminator(s, termEnd, next, textStart);
      if (kind) yield { end: j, kind };
      continue;
    }
    if ((c === "," || c === ";" || c === ":") && isBlank(s[i + 1])) {
      yield { end: i + 1, kind: "clause" };
      continue;
    }
    if ((c === "-" || c === "–" || c === "—") && s[i - 1] === " " && isBlank(s[i + 1])) {
      yield { end: i + 1, kind: "clause" };
    }
  }
}

/** What the terminator run s[runStart..termEnd) means, given the first letter/digit after it. */
function classifyTerminator(s: string, termEnd: number, next: string, textStart: boolean): BoundaryKind | null {
  let runStart = termEnd;
  while (runStart > 0 && TERMINATORS.includes(s[runStart - 1]!)) runStart--;
  const terms = s.slice(runStart, termEnd);
  if (terms.includes("?") || terms.includes("!")) return "sentence";
  const nextIsLower = LOWER_RE.test(next);
  // Ellipsis: a pause; it ends a sentence only when a capitalised word follows.
  if (terms.length > 1 || terms === "…") return nextIsLower ? "clause" : "sentence";
  // A single period. A new sentence starts with a capital (or digit), so a lowercase word after
  // it means an abbreviation we don't know ("approx. five").
  if (nextIsLower) return null;
  let tokStart = runStart;
  while (tokStart > 0 && !isBlank(s[tokStart - 1])) tokStart--;
  let word = s.slice(tokStart, runStart);
  while (word.length > 0 && OPENERS.includes(word[0]!)) word = word.slice(1);
  const lw = word.toLowerCase();
  if (NEVER_FINAL.has(lw)) return null;
  if (word.length === 1 && UPPER_RE.test(word)) return null; // initial: "J. R. R. Tolkien"
  if (/^(\p{Lu}\.)+\p{Lu}$/u.test(word)) return null; // "U.S. Army": merging is harmless, a wrong split is not
  if (DIGIT_RE.test(next) && BEFORE_NUMBER.has(lw)) return null;
  if (/^\d{1,3}$/.test(word)) {
    // "1. First" at the start of a line (or after a colon) numbers a list item.
    let k = tokStart - 1;
    while (k >= 0 && (s[k] === " " || s[k] === "\t")) k--;
    if (k < 0 ? textStart : s[k] === "\n" || s[k] === ":") return null;
  }
  return "sentence";
}

// ---------------------------------------------------------------------------------------------
// Chunker

const normalize = (s: string): string => s.replace(/\s+/g, " ").trim();
const speakable = (s: string): boolean => WORD_CHAR_RE.test(s);

/** Space-separated tokens with a letter or digit ("it's", "1,000" and "e.g." are one word each; a dash is none). */
function wordCount(s: string): number {
  let n = 0;
  for (const token of s.split(" ")) if (WORD_CHAR_RE.test(token)) n++;
  return n;
}

export class SentenceChunker {
  private readonly o: ChunkerOptions;
  private readonly cleaner = new SpeakableCleaner();
  private buf = ""; // cleaned text not yet emitted
  private emitted = false; // first chunk already out
  private atTextStart = true; // buf[0] is the start of the reply
  // A boundary's verdict never changes once the word after it is known, so each push only scans
  // the new part of buf. Reset on every cut.
  private scanFrom = 0;
  private lastLong = -1; // last sentence/clause boundary in the second half of the cap window
  private lastAny = -1;

  constructor(o?: Partial<ChunkerOptions>) {
    const merged = withDefaults(DEFAULT_CHUNKER, o);
    const maxChars = Math.max(2, Math.floor(merged.maxChars));
    this.o = {
      maxChars,
      minChars: Math.min(Math.max(0, merged.minChars), maxChars),
      firstChunkMinChars: Math.min(Math.max(0, merged.firstChunkMinChars), maxChars),
      firstClauseMinWords: Math.max(0, Math.floor(merged.firstClauseMinWords)),
    };
  }

  /** Feed an LLM text delta; returns chunks that are ready to speak. */
  push(delta: string): string[] {
    this.buf += this.cleaner.push(delta);
    return this.drain();
  }

  /** End of reply: returns everything left. */
  flush(): string[] {
    this.buf += this.cleaner.flush();
    const out = this.drain();
    const rest = normalize(this.buf);
    this.buf = "";
    if (speakable(rest)) out.push(...this.splitOversized(rest));
    return out;
  }

  private drain(): string[] {
    const out: string[] = [];
    for (;;) {
      const cut = this.findCut();
      if (cut === null) return out;
      const chunk = normalize(this.buf.slice(0, cut));
      this.buf = this.buf.slice(cut);
      this.scanFrom = 0;
      this.lastLong = -1;
      this.lastAny = -1;
      this.atTextStart = false;
      this.emitted = true;
      out.push(chunk);
    }
  }

  /** Where to end the next chunk, or null to wait for more text. */
  private findCut(): number | null {
    const { firstChunkMinChars, firstClauseMinWords, minChars, maxChars } = this.o;
    const s = this.buf;
    const lastWord = lastWordCharIndex(s);
    let complete = true;
    for (const b of boundaries(s, this.atTextStart, this.scanFrom, lastWord)) {
      if (b.end > maxChars) {
        complete = false;
        break;
      }
      const chunk = normalize(s.slice(0, b.end));
      if (!speakable(chunk)) continue; // punctuation-only: let it join the next chunk
      if (b.kind === "hard") return b.end;
      if (!this.emitted) {
        if (b.kind === "sentence" || (chunk.length >= firstChunkMinChars && wordCount(chunk) >= firstClauseMinWords)) return b.end;
      } else if (b.kind === "sentence" && chunk.length >= minChars) {
        return b.end;
      }
      this.lastAny = b.end;
      if (b.end >= maxChars / 2) this.lastLong = b.end;
    }
    if (complete) this.scanFrom = Math.max(this.scanFrom, lastWord);
    // Over the cap with no good boundary. Decide only once a word beyond the cap is known: then
    // every boundary inside the window is settled and the cut can't depend on delta sizes.
    if (s.length <= maxChars || lastWord <= maxChars) return null;
    if (this.lastLong > 0) return this.lastLong; // clause/sentence near the cap
    const k = this.capCut(s);
    if (k !== null) return k;
    return this.lastAny > 0 ? this.lastAny : null;
  }

  /**
   * Cut for text over the cap: the last space at or before it, else a cut at the cap (one huge
   * "word"). Both sides must stay speakable; if the window holds no word at all (a long run of
   * punctuation), cut just after the first word instead, the only way the cap is exceeded.
   */
  private capCut(s: string): number | null {
    const max = this.o.maxChars;
    const first = s.search(WORD_CHAR_RE);
    const last = lastWordCharIndex(s);
    if (first < 0) return null;
    for (let k = Math.min(max, last - 1); k > first; k--) {
      if (s[k] === " " || s[k] === "\n") return k;
    }
    if (first < max) {
      const k = this.hardCut(s, max);
      return k > first && k <= last ? k : null;
    }
    for (let k = first + 1; k < last; k++) {
      if (s[k] === " " || s[k] === "\n") return k;
    }
    return null;
  }

  /** A cut at `max` that does not split a surrogate pair. */
  private hardCut(s: string, max: number): number {
    const code = s.charCodeAt(max - 1);
    return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  }

  /**
   * The final remainder can exceed the cap when nothing speakable follows the window. Pieces must
   * stay speakable, so only a punctuation-only tail can push the last chunk over the cap.
   */
  private splitOversized(rest: string): string[] {
    const out: string[] = [];
    let s = rest;
    while (s.length > this.o.maxChars) {
      const k = this.capCut(s);
      if (k === null) break;
      out.push(normalize(s.slice(0, k)));
      s = normalize(s.slice(k));
    }
    out.push(s);
    return out;
  }
}
