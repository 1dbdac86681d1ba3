// Requests from the Worker to a session's Durable Object, after the Worker has checked the key.
// The Worker builds these requests itself (clients' x-parley-* and x-partykit-* headers never pass),
// so the session trusts the grant they carry; it keeps what only it can know: the review version
// (share links revoked by rotating it) and the owner's Access email.
import type { HttpErrorCode } from "../../shared/protocol.ts";
import type { KeyGrant } from "../access/session-keys.ts";
import type { DeletionResult } from "../deletion/session-deletion.ts";
import { EXPORT_FORMATS, exportResponse, isExportFormat, type ExportFormat, type RenderedExport } from "../export/export-formats.ts";

export const GRANT_HEADER = "x-parley-grant";
export const OWNER_EMAIL_HEADER = "x-parley-owner-email";
/** The owner id of the owner token a session was created with (listing without Access). */
export const OWNER_ID_HEADER = "x-parley-owner-id";

export const INTERNAL_PATHS = {
  transcript: "/internal/transcript",
  reviewVersion: "/internal/review-version",
  rotateReviewVersion: "/internal/review-version/rotate",
  recordOwner: "/internal/owner",
  export: "/internal/export",
  deleteSession: "/internal/delete",
  /** ?turn=<turnId>&kind=user|reply, with the client's Range header passed on. */
  recording: "/internal/recording",
} as const;

/**
 * What the Worker lets a request do in a session: a session key's grant, or the operator's (the
 * operator key, `npm run operator-key`): read any session like a review key — transcript, exports,
 * recordings — without a review version to revoke, never join live, never delete or share.
 */
export type SessionGrant = KeyGrant | { role: "operator" };

export function encodeGrant(grant: SessionGrant): string {
  return grant.role === "owner" ? "owner" : grant.role === "operator" ? "operator" : `review:${grant.version}`;
}

export function decodeGrant(header: string | null): SessionGrant | null {
  if (header === "owner") return { role: "owner" };
  if (header === "operator") return { role: "operator" };
  const m = /^review:([1-9][0-9]{0,8})$/.exec(header ?? "");
  return m ? { role: "review", version: Number(m[1]) } : null;
}

export function jsonError(status: number, code: HttpErrorCode, message: string, headers?: Record<string, string>): Response {
  return Response.json({ error: { code, message } }, { status, ...(headers ? { headers } : {}) });
}

const REVIEW_VERSION_SETTING = "review-key-version";
/** Also read by the review index (server/storage/review-index-ledger.ts). */
export const OWNER_EMAIL_SETTING = "owner-email";
export const OWNER_ID_SETTING = "owner-id";

/** The settings a session keeps about who may see it (in its SQLite settings table). */
export interface AccessSettingsStore {
  getSetting(key: string): string | undefined;
  setSetting(key: string, value: string): void;
}

export function reviewVersion(store: AccessSettingsStore): number {
  return Number(store.getSetting(REVIEW_VERSION_SETTING) ?? "1");
}

/** A review key is good while its version is the session's current one. */
export function refuseStaleReview(store: AccessSettingsStore, grant: SessionGrant): Response | null {
  if (grant.role !== "review" || grant.version === reviewVersion(store)) return null;
  return jsonError(403, "key_revoked", "this share link was revoked by the session's owner");
}

/** What a deleted session (or a well-formed id with nothing behind it) answers to anyone holding its key. */
export function sessionNotFound(): Response {
  return jsonError(404, "not_found", "no such session");
}

/** `?format=` of an export request: one of EXPORT_FORMATS, or a 400 that says which exist. */
export function badExportFormat(format: string | null): Response | null {
  if (isExportFormat(format)) return null;
  const given = format === null ? "no format" : `format ${JSON.stringify(format.slice(0, 40))}`;
  return jsonError(400, "bad_export_format", `${given}: export as ${EXPORT_FORMATS.map((f) => `format=${f}`).join(", ")}`);
}

/**
 * The session's side of the HTTP API: transcript, exports and recordings (owner or current review key), the
 * review version (read, rotate: owner only), recording the owner's email at creation, and deleting
 * the session (owner only).
 */
export async function answerSessionRequest<T>(
  request: Request,
  store: AccessSettingsStore,
  transcript: (grant: SessionGrant) => Promise<T>,
  session: {
    render(transcript: T, format: ExportFormat): RenderedExport;
    delete(): Promise<DeletionResult>;
    /** A turn's recording, the whole of it or the byte range asked for. */
    recording(turnId: string, kind: "user" | "reply", range: string | null): Promise<Response>;
  },
): Promise<Response> {
  const path = new URL(request.url).pathname;
  const grant = decodeGrant(request.headers.get(GRANT_HEADER));
  if (!grant) return jsonError(403, "key_required", "a session key is required");
  const stale = refuseStaleReview(store, grant);
  if (stale) return stale;
  if (path === INTERNAL_PATHS.transcript && request.method === "GET") return Response.json(await transcript(grant));
  if (path === INTERNAL_PATHS.export && request.method === "GET") {
    const format = new URL(request.url).searchParams.get("format");
    if (!isExportFormat(format)) return badExportFormat(format)!;
    return exportResponse(session.render(await transcript(grant), format));
  }
  if (path === INTERNAL_PATHS.recording && request.method === "GET") {
    const params = new URL(request.url).searchParams;
    const kind = params.get("kind");
    const turnId = params.get("turn");
    if (!turnId || (kind !== "user" && kind !== "reply")) return jsonError(404, "not_found", "no such recording request");
    return session.recording(turnId, kind, request.headers.get("Range"));
  }
  if (grant.role !== "owner")
    return jsonError(403, "read_only", `${grant.role === "operator" ? "the operator key" : "a review key"} can only read the session`);
  if (path === INTERNAL_PATHS.deleteSession && request.method === "DELETE") {
    const result = await session.delete();
    if (result.ok) return new Response(null, { status: 204 });
    return jsonError(
      503,
      "delete_failed",
      `deleting the session's ${result.failed} failed (${result.message}); nothing was deleted, try again`,
    );
  }
  if (path === INTERNAL_PATHS.reviewVersion && request.method === "GET") return Response.json({ version: reviewVersion(store) });
  if (path === INTERNAL_PATHS.rotateReviewVersion && request.method === "POST") {
    const version = reviewVersion(store) + 1;
    store.setSetting(REVIEW_VERSION_SETTING, String(version));
    return Response.json({ version });
  }
  if (path === INTERNAL_PATHS.recordOwner && request.method === "POST") {
    const email = request.headers.get(OWNER_EMAIL_HEADER);
    if (email && store.getSetting(OWNER_EMAIL_SETTING) === undefined) store.setSetting(OWNER_EMAIL_SETTING, email);
    const ownerId = request.headers.get(OWNER_ID_HEADER);
    if (ownerId && store.getSetting(OWNER_ID_SETTING) === undefined) store.setSetting(OWNER_ID_SETTING, ownerId);
    return Response.json({ owner: store.getSetting(OWNER_EMAIL_SETTING) ?? null });
  }
  return jsonError(404, "not_found", "no such session request");
}

export function ownerEmail(store: AccessSettingsStore): string | null {
  return store.getSetting(OWNER_EMAIL_SETTING) ?? null;
}
