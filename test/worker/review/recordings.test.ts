// Recordings in R2, through the Worker: both files of a turn stored in their format and length, an
// interrupted reply kept only as far as it was played, byte ranges, who may fetch them, the retention
// alarm, and deleting a session deleting its recordings.
import { env, exports } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { HttpError, ReviewKeyGrant, type HttpErrorCode } from "../../../shared/protocol.ts";
import { parseMp3 } from "../../../shared/audio/mp3.ts";
import { parseWav } from "../../../shared/audio/wav.ts";
import { deleteRecordings, recordingKey } from "../../../server/recordings/recording-store.ts";
import { createWorker } from "../../../server/worker.ts";
import { DAY_MS } from "../../../server/recordings/retention.ts";
import {
  SessionClient,
  fakeAi,
  newSessionId,
  openSession,
  ownerKeyOf,
  speakAndWait,
  transcriptOf,
  utterance,
  visitorAddress,
} from "../support/session-client.ts";

const REPLY = "First sentence is right here. Second sentence has quite a few more words in it. Third one ends the reply.";

function call(path: string, o: { key?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { "CF-Connecting-IP": visitorAddress(), ...o.headers };
  if (o.key) headers.Authorization = `Bearer ${o.key}`;
  return exports.default.fetch(new Request(`http://parley.test${path}`, { method: o.method ?? "GET", headers }));
}

async function expectError(res: Response, status: number, code: HttpErrorCode): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, code: HttpError.safeParse(JSON.parse(text)).data?.error.code }, text).toEqual({ status, code });
}

const recordingPath = (id: string, turnId: string, kind: "user" | "reply") => `/api/sessions/${id}/recordings/${turnId}/${kind}`;

/** Recordings are written after the turn settles, off its path: wait until the transcript lists them. */
async function recordingsOf(id: string, turnId: string, want: { user: boolean; reply: boolean }) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const turn = (await transcriptOf(id)).turns.find((t) => t.turnId === turnId);
    if (turn && turn.recordings.user === want.user && turn.recordings.reply === want.reply) return turn;
    if (Date.now() > deadline)
      throw new Error(`recordings of ${turnId}: ${JSON.stringify(turn?.recordings)}, waited for ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bytesOf(res: Response): Promise<Uint8Array> {
  return new Uint8Array(await res.arrayBuffer());
}

/** A typed turn whose reply played to its end. */
async function typedTurn(id: string, c: SessionClient, text = "Tell me three things.") {
  const from = c.frames.length;
  c.send({ type: "text", text });
  const done = await c.waitFor("reply-done", () => true, { from });
  await c.playedOut(done.replyId);
  const turnId = (await transcriptOf(id)).turns.find((t) => t.replyId === done.replyId)!.turnId;
  return { done, turnId, segments: c.of("segment").filter((s) => s.replyId === done.replyId) };
}

/** A new session with one spoken turn whose reply played to its end. */
async function spokenTurnPlayedOut() {
  const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 } });
  const done = await speakAndWait(c, utterance(800, 900, 1));
  await c.playedOut(done.replyId);
  return { id, c, done };
}

/** A new session with one typed turn played out and its reply's recording stored. */
async function recordedTypedTurn() {
  const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 } });
  const { turnId } = await typedTurn(id, c);
  await recordingsOf(id, turnId, { user: false, reply: true });
  return { id, c, turnId };
}

describe("recordings of a turn", () => {
  it("a voice turn stores the user's utterance as 16 kHz mono PCM16 WAV and the reply as one MP3 as long as its segments", async () => {
    const { id, c, done } = await spokenTurnPlayedOut();
    const turn = (await transcriptOf(id)).turns[0]!;
    await recordingsOf(id, turn.turnId, { user: true, reply: true });
    const key = await ownerKeyOf(id);

    const user = await call(recordingPath(id, turn.turnId, "user"), { key });
    expect(user.status).toBe(200);
    expect(user.headers.get("Content-Type")).toBe("audio/wav");
    expect(user.headers.get("Accept-Ranges")).toBe("bytes");
    const wavBytes = await bytesOf(user);
    expect(user.headers.get("Content-Length")).toBe(String(wavBytes.byteLength));
    const wav = parseWav(wavBytes);
    expect({ rate: wav.sampleRate, channels: wav.channels, bits: wav.bitsPerSample }).toEqual({ rate: 16_000, channels: 1, bits: 16 });
    // Exactly the utterance speech-to-text heard (the fake logs its length).
    const stt = (await fakeAi.calls(id)).find((x) => x.kind === "stt")!;
    expect(wav.durationMs).toBeCloseTo(stt.input as number, 0);
    expect(wav.durationMs).toBeGreaterThan(800);

    const reply = await call(recordingPath(id, turn.turnId, "reply"), { key });
    expect(reply.status).toBe(200);
    expect(reply.headers.get("Content-Type")).toBe("audio/mpeg");
    const mp3 = parseMp3(await bytesOf(reply));
    const sent = c.of("segment").filter((s) => s.replyId === done.replyId);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(mp3.durationMs).toBeCloseTo(
      sent.reduce((ms, s) => ms + s.durationMs, 0),
      3,
    );
    expect(mp3.junkBytes).toBe(0);
    c.close();
  });

  it("an interrupted reply's recording holds only what was played: the first segment and 40% of the second, within a frame", async () => {
    const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 } });
    const done = await speakAndWait(c, "Tell me three things.");
    const segs = c.of("segment").filter((s) => s.replyId === done.replyId);
    c.send({ type: "playback", replyId: done.replyId, segment: 0, playedMs: segs[0]!.durationMs, state: "playing" });
    c.send({ type: "playback", replyId: done.replyId, segment: 1, playedMs: segs[1]!.durationMs * 0.4, state: "stopped" });
    const heard = await c.waitFor("reply-heard", (h) => h.replyId === done.replyId);
    expect(heard.status).toBe("interrupted");
    const turnId = (await transcriptOf(id)).turns[0]!.turnId;
    // A typed turn has no utterance to record.
    await recordingsOf(id, turnId, { user: false, reply: true });
    const mp3 = parseMp3(await bytesOf(await call(recordingPath(id, turnId, "reply"), { key: await ownerKeyOf(id) })));
    const heardMs = segs[0]!.durationMs + segs[1]!.durationMs * 0.4;
    const frameMs = (mp3.samplesPerFrame * 1000) / mp3.sampleRate;
    expect(Math.abs(mp3.durationMs - heardMs)).toBeLessThanOrEqual(frameMs);
    await expectError(await call(recordingPath(id, turnId, "user"), { key: await ownerKeyOf(id) }), 404, "recording_not_found");
    c.close();
  });

  it("WAV segments (the offline stand-in's) are joined into one WAV of their PCM", async () => {
    const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 }, tts: { container: "wav" } });
    const { turnId, segments } = await typedTurn(id, c);
    await recordingsOf(id, turnId, { user: false, reply: true });
    const res = await call(recordingPath(id, turnId, "reply"), { key: await ownerKeyOf(id) });
    expect(res.headers.get("Content-Type")).toBe("audio/wav");
    const wav = parseWav(await bytesOf(res));
    expect(wav.durationMs).toBeCloseTo(
      segments.reduce((ms, s) => ms + s.durationMs, 0),
      0,
    );
    c.close();
  });
});

describe("fetching a recording", () => {
  it("a Range answers 206 with exactly those bytes and Content-Range; a suffix range too; a range past the end 416", async () => {
    const { id, c, turnId } = await recordedTypedTurn();
    const key = await ownerKeyOf(id);
    const path = recordingPath(id, turnId, "reply");
    const whole = await bytesOf(await call(path, { key }));
    expect(whole.byteLength).toBeGreaterThan(200);

    const part = await call(path, { key, headers: { Range: "bytes=10-99" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe(`bytes 10-99/${whole.byteLength}`);
    expect(part.headers.get("Content-Length")).toBe("90");
    expect(await bytesOf(part)).toEqual(whole.slice(10, 100));

    const tail = await call(path, { key, headers: { Range: "bytes=-50" } });
    expect(tail.status).toBe(206);
    expect(await bytesOf(tail)).toEqual(whole.slice(whole.byteLength - 50));

    const past = await call(path, { key, headers: { Range: `bytes=${whole.byteLength}-` } });
    expect(past.headers.get("Content-Range")).toBe(`bytes */${whole.byteLength}`);
    await expectError(past, 416, "range_not_satisfiable");
    c.close();
  });

  it("a review key fetches it; no key is 401, another session's key 403, a revoked review key 403, another method 405", async () => {
    const { id, c, turnId } = await recordedTypedTurn();
    const ownerKey = await ownerKeyOf(id);
    const path = recordingPath(id, turnId, "reply");
    const grant = ReviewKeyGrant.parse(await (await call(`/api/sessions/${id}/review-key`, { method: "POST", key: ownerKey })).json());
    const byReview = await call(path, { key: grant.reviewKey });
    expect(byReview.status).toBe(200);
    expect((await bytesOf(byReview)).byteLength).toBeGreaterThan(0);

    await expectError(await call(path), 401, "key_required");
    await expectError(await call(path, { key: await ownerKeyOf(newSessionId()) }), 403, "bad_key");
    await expectError(await call(path, { key: ownerKey, method: "DELETE" }), 405, "method_not_allowed");
    await call(`/api/sessions/${id}/review-key/rotate`, { method: "POST", key: ownerKey });
    await expectError(await call(path, { key: grant.reviewKey }), 403, "key_revoked");
    await expectError(await call(`/api/sessions/${id}/recordings/${turnId}/both`, { key: ownerKey }), 404, "not_found");
    await expectError(await call(recordingPath(id, "t-nope", "reply"), { key: ownerKey }), 404, "recording_not_found");
    c.close();
  });

  it("a page of another allowed origin may send a Range (preflight) and read the answer's Content-Range", async () => {
    const { id, c, turnId } = await recordedTypedTurn();
    c.close();
    const worker = createWorker();
    const withOrigins = { ...env, ALLOWED_ORIGINS: "https://app.example.com" };
    const headers = { Origin: "https://app.example.com", "CF-Connecting-IP": visitorAddress() };
    const url = `http://parley.test${recordingPath(id, turnId, "reply")}`;
    const preflight = await worker.fetch(new Request(url, { method: "OPTIONS", headers }), withOrigins);
    expect(preflight.headers.get("Access-Control-Allow-Headers")).toContain("Range");
    const res = await worker.fetch(
      new Request(url, { headers: { ...headers, Authorization: `Bearer ${await ownerKeyOf(id)}`, Range: "bytes=0-9" } }),
      withOrigins,
    );
    expect(res.status).toBe(206);
    expect(res.headers.get("Access-Control-Expose-Headers")).toContain("Content-Range");
    expect((await bytesOf(res)).byteLength).toBe(10);
  });
});

describe("retention and deletion", () => {
  it("the retention alarm deletes an expired recording, keeps a newer one and sleeps until that one expires", async () => {
    const { id, c } = await openSession({ llm: { reply: REPLY, tokenMs: 5 } });
    const first = await typedTurn(id, c, "First question.");
    const second = await typedTurn(id, c, "Second question.");
    await recordingsOf(id, first.turnId, { user: false, reply: true });
    await recordingsOf(id, second.turnId, { user: false, reply: true });
    c.close();
    const stub = env.VoiceSession.getByName(id);
    // The first was made 31 days ago (the default retention is 30 days).
    const made = await runInDurableObject(stub, async (_i, state) => {
      const aged = Date.now() - 31 * DAY_MS;
      state.storage.sql.exec(`UPDATE recordings SET created_at = ? WHERE turn_id = ?`, aged, first.turnId);
      const secondAt = state.storage.sql
        .exec<{ created_at: number }>(`SELECT created_at FROM recordings WHERE turn_id = ?`, second.turnId)
        .one().created_at;
      // The alarm was armed as the recordings were written; bring it to now, as time passing would.
      await state.storage.setAlarm(Date.now());
      return { secondAt };
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);

    const firstKey = recordingKey(id, first.turnId, "reply", "mp3");
    expect(await env.RECORDINGS.head(firstKey)).toBeNull();
    expect(await env.RECORDINGS.head(recordingKey(id, second.turnId, "reply", "mp3"))).not.toBeNull();
    await recordingsOf(id, first.turnId, { user: false, reply: false });
    await recordingsOf(id, second.turnId, { user: false, reply: true });
    await expectError(await call(recordingPath(id, first.turnId, "reply"), { key: await ownerKeyOf(id) }), 404, "recording_not_found");
    const alarm = await runInDurableObject(stub, (_i, state) => state.storage.getAlarm());
    expect(alarm).toBe(made.secondAt + 30 * DAY_MS);
  });

  it("deleting the session deletes its recordings; its recording routes then answer 404", async () => {
    const { id, c } = await spokenTurnPlayedOut();
    const turnId = (await transcriptOf(id)).turns[0]!.turnId;
    await recordingsOf(id, turnId, { user: true, reply: true });
    c.close();
    expect((await env.RECORDINGS.list({ prefix: `sessions/${id}/` })).objects).toHaveLength(2);
    const key = await ownerKeyOf(id);
    expect((await call(`/api/sessions/${id}`, { method: "DELETE", key })).status).toBe(204);
    expect((await env.RECORDINGS.list({ prefix: `sessions/${id}/` })).objects).toHaveLength(0);
    await expectError(await call(recordingPath(id, turnId, "user"), { key }), 404, "not_found");
    await expectError(await call(recordingPath(id, turnId, "reply"), { key }), 404, "not_found");
  });

  it("deleteRecordings removes everything under the session's prefix, page by page, and nothing of another session", async () => {
    const id = newSessionId();
    const other = newSessionId();
    const keys = Array.from({ length: 7 }, (_, i) => `sessions/${id}/turns/t-${i}/user.wav`);
    for (const k of [...keys, `sessions/${id}/stray`, `sessions/${other}/turns/t-0/user.wav`])
      await env.RECORDINGS.put(k, new Uint8Array([1, 2, 3]));
    // Pages and batches of 3: three pages, the last one short.
    expect(await deleteRecordings(env.RECORDINGS, id, 3)).toBe(8);
    expect((await env.RECORDINGS.list({ prefix: `sessions/${id}/` })).objects).toEqual([]);
    expect((await env.RECORDINGS.list({ prefix: `sessions/${other}/` })).objects.map((o) => o.key)).toEqual([
      `sessions/${other}/turns/t-0/user.wav`,
    ]);
    // Again: nothing left, nothing fails (a retried delete).
    expect(await deleteRecordings(env.RECORDINGS, id, 3)).toBe(0);
  });
});
