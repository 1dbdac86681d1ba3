// Recordings in R2: one object per turn and kind under the session's prefix
// (`sessions/<id>/turns/<turnId>/user.wav`, `…/reply.wav|mp3`), with its createdAt in the custom
// metadata; served with byte ranges; deleted by prefix when the session is.
import { jsonError } from "../http/session-requests.ts";
import type { RecordingRow } from "../storage/recording-rows.ts";
import { byteRange, contentRange } from "./byte-range.ts";
import type { RecordedAudio, RecordingKind } from "./turn-audio.ts";

/** R2 deletes at most this many keys per call. */
export const R2_DELETE_BATCH = 1_000;

export function sessionPrefix(sessionId: string): string {
  return `sessions/${sessionId}/`;
}

export function recordingKey(sessionId: string, turnId: string, kind: RecordingKind, extension: RecordedAudio["extension"]): string {
  return `${sessionPrefix(sessionId)}turns/${turnId}/${kind}.${extension}`;
}

/** Store one recording; its row (RecordingRows) is the caller's to write once this resolves. */
export async function putRecording(
  bucket: R2Bucket,
  o: { sessionId: string; turnId: string; kind: RecordingKind; audio: RecordedAudio; createdAt: number },
): Promise<RecordingRow> {
  const key = recordingKey(o.sessionId, o.turnId, o.kind, o.audio.extension);
  await bucket.put(key, o.audio.bytes, {
    httpMetadata: { contentType: o.audio.contentType },
    customMetadata: { createdAt: String(o.createdAt), durationMs: String(Math.round(o.audio.durationMs)) },
  });
  return {
    turnId: o.turnId,
    kind: o.kind,
    key,
    contentType: o.audio.contentType,
    bytes: o.audio.bytes.byteLength,
    durationMs: o.audio.durationMs,
    createdAt: o.createdAt,
  };
}

/** Delete keys, at most R2_DELETE_BATCH per call. */
export async function deleteKeys(bucket: R2Bucket, keys: readonly string[], batch = R2_DELETE_BATCH): Promise<void> {
  for (let i = 0; i < keys.length; i += batch) await bucket.delete(keys.slice(i, i + batch));
}

/**
 * Everything stored under the session's prefix, listed page by page and deleted in batches; idempotent
 * (a failed delete of the session is retried). Listed from R2, not from the session's rows, so an object
 * whose row was never written (a write cut short) goes too.
 */
export async function deleteRecordings(bucket: R2Bucket, sessionId: string, batch = R2_DELETE_BATCH): Promise<number> {
  const prefix = sessionPrefix(sessionId);
  let deleted = 0;
  // Each page is deleted before the next is listed, from the start again: what is left is what was not yet listed.
  for (;;) {
    const page = await bucket.list({ prefix, limit: batch });
    const keys = page.objects.map((o) => o.key);
    if (keys.length > 0) {
      await deleteKeys(bucket, keys, batch);
      deleted += keys.length;
    }
    if (!page.truncated || keys.length === 0) return deleted;
  }
}

/**
 * GET of a recording: the whole object (200) or one byte range (206 with Content-Range); a range past
 * its end 416; no such recording (never made, expired, deleted) 404 `recording_not_found`.
 */
export async function recordingResponse(
  bucket: R2Bucket,
  row: RecordingRow | undefined,
  kind: RecordingKind,
  range: string | null,
): Promise<Response> {
  const missing = () =>
    jsonError(
      404,
      "recording_not_found",
      `this turn has no ${kind === "user" ? "recording of the user" : "recording of the reply"} (not recorded, or past its retention)`,
    );
  if (!row) return missing();
  const wanted = byteRange(range, row.bytes);
  if (wanted.kind === "unsatisfiable") {
    return jsonError(416, "range_not_satisfiable", `the recording has ${row.bytes} bytes; the range asked for is outside it`, {
      "Content-Range": `bytes */${row.bytes}`,
    });
  }
  const object = await bucket.get(
    row.key,
    wanted.kind === "partial" ? { range: { offset: wanted.offset, length: wanted.length } } : undefined,
  );
  if (!object) return missing();
  const headers = new Headers({
    "Content-Type": row.contentType,
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, no-store",
    ETag: object.httpEtag,
  });
  if (wanted.kind === "partial") {
    headers.set("Content-Length", String(wanted.length));
    headers.set("Content-Range", contentRange(wanted.offset, wanted.length, object.size));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(object.size));
  return new Response(object.body, { status: 200, headers });
}
