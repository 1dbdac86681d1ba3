// Reviewing conversations: the list and search API over the review index (GET /api/conversations,
// GET /api/conversations.csv). Single source of truth for client and server; shared/protocol.md
// documents it.
import { z } from "zod";
import { SessionId } from "./protocol.ts";

export const CONVERSATIONS_PATH = "/api/conversations";
export const CONVERSATIONS_CSV_PATH = "/api/conversations.csv";

export const CONVERSATION_LIMITS = {
  /** Page size when `limit` is not given, and the largest one asked for. */
  defaultPage: 25,
  maxPage: 100,
  /** Search text, in UTF-16 code units (longer: `bad_query`). */
  maxQuery: 200,
  /** Words of the search text that count (the rest are left out of the search). */
  maxQueryWords: 12,
  /** A conversation's title: the start of its first user line. */
  title: 120,
  /** The CSV export stops after this many rows (newest first). */
  maxCsvRows: 50_000,
} as const;

/** Query string of GET /api/conversations (and .csv, which ignores `cursor` and `limit`). */
export const ConversationQuery = z.object({
  /** Full-text search over what either side said; words are matched as words (the last one as a prefix), all must appear. */
  q: z.string().max(CONVERSATION_LIMITS.maxQuery, `the search text is at most ${CONVERSATION_LIMITS.maxQuery} characters`).optional(),
  /** `nextCursor` of the previous page. */
  cursor: z.string().max(200).optional(),
  limit: z.coerce
    .number()
    .int("limit is a whole number")
    .min(1, "limit is at least 1")
    .max(CONVERSATION_LIMITS.maxPage, `limit is at most ${CONVERSATION_LIMITS.maxPage}`)
    .default(CONVERSATION_LIMITS.defaultPage),
});
export type ConversationQuery = z.infer<typeof ConversationQuery>;

/** Part of a search hit's snippet: `hit` marks the matched words. */
export const SnippetPart = z.object({ text: z.string(), hit: z.boolean() });
export type SnippetPart = z.infer<typeof SnippetPart>;

/** Where the search text was found in a conversation: its first matching message, around the match. */
export const SearchSnippet = z.object({
  messageId: z.number().int(),
  role: z.enum(["user", "assistant"]),
  parts: z.array(SnippetPart),
});
export type SearchSnippet = z.infer<typeof SearchSnippet>;

/** One conversation of the list. Times are epoch ms, durations ms, costs in neurons and US dollars. */
export const ConversationSummary = z.object({
  id: SessionId,
  /** The first thing the user said or typed (its start); "" before they said anything. */
  title: z.string(),
  startedAt: z.number(),
  /** When the index last heard from the session. */
  updatedAt: z.number(),
  /** From the first turn's start to the last activity. */
  durationMs: z.number(),
  /** Turns the user took (typed or spoken; utterances without speech are not turns). */
  turns: z.number().int(),
  /** Replies the user talked over and stopped (confirmed barge-ins). */
  interruptions: z.number().int(),
  neurons: z.number(),
  usd: z.number(),
  /** Which backend answered the latest reply (`workers-ai`, `local: …`, `fake`), null before any. */
  backend: z.string().nullable(),
  mode: z.string().nullable(),
  /** The Cloudflare Access user who created it (Access deployments only). */
  owner: z.string().nullable(),
  /** A session phone calls used: the caller's number, masked (`+1••••••0123`); the number itself is never stored. */
  caller: z.string().max(40).optional(),
  /** With a search: where it matched. */
  snippet: SearchSnippet.optional(),
});
export type ConversationSummary = z.infer<typeof ConversationSummary>;

/** GET /api/conversations: newest first; `nextCursor` asks for the next page (null: this was the last). */
export const ConversationPage = z.object({
  items: z.array(ConversationSummary),
  nextCursor: z.string().nullable(),
});
export type ConversationPage = z.infer<typeof ConversationPage>;
