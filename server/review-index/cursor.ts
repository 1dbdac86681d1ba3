// The opaque cursor of GET /api/conversations: the (started_at, id) of the last conversation of a
// page, the keyset the next page starts after (newest first). Pages never skip or repeat a
// conversation, however many are added meanwhile. Pure: no Cloudflare imports.
import { SESSION_ID_PATTERN } from "../../shared/protocol.ts";

export interface PageKey {
  startedAt: number;
  id: string;
}

export function encodeCursor(key: PageKey): string {
  return btoa(`${key.startedAt}:${key.id}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The key a cursor carries, or null for anything this server did not hand out. */
export function decodeCursor(cursor: string): PageKey | null {
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    return null;
  }
  const m = /^(0|[1-9][0-9]{0,15}):([a-z2-7]+)$/.exec(text);
  if (!m || !SESSION_ID_PATTERN.test(m[2]!)) return null;
  const startedAt = Number(m[1]);
  return Number.isSafeInteger(startedAt) ? { startedAt, id: m[2]! } : null;
}
