// Exports and deletion over HTTP, through the Worker: each format with its content type and file
// name (owner and review keys), the strict subtitle parsers on what a real session stored, and a
// deleted session answering 404 everywhere — live sockets closed with the code the client does not
// reconnect on, the tombstone surviving a restart, and nothing telling a deleted id from one never used.
import { env, exports } from "cloudflare:workers";
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, HttpError, ReviewKeyGrant, type HistoryMessage, type HttpErrorCode } from "../../shared/protocol.ts";
import { JSON_EXPORT_FORMAT } from "../../server/export/export-formats.ts";
import { createWorker } from "../../server/worker.ts";
import { parseSrt, parseVtt } from "../support/subtitle-parser.ts";
import { newSessionId, openSession, ownerKeyOf, speakAndWait, visitorAddress } from "./support/session-client.ts";

const REPLY = "First sentence is right here. Second sentence has quite a few more words in it. Third one ends the reply.";

function call(path: string, o: { key?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { "CF-Connecting-IP": visitorAddress(), ...o.headers };
  if (o.key) headers.Authorization = `Bearer ${o.key}`;
  return exports.default.fetch(new Request(`http://parley.test${path}`, { method: o.method ?? "GET", headers }));
}

function connectRaw(id: string, key: string): Promise<Response> {
  return call(`/parties/voice-session/${id}`, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": `parley, parley-key.${key}` } });
}

async function expectError(res: Response, status: number, code: HttpErrorCode): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, code: HttpError.safeParse(JSON.parse(text)).data?.error.code }, text).toEqual({ status, code });
}

async function reviewKeyOf(id: string, ownerKey: string): Promise<string> {
  const res = await call(`/api/sessions/${id}/review-key`, { method: "POST", key: ownerKey });
  expect(res.status).toBe(200);
  return ReviewKeyGrant.parse(await res.json()).reviewKey;
}

/** A session with a typed turn heard to its end, then one stopped in the middle of its second segment. */
async function conversation(): Promise<{ id: string; ownerKey: string; heard: string }> {
  const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 } });
  const first = await speakAndWait(c, "Say something & <b>bold</b> --> now.");
  await c.playedOut(first.replyId);
  const from = c.frames.length;
  c.send({ type: "text", text: "Tell me three things." });
  const done = await c.waitFor("reply-done", (d) => d.replyId !== first.replyId);
  const segs = c.of("segment").filter((s) => s.replyId === done.replyId);
  c.send({ type: "playback", replyId: done.replyId, segment: 0, playedMs: segs[0]!.durationMs, state: "playing" });
  c.send({ type: "playback", replyId: done.replyId, segment: 1, playedMs: segs[1]!.durationMs * 0.4, state: "stopped" });
  const heard = await c.waitFor("reply-heard", (h) => h.replyId === done.replyId, { from });
  expect(heard.status).toBe("interrupted");
  c.close();
  return { id, ownerKey: await ownerKeyOf(id), heard: heard.text };
}

const DATE = new Date().toISOString().slice(0, 10);

describe("exports over HTTP", () => {
  it("each format downloads with its content type and a parley-<id prefix>-<date> file name", async () => {
    const { id, ownerKey } = await conversation();
    const expected = {
      json: "application/json",
      md: "text/markdown; charset=utf-8",
      vtt: "text/vtt; charset=utf-8",
      srt: "text/plain; charset=utf-8",
    };
    for (const [format, type] of Object.entries(expected)) {
      const res = await call(`/api/sessions/${id}/export?format=${format}`, { key: ownerKey });
      expect(res.status, format).toBe(200);
      expect(res.headers.get("Content-Type")).toBe(type);
      expect(res.headers.get("Content-Disposition")).toBe(`attachment; filename="parley-${id.slice(0, 8)}-${DATE}.${format}"`);
      expect((await res.text()).length).toBeGreaterThan(0);
    }
  });

  it("subtitles pass the strict parsers with the heard text of the interrupted reply; JSON and Markdown keep the planned text", async () => {
    const { id, ownerKey, heard } = await conversation();
    const text = async (format: string) => (await call(`/api/sessions/${id}/export?format=${format}`, { key: ownerKey })).text();
    for (const cues of [parseVtt(await text("vtt")), parseSrt(await text("srt"))]) {
      expect(cues.map((c) => c.speaker)).toEqual(["User", "Assistant", "User", "Assistant"]);
      expect(cues[0]!.text).toContain("Say something & ");
      expect(cues[1]!.text).toBe(REPLY);
      expect(cues[3]!.text).toBe(heard);
      for (let i = 1; i < cues.length; i++) expect(cues[i]!.startMs).toBeGreaterThanOrEqual(cues[i - 1]!.endMs);
    }
    const doc = JSON.parse(await text("json"));
    expect(doc.format).toBe(JSON_EXPORT_FORMAT);
    const cut = doc.messages.find((m: HistoryMessage) => m.status === "interrupted");
    expect(cut).toMatchObject({ text: heard, plannedText: REPLY });
    expect(doc.turns).toHaveLength(2);
    expect(doc.replyAudio).toHaveLength(2);
    const md = await text("md");
    expect(md).toContain(`~~${REPLY.slice(heard.length).trim()}~~`);
  });

  it("a review key exports; no key is 401, a bad format 400 with its code, a wrong method 405", async () => {
    const { id, ownerKey } = await conversation();
    const review = await reviewKeyOf(id, ownerKey);
    const res = await call(`/api/sessions/${id}/export?format=vtt`, { key: review });
    expect(res.status).toBe(200);
    expect(parseVtt(await res.text())).toHaveLength(4);
    await expectError(await call(`/api/sessions/${id}/export?format=vtt`), 401, "key_required");
    await expectError(await call(`/api/sessions/${id}/export?format=docx`, { key: ownerKey }), 400, "bad_export_format");
    await expectError(await call(`/api/sessions/${id}/export`, { key: ownerKey }), 400, "bad_export_format");
    await expectError(await call(`/api/sessions/${id}/export?format=json`, { key: ownerKey, method: "POST" }), 405, "method_not_allowed");
  });

  it("a page of another allowed origin may delete (preflight) and read an export's file name (exposed header)", async () => {
    const { id, ownerKey } = await conversation();
    const worker = createWorker();
    const withOrigins = { ...env, ALLOWED_ORIGINS: "https://app.example.com" };
    const origin = "https://app.example.com";
    const preflight = await worker.fetch(
      new Request(`http://parley.test/api/sessions/${id}`, {
        method: "OPTIONS",
        headers: { Origin: origin, "CF-Connecting-IP": visitorAddress() },
      }),
      withOrigins,
    );
    expect(preflight.headers.get("Access-Control-Allow-Methods")).toContain("DELETE");
    const res = await worker.fetch(
      new Request(`http://parley.test/api/sessions/${id}/export?format=md`, {
        headers: { Origin: origin, Authorization: `Bearer ${ownerKey}`, "CF-Connecting-IP": visitorAddress() },
      }),
      withOrigins,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(origin);
    expect(res.headers.get("Access-Control-Expose-Headers")).toBe("Content-Disposition, Content-Range, Accept-Ranges");
    expect(res.headers.get("Content-Disposition")).toContain(`parley-${id.slice(0, 8)}-`);
  });
});

describe("deleting a session", () => {
  it("the owner deletes it; then transcript, exports, live connect and review keys all answer 404, and a second delete too", async () => {
    const { id, ownerKey } = await conversation();
    const review = await reviewKeyOf(id, ownerKey);
    const del = await call(`/api/sessions/${id}`, { method: "DELETE", key: ownerKey });
    expect(del.status).toBe(204);
    await expectError(await call(`/api/sessions/${id}`, { key: ownerKey }), 404, "not_found");
    await expectError(await call(`/api/sessions/${id}`, { key: review }), 404, "not_found");
    await expectError(await call(`/api/sessions/${id}/export?format=json`, { key: ownerKey }), 404, "not_found");
    await expectError(await call(`/api/sessions/${id}/export?format=srt`, { key: review }), 404, "not_found");
    await expectError(await connectRaw(id, ownerKey), 404, "not_found");
    await expectError(await call(`/api/sessions/${id}/review-key`, { method: "POST", key: ownerKey }), 404, "not_found");
    await expectError(await call(`/api/sessions/${id}/review-key/rotate`, { method: "POST", key: ownerKey }), 404, "not_found");
    await expectError(await call(`/api/sessions/${id}`, { method: "DELETE", key: ownerKey }), 404, "not_found");
  });

  it("a review key cannot delete (403 read_only) and the session is untouched", async () => {
    const { id, ownerKey } = await conversation();
    const review = await reviewKeyOf(id, ownerKey);
    await expectError(await call(`/api/sessions/${id}`, { method: "DELETE", key: review }), 403, "read_only");
    await expectError(await call(`/api/sessions/${id}`, { method: "DELETE" }), 401, "key_required");
    const res = await call(`/api/sessions/${id}`, { key: ownerKey });
    expect(res.status).toBe(200);
    expect((await res.json<{ messages: unknown[] }>()).messages).toHaveLength(4);
  });

  it("deleting during a live reply closes the socket with the session-deleted code, and reconnecting finds nothing", async () => {
    const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 120 } });
    c.send({ type: "text", text: "Talk for a while." });
    await c.waitFor("segment");
    const closed = new Promise<CloseEvent>((resolve) => c.ws.addEventListener("close", (e: CloseEvent) => resolve(e)));
    const del = await call(`/api/sessions/${id}`, { method: "DELETE", key: await ownerKeyOf(id) });
    expect(del.status).toBe(204);
    const e = await closed;
    expect({ code: e.code, reason: e.reason }).toEqual({ code: CLOSE_CODES.sessionDeleted, reason: "session deleted" });
    // The reply in flight stored nothing after the delete: the session is gone, not half there.
    await expectError(await call(`/api/sessions/${id}`, { key: await ownerKeyOf(id) }), 404, "not_found");
    await expectError(await connectRaw(id, await ownerKeyOf(id)), 404, "not_found");
  });

  it("the tombstone survives a restart of the session's Durable Object", async () => {
    const { id, ownerKey } = await conversation();
    expect((await call(`/api/sessions/${id}`, { method: "DELETE", key: ownerKey })).status).toBe(204);
    await abortAllDurableObjects();
    await expectError(await call(`/api/sessions/${id}`, { key: ownerKey }), 404, "not_found");
    await expectError(await connectRaw(id, ownerKey), 404, "not_found");
  });

  it("without its key, a deleted session answers exactly like an id that was never used", async () => {
    const { id: deleted, ownerKey } = await conversation();
    expect((await call(`/api/sessions/${deleted}`, { method: "DELETE", key: ownerKey })).status).toBe(204);
    const never = newSessionId();
    const forged = `o.${"A".repeat(43)}`;
    const answers = async (id: string) => {
      const out: unknown[] = [];
      for (const [path, key, method] of [
        [`/api/sessions/${id}`, undefined, "GET"],
        [`/api/sessions/${id}`, forged, "GET"],
        [`/api/sessions/${id}/export?format=json`, forged, "GET"],
        [`/api/sessions/${id}`, forged, "DELETE"],
      ] as const) {
        const res = await call(path, { ...(key ? { key } : {}), method });
        out.push([res.status, await res.text()]);
      }
      return out;
    };
    expect(await answers(deleted)).toEqual(await answers(never));
  });
});
