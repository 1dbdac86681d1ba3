// The review index end to end: sessions write their row and messages to D1 after every turn, and
// GET /api/conversations lists and searches them for their owner (owner token), everyone's for the
// operator; the CSV is the same list. Every test uses words and owners of its own: the D1 database
// is shared by the test files that run side by side.
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { CreatedSession, HttpError, type HttpErrorCode } from "../../../shared/protocol.ts";
import { ConversationPage, type ConversationSummary } from "../../../shared/review.ts";
import { mintSessionId, operatorKey, signOwnerToken } from "../../../server/access/session-keys.ts";
import { writeUpdate } from "../../../server/review-index/index-store.ts";
import { createWorker } from "../../../server/worker.ts";
import { SessionClient, fakeAi, visitorAddress } from "../support/session-client.ts";

const BASE = "http://parley.test";

function get(path: string, key?: string): Promise<Response> {
  const headers: Record<string, string> = { "CF-Connecting-IP": visitorAddress() };
  if (key) headers.Authorization = `Bearer ${key}`;
  return exports.default.fetch(new Request(`${BASE}${path}`, { headers }));
}

async function create(ownerToken?: string): Promise<CreatedSession> {
  const headers: Record<string, string> = { "CF-Connecting-IP": visitorAddress() };
  if (ownerToken) headers.Authorization = `Bearer ${ownerToken}`;
  const res = await exports.default.fetch(new Request(`${BASE}/api/sessions`, { method: "POST", headers }));
  expect(res.status).toBe(201);
  return CreatedSession.parse(await res.json());
}

async function list(key: string, params: Record<string, string> = {}): Promise<ConversationPage> {
  const res = await get(`/api/conversations?${new URLSearchParams(params).toString()}`, key);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return ConversationPage.parse(JSON.parse(text));
}

async function expectError(res: Response, status: number, code: HttpErrorCode): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, code: HttpError.safeParse(JSON.parse(text)).data?.error.code }, text).toEqual({ status, code });
}

/** Poll the list until `pred` holds (index writes land after the turn settles). */
async function eventually(
  key: string,
  params: Record<string, string>,
  pred: (p: ConversationPage) => boolean,
  timeoutMs = 8000,
): Promise<ConversationPage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const page = await list(key, params);
    if (pred(page)) return page;
    if (Date.now() > deadline) throw new Error(`index never got there: ${JSON.stringify(page)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A word no other test says. */
const word = (prefix: string) => `${prefix}${crypto.randomUUID().replace(/-/g, "").slice(0, 10)}`;

/** One typed turn, its reply played out (the turn settles, then the index is written). */
async function turn(c: SessionClient, text: string) {
  const from = c.frames.length;
  c.send({ type: "text", text });
  const done = await c.waitFor("reply-done", undefined, { from });
  await c.playedOut(done.replyId);
  return done;
}

const item = (page: ConversationPage, id: string): ConversationSummary | undefined => page.items.find((i) => i.id === id);

describe("review index: written by the sessions", () => {
  it("upserts the session's row after every turn: title from the first user line, turns, cost and backend current", async () => {
    const created = await create();
    const token = created.ownerToken!;
    expect(token).toMatch(/^u\./);
    const c = await SessionClient.connect(created.id);
    const done = await turn(c, "Plan a picnic for Saturday, please.");
    const first = await eventually(token, {}, (p) => item(p, created.id)?.turns === 1);
    expect(item(first, created.id)).toMatchObject({
      title: "Plan a picnic for Saturday, please.",
      turns: 1,
      interruptions: 0,
      backend: done.backend,
      mode: "hands-free",
    });
    expect(item(first, created.id)!.usd).toBeGreaterThan(0);
    await turn(c, "And what should I bring?");
    const second = await eventually(token, {}, (p) => item(p, created.id)?.turns === 2);
    const row = item(second, created.id)!;
    expect(row.title).toBe("Plan a picnic for Saturday, please.");
    expect(row.usd).toBeGreaterThan(item(first, created.id)!.usd);
    expect(row.durationMs).toBeGreaterThan(0);
    expect(row.updatedAt).toBeGreaterThanOrEqual(item(first, created.id)!.updatedAt);
    c.close();
  });

  it("search finds a word the user said and a word the assistant said, with the match marked in a snippet", async () => {
    const created = await create();
    const spoken = word("userword");
    const replied = word("botword");
    await fakeAi.configure(created.id, { llm: { reply: `Certainly. The answer involves ${replied} and little else.` } });
    const c = await SessionClient.connect(created.id);
    await turn(c, `Tell me about ${spoken} today.`);
    const byUser = await eventually(created.ownerToken!, { q: spoken }, (p) => p.items.length === 1);
    expect(byUser.items[0]!.id).toBe(created.id);
    expect(byUser.items[0]!.snippet).toMatchObject({ role: "user" });
    expect(byUser.items[0]!.snippet!.parts.filter((p) => p.hit).map((p) => p.text.toLowerCase())).toEqual([spoken.toLowerCase()]);
    const byAssistant = await list(created.ownerToken!, { q: replied.toUpperCase() });
    expect(byAssistant.items.map((i) => i.id)).toEqual([created.id]);
    expect(byAssistant.items[0]!.snippet).toMatchObject({ role: "assistant" });
    // The last word matches as a prefix (results as you type); words are ANDed.
    expect((await list(created.ownerToken!, { q: replied.slice(0, 9) })).items.map((i) => i.id)).toEqual([created.id]);
    expect((await list(created.ownerToken!, { q: `${spoken} ${word("absent")}` })).items).toEqual([]);
    c.close();
  });

  it("deleting a session removes it from the list and from search, also with a turn of it still in flight", async () => {
    const created = await create();
    const spoken = word("gone");
    const c = await SessionClient.connect(created.id);
    await turn(c, `Remember ${spoken} for me.`);
    await eventually(created.ownerToken!, { q: spoken }, (p) => p.items.length === 1);
    // A second turn's index write is still in flight when the delete arrives.
    c.send({ type: "text", text: `And ${spoken} again.` });
    await c.waitFor("reply-done", undefined, { from: c.frames.length });
    const headers = { "CF-Connecting-IP": visitorAddress(), Authorization: `Bearer ${created.ownerKey}` };
    const del = await exports.default.fetch(new Request(`${BASE}/api/sessions/${created.id}`, { method: "DELETE", headers }));
    expect(del.status).toBe(204);
    await new Promise((r) => setTimeout(r, 300));
    expect((await list(created.ownerToken!, { q: spoken })).items).toEqual([]);
    expect(item(await list(created.ownerToken!), created.id)).toBeUndefined();
  });

  it("a missed index write is healed by the next turn: the first turn's messages arrive with the second's", async () => {
    const created = await create();
    const lost = word("lostword");
    const c = await SessionClient.connect(created.id);
    const failed: unknown[] = [];
    await runInDurableObject(env.VoiceSession.getByName(created.id), (instance) => {
      // The session's next D1 write fails (D1 unreachable, a deploy in between); the ones after it work.
      const session = instance as unknown as { env: Env };
      const real = session.env.REVIEW_INDEX;
      let failNext = true;
      const flaky = new Proxy(real, {
        get(target, prop) {
          if (prop === "batch" && failNext) {
            return async () => {
              failNext = false;
              failed.push(prop);
              throw new Error("D1 is unreachable (test)");
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      session.env = { ...session.env, REVIEW_INDEX: flaky };
    });
    await turn(c, `Remember ${lost} for me.`);
    // Give the failed write time to happen; nothing is listed.
    await new Promise((r) => setTimeout(r, 300));
    expect(failed).toHaveLength(1);
    expect((await list(created.ownerToken!, { q: lost })).items).toEqual([]);
    await turn(c, "Anything else?");
    const healed = await eventually(created.ownerToken!, { q: lost }, (p) => p.items.length === 1);
    expect(healed.items[0]).toMatchObject({ id: created.id, turns: 2 });
    expect(healed.items[0]!.snippet!.role).toBe("user");
    c.close();
  });

  it("a reply cut short by the user is indexed as heard: its unheard words are no longer found", async () => {
    const created = await create();
    const heard = word("heardword");
    const unheard = word("unheardword");
    await fakeAi.configure(created.id, {
      llm: { reply: `First ${heard} sentence here. Then a second sentence. Finally ${unheard} at the very end.` },
    });
    const c = await SessionClient.connect(created.id);
    const from = c.frames.length;
    c.send({ type: "text", text: "Talk to me." });
    const done = await c.waitFor("reply-done", undefined, { from });
    // Heard the first sentence, then stopped.
    c.send({ type: "playback", replyId: done.replyId, segment: 1, playedMs: 0, state: "stopped" });
    await c.waitFor("reply-heard", (h) => h.replyId === done.replyId);
    await eventually(created.ownerToken!, { q: heard }, (p) => p.items.length === 1);
    expect((await list(created.ownerToken!, { q: unheard })).items).toEqual([]);
    c.close();
  });
});

describe("review index: listing", () => {
  /** Sessions written straight to the index for one new owner: `startedAt` values chosen to tie. */
  async function seed(startedAts: number[], text: (i: number) => string = (i) => `line ${i}`, ownerId = mintSessionId()) {
    const token = await signOwnerToken(env.SESSION_SECRET!, ownerId);
    const ids: string[] = [];
    for (const [i, startedAt] of startedAts.entries()) {
      const id = mintSessionId();
      ids.push(id);
      await writeUpdate(env.REVIEW_INDEX, {
        seq: 1,
        session: {
          id,
          owner: `id:${ownerId}`,
          title: text(i),
          startedAt,
          updatedAt: startedAt,
          durationMs: 1000,
          turns: 1,
          interruptions: 0,
          messages: 1,
          neurons: 1.5,
          usd: 0.0001,
          backend: "fake",
          mode: "hands-free",
        },
        messages: [{ messageId: 1, role: "user", kind: "turn", status: "complete", text: text(i), createdAt: startedAt }],
        acks: [],
        more: false,
      });
    }
    return { token, ids };
  }

  it("pages newest first by (started_at, id) with no duplicates or misses, ties included, while sessions are added meanwhile", async () => {
    const t = 1_700_000_000_000;
    const starts = [t, t + 10, t + 10, t + 10, t + 20, t + 30, t + 30];
    const ownerId = mintSessionId();
    const { token, ids } = await seed(starts, undefined, ownerId);
    const expected = ids
      .map((id, i) => ({ id, startedAt: starts[i]! }))
      .sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1))
      .map((x) => x.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: ConversationPage = await list(token, { limit: "2", ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
      // A newer session arrives after the first page: it sorts before the cursor, so the later pages are unchanged.
      if (pages === 1) await seed([t + 40], undefined, ownerId);
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(pages).toBe(4);
  });

  it("an owner sees only their own sessions; the operator key sees everyone's", async () => {
    const a = await seed([1_700_000_100_000]);
    const b = await seed([1_700_000_100_001]);
    expect((await list(a.token)).items.map((i) => i.id)).toEqual(a.ids);
    expect((await list(b.token)).items.map((i) => i.id)).toEqual(b.ids);
    const op = await operatorKey(env.SESSION_SECRET!);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const page: ConversationPage = await list(op, { limit: "100", ...(cursor ? { cursor } : {}) });
      all.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toEqual(expect.arrayContaining([...a.ids, ...b.ids]));
  });

  it("the owner token a client presents when creating a session lists that session too", async () => {
    const first = await create();
    const second = await create(first.ownerToken!);
    expect(second.ownerToken).toBe(first.ownerToken);
    for (const s of [first, second]) {
      const c = await SessionClient.connect(s.id);
      await turn(c, "Hello there.");
      c.close();
    }
    const page = await eventually(first.ownerToken!, {}, (p) => p.items.length === 2);
    expect(page.items.map((i) => i.id).sort()).toEqual([first.id, second.id].sort());
    expect((await list((await create()).ownerToken!)).items).toEqual([]);
  });

  it("refuses without a token (401), with a wrong one (403), and a forged owner token when creating a session (403)", async () => {
    await expectError(await get("/api/conversations"), 401, "key_required");
    await expectError(await get("/api/conversations.csv"), 401, "key_required");
    const forged = `u.${mintSessionId()}.${"A".repeat(43)}`;
    await expectError(await get("/api/conversations", forged), 403, "bad_key");
    await expectError(await get("/api/conversations", `op.${"A".repeat(43)}`), 403, "bad_key");
    // A session's own key is no owner token.
    const created = await create();
    await expectError(await get("/api/conversations", created.ownerKey), 403, "bad_key");
    const res = await exports.default.fetch(
      new Request(`${BASE}/api/sessions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${forged}`, "CF-Connecting-IP": visitorAddress() },
      }),
    );
    await expectError(res, 403, "bad_owner_token");
    await expectError(
      await exports.default.fetch(
        new Request(`${BASE}/api/conversations`, {
          method: "POST",
          headers: { Authorization: `Bearer ${created.ownerToken}`, "CF-Connecting-IP": visitorAddress() },
        }),
      ),
      405,
      "method_not_allowed",
    );
  });

  it("answers FTS5-hostile search text with results or an empty list, never an error", async () => {
    const { token, ids } = await seed([1_700_000_200_000], () => `She said "NEAR" OR not - the *star* (quoted) term`);
    const hostile = [
      '"',
      '""',
      "*",
      "NEAR(",
      "NEAR(a b",
      "-",
      "OR",
      "AND",
      "NOT",
      "a OR",
      '"unterminated',
      "star*",
      "^start",
      "col:umn",
      "(",
      ")",
      "{x}",
      "'",
      "\\",
      "%",
      "‽",
      "💥",
      "\u0000",
      "\uE000",
    ];
    for (const q of hostile) {
      const page = await list(token, { q });
      expect(
        page.items.every((i) => ids.includes(i.id)),
        q,
      ).toBe(true);
    }
    expect((await list(token, { q: "NEAR(" })).items.map((i) => i.id)).toEqual(ids);
    expect((await list(token, { q: "star*" })).items.map((i) => i.id)).toEqual(ids);
    expect((await list(token, { q: "OR" })).items.map((i) => i.id)).toEqual(ids);
    expect((await list(token, { q: "*" })).items).toEqual([]);
  });

  it("refuses a bad cursor, limit or over-long search text with 400 bad_query", async () => {
    const { token } = await seed([1_700_000_300_000]);
    await expectError(await get("/api/conversations?cursor=nonsense", token), 400, "bad_query");
    await expectError(await get(`/api/conversations?cursor=${btoa("12:NOT-AN-ID")}`, token), 400, "bad_query");
    await expectError(await get("/api/conversations?limit=0", token), 400, "bad_query");
    await expectError(await get("/api/conversations?limit=101", token), 400, "bad_query");
    await expectError(await get("/api/conversations?limit=abc", token), 400, "bad_query");
    await expectError(await get(`/api/conversations?q=${"x".repeat(201)}`, token), 400, "bad_query");
    await expectError(await get("/api/conversations/extra", token), 404, "not_found");
  });
});

describe("review index: behind Cloudflare Access", () => {
  it("the owner is the Access user's email: each user lists their own sessions without a token, and gets no owner token", async () => {
    const TEAM = "parleytest";
    const AUD = "b".repeat(48);
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "k", alg: "RS256", use: "sig" };
    const worker = createWorker({ accessKeys: () => createLocalJWKSet({ keys: [jwk] }) });
    const accessEnv = { ...env, ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD };
    const jwtFor = (email: string) =>
      new SignJWT({ email })
        .setProtectedHeader({ alg: "RS256", kid: "k" })
        .setIssuer(`https://${TEAM}.cloudflareaccess.com`)
        .setAudience(AUD)
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(privateKey);
    const as = async (email: string, path: string, method = "GET") =>
      worker.fetch(
        new Request(`${BASE}${path}`, {
          method,
          headers: { "Cf-Access-Jwt-Assertion": await jwtFor(email), "CF-Connecting-IP": visitorAddress() },
        }),
        accessEnv,
      );
    const ada = `ada-${word("")}@example.com`;
    const bob = `bob-${word("")}@example.com`;
    const created = CreatedSession.parse(await (await as(ada, "/api/sessions", "POST")).json());
    expect(created).toMatchObject({ owner: ada, ownerToken: null });
    const c = await SessionClient.connect(created.id);
    await turn(c, "Access-protected hello.");
    c.close();
    const listed = async (email: string) => ConversationPage.parse(await (await as(email, "/api/conversations")).json());
    const deadline = Date.now() + 8000;
    while ((await listed(ada)).items.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await listed(ada)).items.map((i) => [i.id, i.owner])).toEqual([[created.id, ada]]);
    expect((await listed(bob)).items).toEqual([]);
  });
});

/** A strict RFC 4180 parser: CRLF records, quoted fields with doubled quotes; anything else throws. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let i = 0;
  while (i < text.length) {
    const row: string[] = [];
    for (;;) {
      let value = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw new Error("unterminated quoted field");
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          value += text[i++];
        }
      } else {
        while (i < text.length && text[i] !== "," && text[i] !== "\r" && text[i] !== "\n") {
          if (text[i] === '"') throw new Error(`bare quote at ${i}`);
          value += text[i++];
        }
      }
      row.push(value);
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text.slice(i, i + 2) !== "\r\n") throw new Error(`expected CRLF at ${i}`);
      i += 2;
      break;
    }
    rows.push(row);
  }
  return rows;
}

describe("review index: CSV", () => {
  it("downloads every page as RFC 4180 CSV that parses back to the listed rows, text with quotes, commas and line breaks intact", async () => {
    const tricky = ['Say "hi", then leave', "two\r\nlines", "=1+1 looks like a formula", "plain", "naïve café ✓"];
    const ownerId = mintSessionId();
    const token = await signOwnerToken(env.SESSION_SECRET!, ownerId);
    // More than one page (the CSV walks them all).
    for (let i = 0; i < 105; i++) {
      const title = tricky[i % tricky.length]!;
      await writeUpdate(env.REVIEW_INDEX, {
        seq: 1,
        session: {
          id: mintSessionId(),
          owner: `id:${ownerId}`,
          title,
          startedAt: 1_700_000_400_000 + i,
          updatedAt: 0,
          durationMs: 2500,
          turns: 3,
          interruptions: 1,
          messages: 6,
          neurons: 12.5,
          usd: 0.000138,
          backend: "fake",
          mode: "hands-free",
        },
        messages: [{ messageId: 1, role: "user", kind: "turn", status: "complete", text: title, createdAt: 0 }],
        acks: [],
        more: false,
      });
    }
    const res = await get("/api/conversations.csv", token);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("Content-Disposition")).toBe(
      `attachment; filename="parley-conversations-${new Date().toISOString().slice(0, 10)}.csv"`,
    );
    const rows = parseCsv(await res.text());
    expect(rows[0]).toEqual("id,title,started_at,duration_ms,turns,interruptions,neurons,usd,backend,mode,owner,path,match".split(","));
    expect(rows).toHaveLength(1 + 105);
    const listed: ConversationSummary[] = [];
    let cursor: string | null = null;
    do {
      const page: ConversationPage = await list(token, { limit: "100", ...(cursor ? { cursor } : {}) });
      listed.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(rows.slice(1).map((r) => r[0])).toEqual(listed.map((i) => i.id));
    const byId = new Map(rows.slice(1).map((r) => [r[0]!, r]));
    for (const c of listed) {
      const r = byId.get(c.id)!;
      expect(r[1]).toBe(c.title.startsWith("=") ? `'${c.title}` : c.title);
      expect(r[2]).toBe(new Date(c.startedAt).toISOString());
      expect(r.slice(3, 8)).toEqual(["2500", "3", "1", "12.5", "0.000138"]);
      expect(r[11]).toBe(`/s/${c.id}`);
    }
    // With a search: only the matches, and where they matched.
    const matched = parseCsv(await (await get(`/api/conversations.csv?q=${encodeURIComponent("café")}`, token)).text());
    expect(matched).toHaveLength(1 + 21);
    expect(matched[1]![12]).toContain("café");
  });
});
