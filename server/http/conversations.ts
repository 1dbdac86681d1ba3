// GET /api/conversations (JSON pages) and GET /api/conversations.csv (every page): the review index,
// for whoever the request speaks for — the operator key lists everyone's sessions, the Cloudflare
// Access user their own (when Access is in front), an owner token the sessions created with it.
import { CONVERSATION_LIMITS, ConversationQuery, type ConversationPage, type ConversationSummary } from "../../shared/review.ts";
import { isOperatorKey, verifyOwnerToken } from "../access/session-keys.ts";
import { conversationCsvRow, csvFileName, csvHeader } from "../review-index/csv.ts";
import { decodeCursor, encodeCursor, type PageKey } from "../review-index/cursor.ts";
import { listConversations } from "../review-index/index-store.ts";
import { ftsMatchQuery } from "../review-index/search-query.ts";
import { jsonError } from "./session-requests.ts";

type Viewer = { owner: string | null } | { refused: Response };

/** Whose sessions the request may list; `key` is the Authorization bearer, `email` the verified Access user. */
async function viewer(secret: string, key: string | null, email: string | null): Promise<Viewer> {
  if (key?.startsWith("op.")) {
    return (await isOperatorKey(secret, key))
      ? { owner: null }
      : { refused: jsonError(403, "bad_key", "that is not the operator key (`npm run operator-key`)") };
  }
  // Behind Access the owner is the signed-in user; an owner token adds nothing.
  if (email) return { owner: `email:${email}` };
  if (!key)
    return {
      refused: jsonError(
        401,
        "key_required",
        `listing conversations needs your owner token (or the operator key) in an "Authorization: Bearer <token>" header`,
      ),
    };
  const ownerId = await verifyOwnerToken(secret, key);
  return ownerId ? { owner: `id:${ownerId}` } : { refused: jsonError(403, "bad_key", "that owner token was not issued by this server") };
}

function badQuery(message: string): Response {
  return jsonError(400, "bad_query", message);
}

const NO_STORE = { "Cache-Control": "private, no-store" };

export async function conversationsRequest(
  request: Request,
  env: Env,
  csv: boolean,
  secret: string,
  key: string | null,
  email: string | null,
): Promise<Response> {
  if (request.method !== "GET") return jsonError(405, "method_not_allowed", "conversations are listed with GET");
  const who = await viewer(secret, key, email);
  if ("refused" in who) return who.refused;

  const url = new URL(request.url);
  const parsed = ConversationQuery.safeParse(Object.fromEntries(url.searchParams));
  if (!parsed.success) return badQuery(parsed.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "));
  const query = parsed.data;
  let after: PageKey | null = null;
  if (query.cursor !== undefined && !csv) {
    after = decodeCursor(query.cursor);
    if (!after) return badQuery("that cursor is not one this server handed out (use nextCursor of the previous page)");
  }
  const searching = (query.q ?? "").trim() !== "";
  const match = searching ? ftsMatchQuery(query.q!, CONVERSATION_LIMITS.maxQueryWords) : null;

  // Reads may come from the nearest read replica: the list trails the sessions by a moment anyway.
  const db = env.REVIEW_INDEX.withSession("first-unconstrained");
  try {
    if (csv) return await csvAnswer(db, who.owner, searching, match);
    // Search text without a word in it ("*", "--") finds nothing rather than everything.
    if (searching && match === null)
      return Response.json({ items: [], nextCursor: null } satisfies ConversationPage, { headers: NO_STORE });
    const page = await listConversations(db, { owner: who.owner, match, after, limit: query.limit });
    const body: ConversationPage = { items: page.items, nextCursor: page.next ? encodeCursor(page.next) : null };
    return Response.json(body, { headers: NO_STORE });
  } catch (err) {
    console.error("[parley] review index: listing failed", err);
    return jsonError(503, "index_unavailable", "the conversations index did not answer; try again shortly");
  }
}

async function csvAnswer(db: D1DatabaseSession, owner: string | null, searching: boolean, match: string | null): Promise<Response> {
  const chunks = [csvHeader()];
  let rows = 0;
  let after: PageKey | null = null;
  while (!(searching && match === null) && rows < CONVERSATION_LIMITS.maxCsvRows) {
    const page: { items: ConversationSummary[]; next: PageKey | null } = await listConversations(db, {
      owner,
      match,
      after,
      limit: Math.min(CONVERSATION_LIMITS.maxPage, CONVERSATION_LIMITS.maxCsvRows - rows),
    });
    for (const item of page.items) chunks.push(conversationCsvRow(item));
    rows += page.items.length;
    if (!page.next) break;
    after = page.next;
  }
  return new Response(chunks.join(""), {
    headers: {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${csvFileName(Date.now())}"`,
      ...NO_STORE,
    },
  });
}
