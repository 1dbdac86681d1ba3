// What a user types in the search box, made into an FTS5 query that cannot fail: the text is cut into
// words (letters and digits, as FTS5's unicode61 tokenizer sees them), each quoted as a phrase, so
// quotes, `*`, `-`, `NEAR(`, `OR`, `AND`, `NOT`, `^` and parentheses are only ever words or separators.
// All words must appear (in any order, in one message); the last one matches as a prefix, so results
// follow as the user types. Pure: no Cloudflare imports.

/** The FTS5 MATCH expression for `text`, or null when it has no words to search for. */
export function ftsMatchQuery(text: string, maxWords: number): string | null {
  const words = text
    .normalize("NFKC")
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== "")
    .slice(0, maxWords);
  if (words.length === 0) return null;
  // Words hold no quote (they are letters and digits only); quoting makes keywords like OR plain words.
  return words.map((w, i) => `"${w}"${i === words.length - 1 ? "*" : ""}`).join(" ");
}
