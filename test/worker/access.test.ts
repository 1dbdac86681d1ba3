// Who may do what, through the Worker's own fetch handler: minted sessions and their keys, review
// (share) keys and their revocation, Origin, Cloudflare Access, per-address limits, the connection
// cap and malformed paths. Requests that need other vars go through createWorker() with a changed env.
import { env, exports } from "cloudflare:workers";
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { CreatedSession, HttpError, ReviewKeyGrant, type HttpErrorCode } from "../../shared/protocol.ts";
import { signKey } from "../../server/access/session-keys.ts";
import { createWorker } from "../../server/worker.ts";
import type { Transcript } from "../../server/transcript/transcript.ts";
import { SessionClient, newSessionId, ownerKeyOf, visitorAddress } from "./support/session-client.ts";

const BASE = "http://parley.test";

interface Call {
  method?: string;
  key?: string;
  origin?: string;
  ip?: string;
  headers?: Record<string, string>;
}

function request(path: string, o: Call = {}): Request {
  const headers: Record<string, string> = { "CF-Connecting-IP": o.ip ?? visitorAddress(), ...o.headers };
  if (o.key) headers.Authorization = `Bearer ${o.key}`;
  if (o.origin) headers.Origin = o.origin;
  return new Request(`${BASE}${path}`, { method: o.method ?? "GET", headers });
}

function upgrade(id: string, o: Call & { protocols?: string[] } = {}): Request {
  const protocols = o.protocols ?? ["parley", ...(o.key ? [`parley-key.${o.key}`] : [])];
  return request(`/parties/voice-session/${id}`, {
    ...o,
    key: undefined,
    headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": protocols.join(", "), ...o.headers },
  });
}

const call = (req: Request) => exports.default.fetch(req);

async function expectError(res: Response, status: number, code: HttpErrorCode): Promise<void> {
  const text = await res.text();
  expect({ status: res.status, code: HttpError.safeParse(JSON.parse(text)).data?.error.code }, text).toEqual({ status, code });
  expect(res.webSocket ?? null).toBeNull();
}

async function create(o: Call = {}): Promise<CreatedSession> {
  const res = await call(request("/api/sessions", { method: "POST", ...o }));
  expect(res.status).toBe(201);
  return CreatedSession.parse(await res.json());
}

async function reviewKey(id: string, ownerKey: string, rotate = false): Promise<ReviewKeyGrant> {
  const res = await call(request(`/api/sessions/${id}/review-key${rotate ? "/rotate" : ""}`, { method: "POST", key: ownerKey }));
  expect(res.status).toBe(200);
  return ReviewKeyGrant.parse(await res.json());
}

/** Open a socket with a 101 answer; returns it accepted. */
async function accepted(res: Response): Promise<WebSocket> {
  expect(res.status).toBe(101);
  const ws = res.webSocket!;
  ws.accept();
  return ws;
}

describe("sessions belong to whoever created them", () => {
  it("POST /api/sessions mints a 128-bit id and an owner key that joins live and reads the transcript", async () => {
    const a = await create();
    const b = await create();
    expect(a.id).toMatch(/^[a-z2-7]{26}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.owner).toBeNull();
    const res = await call(upgrade(a.id, { key: a.ownerKey }));
    expect(res.headers.get("Sec-WebSocket-Protocol")).toBe("parley"); // never the key
    const ws = await accepted(res);
    const first = await new Promise<string>((resolve) => ws.addEventListener("message", (e) => resolve(e.data as string), { once: true }));
    expect(JSON.parse(first)).toMatchObject({ type: "ready", sessionId: a.id });
    ws.close(1000);
    const t = await call(request(`/api/sessions/${a.id}`, { key: a.ownerKey }));
    expect(t.status).toBe(200);
    expect((await t.json<Transcript>()).sessionId).toBe(a.id);
  });

  it("creating a session needs POST", async () => {
    await expectError(await call(request("/api/sessions")), 405, "method_not_allowed");
  });

  it("a session without its key is refused: WebSocket (before the upgrade) and transcript", async () => {
    const a = await create();
    await expectError(await call(upgrade(a.id)), 401, "key_required");
    await expectError(await call(request(`/api/sessions/${a.id}`)), 401, "key_required");
    // A key in the query string is not a key: it would be logged.
    await expectError(await call(request(`/api/sessions/${a.id}?key=${encodeURIComponent(a.ownerKey)}`)), 401, "key_required");
  });

  it("another session's key, a forged key and a key signed with another secret are refused", async () => {
    const a = await create();
    const b = await create();
    const forged = `o.${"A".repeat(43)}`;
    const otherSecret = await signKey("x".repeat(40), a.id, { role: "owner" });
    for (const key of [b.ownerKey, forged, otherSecret, "not-a-key"]) {
      await expectError(await call(upgrade(a.id, { key })), 403, "bad_key");
      await expectError(await call(request(`/api/sessions/${a.id}`, { key })), 403, "bad_key");
    }
  });

  it("the live socket is not served over plain HTTP", async () => {
    const a = await create();
    await expectError(await call(request(`/parties/voice-session/${a.id}`, { key: a.ownerKey })), 426, "upgrade_required");
  });
});

describe("share links: read-only review keys", () => {
  it("a review key reads the transcript but cannot join live, share or rotate", async () => {
    const a = await create();
    const { reviewKey: key, version } = await reviewKey(a.id, a.ownerKey);
    expect(version).toBe(1);
    expect(key.startsWith("r.1.")).toBe(true);
    expect((await call(request(`/api/sessions/${a.id}`, { key }))).status).toBe(200);
    await expectError(await call(upgrade(a.id, { key })), 403, "read_only");
    await expectError(await call(request(`/api/sessions/${a.id}/review-key`, { method: "POST", key })), 403, "read_only");
    await expectError(await call(request(`/api/sessions/${a.id}/review-key/rotate`, { method: "POST", key })), 403, "read_only");
  });

  it("a review key cannot join live, type or change settings by claiming the owner's grant in its own headers", async () => {
    const a = await create();
    const { reviewKey: key } = await reviewKey(a.id, a.ownerKey);
    await expectError(
      await call(upgrade(a.id, { key, headers: { "x-parley-grant": "owner", "x-partykit-room": a.id } })),
      403,
      "read_only",
    );
  });

  it("rotating revokes earlier review keys; the new one works and the owner key keeps working", async () => {
    const a = await create();
    const old = await reviewKey(a.id, a.ownerKey);
    const rotated = await reviewKey(a.id, a.ownerKey, true);
    expect(rotated.version).toBe(2);
    await expectError(await call(request(`/api/sessions/${a.id}`, { key: old.reviewKey })), 403, "key_revoked");
    expect((await call(request(`/api/sessions/${a.id}`, { key: rotated.reviewKey }))).status).toBe(200);
    expect((await reviewKey(a.id, a.ownerKey)).reviewKey).toBe(rotated.reviewKey);
    const ws = await accepted(await call(upgrade(a.id, { key: a.ownerKey })));
    ws.close(1000);
  });

  it("a review key of one session does not open another", async () => {
    const a = await create();
    const b = await create();
    const { reviewKey: key } = await reviewKey(a.id, a.ownerKey);
    await expectError(await call(request(`/api/sessions/${b.id}`, { key })), 403, "bad_key");
  });
});

describe("Origin", () => {
  it("a foreign page is refused with 403 before the upgrade and on the HTTP API; the app's own origin and no Origin pass", async () => {
    const a = await create();
    await expectError(await call(upgrade(a.id, { key: a.ownerKey, origin: "https://evil.example" })), 403, "origin_forbidden");
    await expectError(
      await call(request(`/api/sessions/${a.id}`, { key: a.ownerKey, origin: "https://evil.example" })),
      403,
      "origin_forbidden",
    );
    await expectError(await call(request("/api/sessions", { method: "POST", origin: "https://evil.example" })), 403, "origin_forbidden");
    await expectError(await call(request("/api/sessions", { method: "POST", origin: "null" })), 403, "origin_forbidden");
    expect((await call(request(`/api/sessions/${a.id}`, { key: a.ownerKey, origin: BASE }))).status).toBe(200);
    const ws = await accepted(await call(upgrade(a.id, { key: a.ownerKey, origin: BASE })));
    ws.close(1000);
  });

  it("ALLOWED_ORIGINS admits another origin's pages, with CORS headers and a preflight answer", async () => {
    const worker = createWorker();
    const withOrigins = { ...env, ALLOWED_ORIGINS: "https://app.example.com, http://localhost:3000" };
    const origin = "https://app.example.com";
    const preflight = await worker.fetch(request("/api/sessions", { method: "OPTIONS", origin }), withOrigins);
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe(origin);
    expect(preflight.headers.get("Access-Control-Allow-Headers")).toContain("Authorization");
    const res = await worker.fetch(request("/api/sessions", { method: "POST", origin }), withOrigins);
    expect(res.status).toBe(201);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(origin);
    const { id, ownerKey } = CreatedSession.parse(await res.json());
    const ws = await accepted(await worker.fetch(upgrade(id, { key: ownerKey, origin }), withOrigins));
    ws.close(1000);
    await expectError(
      await worker.fetch(upgrade(id, { key: ownerKey, origin: "https://other.example.com" }), withOrigins),
      403,
      "origin_forbidden",
    );
  });
});

describe("server configuration", () => {
  it("without SESSION_SECRET the Worker refuses to mint or serve sessions, saying why", async () => {
    const worker = createWorker();
    const { SESSION_SECRET: _dropped, ...noSecret } = env;
    const res = await worker.fetch(request("/api/sessions", { method: "POST" }), noSecret as Env);
    expect(res.status).toBe(503);
    const body = HttpError.parse(await res.json());
    expect(body.error.code).toBe("server_misconfigured");
    expect(body.error.message).toContain("wrangler secret put SESSION_SECRET");
    const id = newSessionId();
    await expectError(await worker.fetch(upgrade(id, { key: await ownerKeyOf(id) }), noSecret as Env), 503, "server_misconfigured");
    await expectError(
      await worker.fetch(request("/api/sessions", { method: "POST" }), { ...env, SESSION_SECRET: "short" }),
      503,
      "server_misconfigured",
    );
  });
});

/**
 * The Rate Limiting binding counts in wall-clock windows: a run that straddles a window's end is
 * repeated once, in the next window, so the count under test is within one window.
 */
async function withinOneWindow(periodS: number, run: () => Promise<{ refusedAt: number | null }>): Promise<number | null> {
  const windowOf = () => Math.floor(Date.now() / (periodS * 1000));
  for (let attempt = 0; attempt < 2; attempt++) {
    const w = windowOf();
    const { refusedAt } = await run();
    if (windowOf() === w) return refusedAt;
  }
  throw new Error("two runs straddled rate-limit windows");
}

describe("per-address limits, before anything reaches a session", () => {
  it("session creation: the 21st in a minute from one address gets 429 rate_limited; other addresses are not affected", async () => {
    const refusedAt = await withinOneWindow(60, async () => {
      const ip = visitorAddress();
      for (let i = 1; i <= 21; i++) {
        const res = await call(request("/api/sessions", { method: "POST", ip }));
        if (res.status === 429) {
          await expectError(res, 429, "rate_limited");
          expect(res.headers.get("Retry-After")).toBe("60");
          return { refusedAt: i };
        }
        expect(res.status).toBe(201);
      }
      return { refusedAt: null };
    });
    expect(refusedAt).toBe(21);
    expect((await call(request("/api/sessions", { method: "POST" }))).status).toBe(201);
  });

  it("connection attempts: the 121st in a minute from one address gets 429 before the key is even checked", async () => {
    const a = await create();
    const refusedAt = await withinOneWindow(60, async () => {
      const ip = visitorAddress();
      for (let i = 1; i <= 121; i++) {
        // Keyless attempts: a flood of guesses is counted like any other.
        const res = await call(upgrade(a.id, { ip }));
        if (res.status === 429) {
          await expectError(res, 429, "rate_limited");
          return { refusedAt: i };
        }
        await expectError(res, 401, "key_required");
      }
      return { refusedAt: null };
    });
    expect(refusedAt).toBe(121);
  });

  it("a session takes 8 live connections; the 9th gets 429 too_many_connections before the upgrade, and a freed place can be taken", async () => {
    const id = newSessionId();
    const clients = await Promise.all(Array.from({ length: 8 }, () => SessionClient.connect(id)));
    await expectError(await call(upgrade(id, { key: await ownerKeyOf(id) })), 429, "too_many_connections");
    clients[0]!.close();
    const deadline = Date.now() + 5_000;
    let again: Response;
    for (;;) {
      again = await call(upgrade(id, { key: await ownerKeyOf(id) }));
      if (again.status !== 429 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const ws = await accepted(again);
    ws.close(1000);
    for (const c of clients.slice(1)) c.close();
  });
});

describe("Cloudflare Access in front", () => {
  const TEAM = "parleytest";
  const AUD = "a".repeat(32) + "0123456789abcdef";
  const ISSUER = `https://${TEAM}.cloudflareaccess.com`;

  async function keySet() {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
    return { privateKey, jwks: { keys: [jwk] } };
  }

  async function token(privateKey: CryptoKey, claims: { email?: string; aud?: string; iss?: string; expiresIn?: string | number }) {
    return new SignJWT(claims.email === undefined ? {} : { email: claims.email })
      .setProtectedHeader({ alg: "RS256", kid: "test-key" })
      .setIssuer(claims.iss ?? ISSUER)
      .setAudience(claims.aud ?? AUD)
      .setIssuedAt()
      .setExpirationTime(claims.expiresIn ?? "10m")
      .sign(privateKey);
  }

  async function setup() {
    const ours = await keySet();
    const theirs = await keySet();
    const worker = createWorker({ accessKeys: () => createLocalJWKSet(ours.jwks) });
    const accessEnv = { ...env, ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD };
    const as = async (jwt: string | null, req: Request) => {
      if (jwt) req.headers.set("Cf-Access-Jwt-Assertion", jwt);
      return worker.fetch(req, accessEnv);
    };
    return { ours, theirs, as };
  }

  it("a valid Access token creates a session owned by the user's email, recorded with the session", async () => {
    const { ours, as } = await setup();
    const jwt = await token(ours.privateKey, { email: "ada@example.com" });
    const res = await as(jwt, request("/api/sessions", { method: "POST" }));
    expect(res.status).toBe(201);
    const created = CreatedSession.parse(await res.json());
    expect(created.owner).toBe("ada@example.com");
    const t = await as(jwt, request(`/api/sessions/${created.id}`, { key: created.ownerKey }));
    expect(t.status).toBe(200);
    expect((await t.json<Transcript>()).owner).toBe("ada@example.com");
    const ws = await accepted(await as(jwt, upgrade(created.id, { key: created.ownerKey })));
    ws.close(1000);
  });

  it("another Access user cannot use the owner's key; a review key they were given works", async () => {
    const { ours, as } = await setup();
    const ada = await token(ours.privateKey, { email: "ada@example.com" });
    const bob = await token(ours.privateKey, { email: "bob@example.com" });
    const created = CreatedSession.parse(await (await as(ada, request("/api/sessions", { method: "POST" }))).json());
    await expectError(await as(bob, upgrade(created.id, { key: created.ownerKey })), 403, "bad_key");
    const grant = ReviewKeyGrant.parse(
      await (await as(ada, request(`/api/sessions/${created.id}/review-key`, { method: "POST", key: created.ownerKey }))).json(),
    );
    expect((await as(bob, request(`/api/sessions/${created.id}`, { key: grant.reviewKey }))).status).toBe(200);
  });

  it("missing, wrongly signed, expired, wrong-audience, wrong-issuer and email-less tokens are refused with 403 access_denied", async () => {
    const { ours, theirs, as } = await setup();
    const cases: [string, string | null][] = [
      ["missing", null],
      ["not a JWT", "not-a-jwt"],
      ["signed by another key", await token(theirs.privateKey, { email: "ada@example.com" })],
      ["expired", await token(ours.privateKey, { email: "ada@example.com", expiresIn: Math.floor(Date.now() / 1000) - 120 })],
      ["wrong audience", await token(ours.privateKey, { email: "ada@example.com", aud: "someone-elses-app" })],
      ["wrong issuer", await token(ours.privateKey, { email: "ada@example.com", iss: "https://other.cloudflareaccess.com" })],
      ["no email (a service token)", await token(ours.privateKey, {})],
    ];
    for (const [label, jwt] of cases) {
      const res = await as(jwt, request("/api/sessions", { method: "POST" }));
      expect(res.status, label).toBe(403);
      const body = HttpError.parse(await res.json());
      expect(body.error.code, label).toBe("access_denied");
    }
    const expired = await as(cases[3]![1], request("/api/sessions", { method: "POST" }));
    expect(HttpError.parse(await expired.json()).error.message).toContain("expired");
  });
});

describe("malformed paths get a JSON 400/404, never a 500 or a wrong session", () => {
  const paths: [string, number, HttpErrorCode][] = [
    ["/api/sessions/%", 400, "bad_path"],
    ["/api/sessions/%ZZ", 400, "bad_path"],
    ["/parties/voice-session/%E0%A4%A", 400, "bad_path"],
    ["/parties/constructor/x", 404, "not_found"],
    ["/parties/__proto__/x", 404, "not_found"],
    ["/parties/toString/x", 404, "not_found"],
    ["/parties/hasOwnProperty/x", 404, "not_found"],
    ["/parties/valueOf/x", 404, "not_found"],
    ["/parties/voice-session/a/b/c", 404, "not_found"],
    ["/parties/voice-session", 404, "not_found"],
    ["/api/sessions/aaaaaaaaaaaaaaaaaaaaaaaaaa/other", 404, "not_found"],
    ["/api/nothing", 404, "not_found"],
    ["/api/sessions/a", 400, "bad_session_id"],
    ["/api/sessions/---", 400, "bad_session_id"],
    ["/parties/voice-session/a", 400, "bad_session_id"],
    ["/parties/voice-session/---", 400, "bad_session_id"],
    ["/parties/voice-session/kitchen-42", 400, "bad_session_id"],
    ["/parties/voice-session/AAAAAAAAAAAAAAAAAAAAAAAAAA", 400, "bad_session_id"],
  ];

  it("over plain HTTP", async () => {
    for (const [path, status, code] of paths) {
      const res = await call(request(path));
      expect({ path, status: res.status, code: HttpError.safeParse(await res.json()).data?.error.code }).toEqual({ path, status, code });
    }
  });

  it("as WebSocket upgrades, answered before upgrading", async () => {
    for (const [path, status, code] of paths) {
      const req = request(path, { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "parley" } });
      const res = await call(req);
      expect(res.webSocket ?? null).toBeNull();
      expect({ path, status: res.status, code: HttpError.safeParse(await res.json()).data?.error.code }).toEqual({ path, status, code });
    }
  });
});
