// The review index in D1: sessions' summary rows and messages (schema: ./migrations), written by the
// sessions (IndexWriter) and read by GET /api/conversations. Writes are idempotent upserts keyed by
// session id and (session id, message id), and an older update (lower seq) never overwrites a newer.
import type { ConversationSummary } from "../../shared/review.ts";
import type { PageKey } from "./cursor.ts";
import { PHONE_OWNER_PREFIX, type IndexUpdate } from "./index-writer.ts";
import { HIT_CLOSE, HIT_OPEN, snippetParts } from "./snippet.ts";

/** Words of context around a match in a snippet. */
const SNIPPET_TOKENS = 12;

/** Remove a session from the index: its messages (the FTS5 triggers follow) and its row, in one batch. Idempotent. */
export async function deleteFromIndex(db: D1Database, sessionId: string): Promise<void> {
  await db.batch([
    db.prepare("DELETE FROM messages WHERE session_id = ?1").bind(sessionId),
    db.prepare("DELETE FROM sessions WHERE id = ?1").bind(sessionId),
  ]);
}

export async function writeUpdate(db: D1Database, u: IndexUpdate): Promise<void> {
  const s = u.session;
  const statements = [
    db
      .prepare(
        `INSERT INTO sessions (id, owner, title, started_at, updated_at, duration_ms, turns, interruptions, messages, neurons, usd, backend, mode, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, title = excluded.title, started_at = excluded.started_at,
           updated_at = excluded.updated_at, duration_ms = excluded.duration_ms, turns = excluded.turns,
           interruptions = excluded.interruptions, messages = excluded.messages, neurons = excluded.neurons, usd = excluded.usd,
           backend = excluded.backend, mode = excluded.mode, seq = excluded.seq
         WHERE excluded.seq >= sessions.seq`,
      )
      .bind(
        s.id,
        s.owner,
        s.title,
        s.startedAt,
        s.updatedAt,
        Math.round(s.durationMs),
        s.turns,
        s.interruptions,
        s.messages,
        s.neurons,
        s.usd,
        s.backend,
        s.mode,
        u.seq,
      ),
    ...u.messages.map((m) =>
      db
        .prepare(
          `INSERT INTO messages (session_id, message_id, role, kind, status, text, created_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
           ON CONFLICT (session_id, message_id) DO UPDATE SET role = excluded.role, kind = excluded.kind, status = excluded.status,
             text = excluded.text, created_at = excluded.created_at, seq = excluded.seq
           WHERE excluded.seq >= messages.seq`,
        )
        .bind(s.id, m.messageId, m.role, m.kind, m.status, m.text, m.createdAt, u.seq),
    ),
  ];
  // One transaction: the summary and its messages land together or not at all.
  await db.batch(statements);
}

export interface ListRequest {
  /** Only this owner's sessions ("email:…" / "id:…"); null: everyone's (the operator). */
  owner: string | null;
  /** An FTS5 MATCH expression (server/review-index/search-query.ts), or null for no search. */
  match: string | null;
  /** Start after this conversation (the previous page's last). */
  after: PageKey | null;
  limit: number;
}

interface SessionDbRow {
  id: string;
  owner: string | null;
  title: string;
  started_at: number;
  updated_at: number;
  duration_ms: number;
  turns: number;
  interruptions: number;
  neurons: number;
  usd: number;
  backend: string | null;
  mode: string | null;
}

/** A page of conversations, newest first, and the key of its last one when more follow. */
export async function listConversations(
  db: D1Database | D1DatabaseSession,
  r: ListRequest,
): Promise<{ items: ConversationSummary[]; next: PageKey | null }> {
  // ?1 owner (NULL: all), ?2/?3 the page key (NULL: first page), ?4 the page size + 1 (is there a next page?), ?5 the search.
  const where = [
    `(?1 IS NULL OR s.owner = ?1)`,
    `(?2 IS NULL OR s.started_at < ?2 OR (s.started_at = ?2 AND s.id < ?3))`,
    ...(r.match !== null
      ? [`s.id IN (SELECT m.session_id FROM messages m WHERE m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?5))`]
      : []),
  ];
  const binds: unknown[] = [r.owner, r.after?.startedAt ?? null, r.after?.id ?? null, r.limit + 1];
  if (r.match !== null) binds.push(r.match);
  const { results } = await db
    .prepare(
      `SELECT s.id, s.owner, s.title, s.started_at, s.updated_at, s.duration_ms, s.turns, s.interruptions, s.neurons, s.usd, s.backend, s.mode
       FROM sessions s WHERE ${where.join(" AND ")} ORDER BY s.started_at DESC, s.id DESC LIMIT ?4`,
    )
    .bind(...binds)
    .all<SessionDbRow>();
  const page = results.slice(0, r.limit);
  const items = page.map(toSummary);
  if (r.match !== null && items.length > 0) {
    const snippets = await firstHits(
      db,
      r.match,
      items.map((i) => i.id),
    );
    for (const item of items) {
      const hit = snippets.get(item.id);
      if (hit) item.snippet = hit;
    }
  }
  const last = page[page.length - 1];
  return { items, next: results.length > r.limit && last ? { startedAt: last.started_at, id: last.id } : null };
}

/** Each session's first matching message, with a snippet around the match. */
async function firstHits(
  db: D1Database | D1DatabaseSession,
  match: string,
  sessionIds: string[],
): Promise<Map<string, NonNullable<ConversationSummary["snippet"]>>> {
  const { results } = await db
    .prepare(
      `WITH first AS (
         SELECT m.session_id, MIN(m.message_id) AS message_id FROM messages m
         WHERE m.session_id IN (SELECT value FROM json_each(?5)) AND m.id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1)
         GROUP BY m.session_id)
       SELECT m.session_id, m.message_id, m.role, snippet(messages_fts, 0, ?2, ?3, '…', ?4) AS snip
       FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
       JOIN first f ON f.session_id = m.session_id AND f.message_id = m.message_id
       WHERE messages_fts MATCH ?1`,
    )
    .bind(match, HIT_OPEN, HIT_CLOSE, SNIPPET_TOKENS, JSON.stringify(sessionIds))
    .all<{ session_id: string; message_id: number; role: "user" | "assistant"; snip: string }>();
  return new Map(results.map((h) => [h.session_id, { messageId: h.message_id, role: h.role, parts: snippetParts(h.snip) }]));
}

function toSummary(r: SessionDbRow): ConversationSummary {
  return {
    id: r.id,
    title: r.title,
    startedAt: r.started_at,
    updatedAt: r.updated_at,
    durationMs: r.duration_ms,
    turns: r.turns,
    interruptions: r.interruptions,
    neurons: r.neurons,
    usd: r.usd,
    backend: r.backend,
    mode: r.mode,
    owner: r.owner?.startsWith("email:") ? r.owner.slice("email:".length) : null,
    ...(r.owner?.startsWith(PHONE_OWNER_PREFIX) ? { caller: r.owner.slice(PHONE_OWNER_PREFIX.length) } : {}),
  };
}
