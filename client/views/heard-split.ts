// How a reply is shown once playback is over: the words the user heard, then the planned words
// they did not (struck through when the reply was cut). The live conversation (`reply-heard`) and a
// reopened session (history `text` / `plannedText`) both go through this one function, so they
// look exactly the same.
// Pure: no DOM.

export interface HeardSplit {
  /** Shown as spoken: a prefix of the planned text. */
  heard: string;
  /** The rest of the planned text, never heard. */
  unheard: string;
}

/**
 * Split `plannedText` where `heardText` ends. The server builds the heard text from segment texts
 * joined by single spaces, so it may differ from the planned text in whitespace only; it is matched
 * ignoring whitespace. If it is not a prefix at all, the heard text is shown alone.
 */
export function splitHeard(heardText: string, plannedText: string): HeardSplit {
  if (!plannedText || plannedText === heardText) return { heard: heardText, unheard: "" };
  if (plannedText.startsWith(heardText)) return { heard: heardText, unheard: plannedText.slice(heardText.length) };
  const space = (c: string | undefined) => c !== undefined && /\s/.test(c);
  let p = 0;
  for (let h = 0; h < heardText.length; h++) {
    if (space(heardText[h])) continue;
    while (space(plannedText[p])) p++;
    if (plannedText[p] !== heardText[h]) return { heard: heardText, unheard: "" };
    p++;
  }
  return { heard: plannedText.slice(0, p), unheard: plannedText.slice(p) };
}
