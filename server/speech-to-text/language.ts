// The session's spoken language, from what a browser or an operator gives: a BCP 47 tag ("en-US",
// "fr", "yue-HK", "fil"). Speech recognition and the transcript signal want the primary language
// subtag, which is two or three letters: "yue" (Cantonese) is not "yu", "fil" is not "fi" (Finnish).

/** The primary language subtag of `tag`, lower case ("en-US" -> "en", "yue-Hant-HK" -> "yue"). */
export function primaryLanguage(tag: string): string {
  return tag.split(/[-_]/)[0]!.toLowerCase();
}
