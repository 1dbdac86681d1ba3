// Search snippets: FTS5's snippet() marks the matched words with two private-use characters, which
// the index never stores (indexText strips them), so the marks cannot be forged by what was said.
// Pure: no Cloudflare imports.
import type { SnippetPart } from "../../shared/review.ts";

export const HIT_OPEN = "\uE000";
export const HIT_CLOSE = "\uE001";
const MARKS = /[\uE000\uE001]/g;

/** Text as the index keeps it: the snippet marks removed. */
export function indexText(text: string): string {
  return text.replace(MARKS, "");
}

/** A marked snippet as parts, the matched words flagged (adjacent parts of one kind merged). */
export function snippetParts(marked: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let hit = false;
  let text = "";
  const flush = () => {
    if (text === "") return;
    const last = parts[parts.length - 1];
    if (last && last.hit === hit) last.text += text;
    else parts.push({ text, hit });
    text = "";
  };
  for (const ch of marked) {
    if (ch === HIT_OPEN || ch === HIT_CLOSE) {
      flush();
      hit = ch === HIT_OPEN;
    } else text += ch;
  }
  flush();
  return parts;
}
