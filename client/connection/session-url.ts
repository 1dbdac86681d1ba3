// The session lives in the URL: /s/<id> (the live conversation) and /s/<id>/review (its review page:
// timeline, latency waterfalls, summary). Keys never go in the path or the query (those reach server
// logs): a share link carries its read-only key in the fragment, /s/<id>/review#review=<key>, which the
// browser never sends; the owner's key stays in this browser's localStorage (key-store.ts).
import { SessionId, SessionKey } from "../../shared/protocol.ts";

export type SessionFromUrl = { kind: "none" } | { kind: "valid"; id: string } | { kind: "invalid"; raw: string };

/** Read the session id from a path like "/s/abc123" or "/s/abc123/review"; "/" and "/index.html" have none. */
export function sessionFromPath(pathname: string): SessionFromUrl {
  const m = /^\/s\/([^/]*)(?:\/review)?\/?$/.exec(pathname);
  if (!m) return { kind: "none" };
  let raw = m[1] ?? "";
  try {
    raw = decodeURIComponent(raw);
  } catch {
    return { kind: "invalid", raw };
  }
  return SessionId.safeParse(raw).success ? { kind: "valid", id: raw } : { kind: "invalid", raw };
}

export function sessionPath(id: string): string {
  return `/s/${encodeURIComponent(id)}`;
}

/** The session's review page. */
export function reviewPath(id: string): string {
  return `${sessionPath(id)}/review`;
}

/** Is this the path of a review page ("/s/<id>/review")? */
export function isReviewPath(pathname: string): boolean {
  return /^\/s\/[^/]*\/review\/?$/.test(pathname);
}

/** The review key of a share link's fragment ("#review=<key>"), if it holds a well-formed one. */
export function reviewKeyFromFragment(hash: string): string | null {
  const key = new URLSearchParams(hash.replace(/^#/, "")).get("review");
  return key && SessionKey.safeParse(key).success ? key : null;
}

/** The link that opens this session's review page read-only, anywhere. (Older links, /s/<id>#review=<key>, open it too.) */
export function shareLink(origin: string, id: string, reviewKey: string): string {
  return `${origin}${reviewPath(id)}#review=${encodeURIComponent(reviewKey)}`;
}

/** The conversations page (list and search of this browser's sessions, everyone's with the operator key). */
export const CONVERSATIONS_PAGE = "/conversations";

export function isConversationsPath(pathname: string): boolean {
  return pathname === CONVERSATIONS_PAGE || pathname === `${CONVERSATIONS_PAGE}/`;
}
