// Which web pages may drive sessions: the app's own origin plus ALLOWED_ORIGINS. Browsers send
// Origin on every WebSocket upgrade and every cross-origin request, so a foreign page cannot hide
// it; a request without Origin is not from a browser page (curl, a server, a bench client) and is
// judged by its session key alone.

export type OriginVerdict = "same-origin" | "allowed" | "no-origin" | "forbidden";

/** `allowed` holds normalized origins (scheme://host[:port], see config.ts). */
export function judgeOrigin(origin: string | null, requestUrl: URL, allowed: readonly string[]): OriginVerdict {
  if (origin === null) return "no-origin";
  if (origin === requestUrl.origin) return "same-origin";
  // "null" (sandboxed frames, file:) is never an origin anyone can list.
  if (origin !== "null" && allowed.includes(origin)) return "allowed";
  return "forbidden";
}

/** ALLOWED_ORIGINS entry -> its origin, or null when the entry is not exactly an origin. */
export function normalizeOrigin(entry: string): string | null {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  // An origin has no path, query or credentials: "https://a.example/app" is a mistake worth reporting.
  const bare = entry.replace(/\/$/, "");
  return url.origin === bare.toLowerCase() ? url.origin : null;
}
