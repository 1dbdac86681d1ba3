// The HTTP side of sessions: create one, get or rotate its share (review) key, read its transcript,
// download an export of it, delete it. Keys travel in the Authorization header, never in the URL.
import { z } from "zod";
import { CreatedSession, HistoryMessage, HttpError, ReviewKeyGrant, SessionTranscript, type HttpErrorCode } from "../../shared/protocol.ts";
import { CONVERSATIONS_CSV_PATH, CONVERSATIONS_PATH, ConversationPage } from "../../shared/review.ts";

export type ApiResult<T> = { ok: true; value: T } | { ok: false; status: number; code: HttpErrorCode | "network"; message: string };

/** The messages of a transcript (GET /api/sessions/<id>): enough to check a key. */
const TranscriptMessages = z.object({ sessionId: z.string(), messages: z.array(HistoryMessage) });
export type TranscriptMessages = z.infer<typeof TranscriptMessages>;

async function call<T>(path: string, init: { method: string; key?: string | undefined }, schema: z.ZodType<T>): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, { method: init.method, headers: init.key ? { Authorization: `Bearer ${init.key}` } : {} });
  } catch (err) {
    return { ok: false, status: 0, code: "network", message: String(err) };
  }
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) {
    const err = HttpError.safeParse(body);
    return err.success
      ? { ok: false, status: res.status, code: err.data.error.code, message: err.data.error.message }
      : { ok: false, status: res.status, code: "network", message: `HTTP ${res.status}` };
  }
  const parsed = schema.safeParse(body);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, status: res.status, code: "network", message: "unexpected answer from the server" };
}

/** A new session, recorded under `ownerToken` (this browser's; without one the server mints one). */
export function createSession(ownerToken: string | null = null): Promise<ApiResult<CreatedSession>> {
  return call("/api/sessions", { method: "POST", key: ownerToken ?? undefined }, CreatedSession);
}

/** A page of this owner's conversations (everyone's with the operator key), newest first; `q` searches what was said. */
export function listConversations(
  key: string | undefined,
  params: { q?: string; cursor?: string; limit?: number },
): Promise<ApiResult<ConversationPage>> {
  const query = new URLSearchParams();
  if (params.q) query.set("q", params.q);
  if (params.cursor) query.set("cursor", params.cursor);
  if (params.limit) query.set("limit", String(params.limit));
  return call(`${CONVERSATIONS_PATH}?${query}`, { method: "GET", key }, ConversationPage);
}

/** The whole list as CSV (the search applied), as a Blob to save, and the file name the server gave it. */
export async function conversationsCsv(key: string | undefined, q: string): Promise<ApiResult<{ blob: Blob; fileName: string }>> {
  let res: Response;
  try {
    res = await fetch(`${CONVERSATIONS_CSV_PATH}${q ? `?${new URLSearchParams({ q })}` : ""}`, {
      headers: key ? { Authorization: `Bearer ${key}` } : {},
    });
  } catch (err) {
    return { ok: false, status: 0, code: "network", message: String(err) };
  }
  if (!res.ok) {
    const err = HttpError.safeParse(await res.json().catch(() => null));
    return err.success
      ? { ok: false, status: res.status, code: err.data.error.code, message: err.data.error.message }
      : { ok: false, status: res.status, code: "network", message: `HTTP ${res.status}` };
  }
  const fileName = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") ?? "")?.[1] ?? "parley-conversations.csv";
  return { ok: true, value: { blob: await res.blob(), fileName } };
}

/** The current review key (rotate: revoke every earlier one first). Owner key only. */
export function reviewKey(id: string, ownerKey: string, rotate = false): Promise<ApiResult<ReviewKeyGrant>> {
  return call(
    `/api/sessions/${encodeURIComponent(id)}/review-key${rotate ? "/rotate" : ""}`,
    { method: "POST", key: ownerKey },
    ReviewKeyGrant,
  );
}

export function transcript(id: string, key: string): Promise<ApiResult<TranscriptMessages>> {
  return call(`/api/sessions/${encodeURIComponent(id)}`, { method: "GET", key }, TranscriptMessages);
}

/** The whole reviewable record (messages, turns with their timings, interruptions, totals): the review page. */
export function review(id: string, key: string): Promise<ApiResult<SessionTranscript>> {
  return call(`/api/sessions/${encodeURIComponent(id)}`, { method: "GET", key }, SessionTranscript);
}

/** The export formats of GET /api/sessions/<id>/export, with what the page calls them. */
export const EXPORT_CHOICES = [
  { format: "json", label: "JSON" },
  { format: "md", label: "Markdown" },
  { format: "vtt", label: "WebVTT" },
  { format: "srt", label: "SRT" },
] as const;
export type ExportChoice = (typeof EXPORT_CHOICES)[number]["format"];

/** The file name of a `Content-Disposition: attachment; filename="…"` header, if it has a plain one. */
export function attachmentName(header: string | null): string | null {
  const m = /filename="([^"\\/]+)"/.exec(header ?? "");
  return m ? m[1]! : null;
}

async function failure(res: Response): Promise<ApiResult<never>> {
  const err = HttpError.safeParse(await res.json().catch(() => null));
  return err.success
    ? { ok: false, status: res.status, code: err.data.error.code, message: err.data.error.message }
    : { ok: false, status: res.status, code: "network", message: `HTTP ${res.status}` };
}

/** Download an export (owner or review key): the file as the server named it. */
export async function exportSession(id: string, key: string, format: ExportChoice): Promise<ApiResult<{ blob: Blob; fileName: string }>> {
  let res: Response;
  try {
    res = await fetch(`/api/sessions/${encodeURIComponent(id)}/export?format=${format}`, { headers: { Authorization: `Bearer ${key}` } });
  } catch (err) {
    return { ok: false, status: 0, code: "network", message: String(err) };
  }
  if (!res.ok) return failure(res);
  return {
    ok: true,
    value: {
      blob: await res.blob(),
      fileName: attachmentName(res.headers.get("Content-Disposition")) ?? `parley-${id.slice(0, 8)}.${format}`,
    },
  };
}

export type RecordingKind = "user" | "reply";

/** A turn's recording (owner or review key): the user's utterance or the reply as heard, as a Blob to play. */
export async function recording(id: string, key: string, turnId: string, kind: RecordingKind): Promise<ApiResult<Blob>> {
  let res: Response;
  try {
    res = await fetch(`/api/sessions/${encodeURIComponent(id)}/recordings/${encodeURIComponent(turnId)}/${kind}`, {
      headers: { Authorization: `Bearer ${key}` },
    });
  } catch (err) {
    return { ok: false, status: 0, code: "network", message: String(err) };
  }
  return res.ok ? { ok: true, value: await res.blob() } : failure(res);
}

/** Delete the session for good (owner key). */
export async function deleteSession(id: string, ownerKey: string): Promise<ApiResult<null>> {
  let res: Response;
  try {
    res = await fetch(`/api/sessions/${encodeURIComponent(id)}`, { method: "DELETE", headers: { Authorization: `Bearer ${ownerKey}` } });
  } catch (err) {
    return { ok: false, status: 0, code: "network", message: String(err) };
  }
  return res.ok ? { ok: true, value: null } : failure(res);
}
