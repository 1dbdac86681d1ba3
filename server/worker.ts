// Worker entry: who may do what, before anything reaches a Durable Object. Routes (server/http/routes.ts):
//   POST /api/sessions                          mint a session: { id, ownerKey, owner, ownerToken }
//   GET  /api/conversations[.csv]               list / search the review index (owner token, Access user or operator key)
//   GET  /api/sessions/<id>                     its transcript (owner, review or operator key)
//   GET  /api/sessions/<id>/export?format=…     a download: json, md, vtt or srt (owner, review or operator key)
//   GET  /api/sessions/<id>/recordings/<turnId>/user|reply  a turn's recording, byte ranges too (owner, review or operator key)
//   DELETE /api/sessions/<id>                   delete it for good (owner key); afterwards every route answers 404
//   POST /api/sessions/<id>/review-key[/rotate] a read-only key for share links (owner key); rotate revokes older ones
//   GET  /parties/voice-session/<id>            the live WebSocket (owner key, as a subprotocol)
//   POST /phone/voice, GET /phone/stream/<id>   phone calls: Twilio's signature, then a stream token (server/phone/)
// Keys go in `Authorization: Bearer <key>` (HTTP) or the `parley-key.<key>` subprotocol (WebSocket),
// never in a URL. Every request is checked for its Origin, Cloudflare Access (when configured) and
// the per-address rate limits. Everything else is the static client.
import type { JWTVerifyGetKey } from "jose";
import {
  KEY_AUTH_SCHEME,
  KEY_SUBPROTOCOL_PREFIX,
  SESSION_SUBPROTOCOL,
  type CreatedSession,
  type OperatorHealth,
  type ReviewKeyGrant,
} from "../shared/protocol.ts";
import { ACCESS_JWT_HEADER, remoteAccessKeys, verifyAccessJwt, type AccessSettings } from "./access/access-jwt.ts";
import { judgeOrigin } from "./access/origin.ts";
import { isOperatorKey, mintSessionId, signKey, signOwnerToken, verifyKey, verifyOwnerToken } from "./access/session-keys.ts";
import { DAILY_BUDGET_NAME } from "./budget/daily-budget.ts";
import {
  ConfigError,
  loadAccessConfig,
  loadConfig,
  loadPhoneConfig,
  type AccessOptions,
  type ParleyConfig,
  type PhoneOptions,
} from "./config.ts";
import { conversationsRequest } from "./http/conversations.ts";
import { PARTY, routeOf, type Route } from "./http/routes.ts";
import {
  GRANT_HEADER,
  INTERNAL_PATHS,
  OWNER_EMAIL_HEADER,
  OWNER_ID_HEADER,
  badExportFormat,
  encodeGrant,
  jsonError,
  type SessionGrant,
} from "./http/session-requests.ts";
import { DRAIN_PATH } from "./restart/drain-contract.ts";
import { handleDrainRequest } from "./restart/drain.ts";
import { PHONE_STREAM_HEADER, answerVoiceWebhook } from "./phone/phone-requests.ts";

export { VoiceSession } from "./voice-session.ts";
export { DailyBudget } from "./budget/daily-budget.ts";

export interface WorkerDeps {
  /** Where Cloudflare Access's signing keys come from: the team's JWKS in production, a local key set in tests. */
  accessKeys(settings: AccessSettings): JWTVerifyGetKey;
}

type SessionRoute = Extract<Route, { kind: "transcript" | "export" | "review-key" | "recording" | "connect" }>;

/** Requests are counted per client address; Cloudflare always sets CF-Connecting-IP (and miniflare in local dev). */
function clientAddress(request: Request): string {
  return request.headers.get("CF-Connecting-IP") ?? "unknown";
}

function isUpgrade(request: Request): boolean {
  return request.headers.get("Upgrade")?.toLowerCase() === "websocket";
}

function offeredProtocols(request: Request): string[] {
  return (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

function presentedKey(request: Request): string | null {
  if (isUpgrade(request)) {
    const offered = offeredProtocols(request).find((p) => p.startsWith(KEY_SUBPROTOCOL_PREFIX));
    return offered ? offered.slice(KEY_SUBPROTOCOL_PREFIX.length) : null;
  }
  const m = new RegExp(`^${KEY_AUTH_SCHEME} (\\S+)$`).exec(request.headers.get("Authorization") ?? "");
  return m ? m[1]! : null;
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": "GET, POST, DELETE",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Range",
    // An export's file name and a recording's range, for pages of other allowed origins that download them.
    "Access-Control-Expose-Headers": "Content-Disposition, Content-Range, Accept-Ranges",
    "Access-Control-Max-Age": "600",
    Vary: "Origin",
  };
}

/** A request of the Worker's own to the session, carrying the grant it checked (nothing of the client's but what is needed). */
function sessionRequest(
  env: Env,
  id: string,
  path: string,
  init: { method: string; grant: SessionGrant; headers?: Headers; search?: string },
): Promise<Response> {
  const headers = init.headers ?? new Headers();
  headers.set("x-partykit-room", id);
  headers.set(GRANT_HEADER, encodeGrant(init.grant));
  return env.VoiceSession.getByName(id).fetch(new Request(`https://parley${path}${init.search ?? ""}`, { method: init.method, headers }));
}

/** The client's upgrade headers, less anything that would speak for the Worker or carry the key further. */
function upgradeHeaders(request: Request): Headers {
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    const n = name.toLowerCase();
    if (n.startsWith("x-parley-") || n.startsWith("x-partykit-") || n === "sec-websocket-protocol" || n === "authorization") continue;
    headers.set(name, value);
  }
  return headers;
}

async function createSession(request: Request, env: Env, secret: string, email: string | null): Promise<Response> {
  if (request.method !== "POST") return jsonError(405, "method_not_allowed", "create a session with POST /api/sessions");
  if (!(await env.SESSION_CREATE_LIMITER.limit({ key: clientAddress(request) })).success) {
    return jsonError(429, "rate_limited", "too many new sessions from your address; try again in a minute", { "Retry-After": "60" });
  }
  // Without Access, the owner is whoever holds the owner token: the one presented, or a new one.
  let ownerToken: string | null = null;
  let ownerId: string | null = null;
  if (!email) {
    const presented = presentedKey(request);
    ownerId = presented ? await verifyOwnerToken(secret, presented) : null;
    if (presented && !ownerId)
      return jsonError(
        403,
        "bad_owner_token",
        "that owner token was not issued by this server; create the session without it to get a new one",
      );
    ownerToken = presented ?? (await signOwnerToken(secret));
    ownerId ??= ownerToken.split(".")[1]!;
  }
  const id = mintSessionId();
  const ownerKey = await signKey(secret, id, { role: "owner" }, email);
  const headers = new Headers(email ? { [OWNER_EMAIL_HEADER]: email } : { [OWNER_ID_HEADER]: ownerId! });
  const recorded = await sessionRequest(env, id, INTERNAL_PATHS.recordOwner, { method: "POST", grant: { role: "owner" }, headers });
  if (!recorded.ok) throw new Error(`recording the owner of ${id} failed: ${recorded.status}`);
  const body: CreatedSession = { id, ownerKey, owner: email, ownerToken };
  return Response.json(body, { status: 201 });
}

async function sessionRoute(route: SessionRoute, request: Request, env: Env, secret: string, email: string | null): Promise<Response> {
  const url = new URL(request.url);
  if (route.kind === "connect" && !isUpgrade(request))
    return jsonError(426, "upgrade_required", `/parties/${PARTY}/<id> is the session's WebSocket; the transcript is at /api/sessions/<id>`);
  if (route.kind === "transcript" && request.method !== "GET" && request.method !== "DELETE")
    return jsonError(405, "method_not_allowed", "the transcript is read with GET (and the session deleted with DELETE)");
  if (route.kind === "export") {
    if (request.method !== "GET") return jsonError(405, "method_not_allowed", "exports are read with GET");
    const bad = badExportFormat(url.searchParams.get("format"));
    if (bad) return bad;
  }
  if (route.kind === "recording" && request.method !== "GET") return jsonError(405, "method_not_allowed", "recordings are read with GET");
  if (route.kind === "review-key" && request.method !== "POST")
    return jsonError(405, "method_not_allowed", "review keys are issued with POST");
  // Counted before the key is checked: guessing keys costs attempts too.
  if (!(await env.SESSION_CONNECT_LIMITER.limit({ key: clientAddress(request) })).success) {
    return jsonError(429, "rate_limited", "too many connection attempts from your address; try again in a minute", { "Retry-After": "60" });
  }
  const key = presentedKey(request);
  if (!key) {
    const how =
      route.kind === "connect"
        ? `a "${KEY_SUBPROTOCOL_PREFIX}<key>" WebSocket subprotocol`
        : `an "Authorization: ${KEY_AUTH_SCHEME} <key>" header`;
    return jsonError(401, "key_required", `this session needs its key, in ${how}`);
  }
  // The operator reads any session (phone calls have no owner to share them): read-only, like a review key.
  const grant: SessionGrant | null =
    (await verifyKey(secret, route.id, key, email)) ?? ((await isOperatorKey(secret, key)) ? { role: "operator" } : null);
  if (!grant) return jsonError(403, "bad_key", "that key does not open this session");

  if (route.kind === "transcript" && request.method === "GET")
    return sessionRequest(env, route.id, INTERNAL_PATHS.transcript, { method: "GET", grant });
  if (route.kind === "export")
    return sessionRequest(env, route.id, INTERNAL_PATHS.export, {
      method: "GET",
      grant,
      search: `?format=${url.searchParams.get("format")}`,
    });
  if (route.kind === "recording") {
    // The session checks the review version (a revoked share link) and answers from R2.
    const range = request.headers.get("Range");
    const search = `?${new URLSearchParams({ turn: route.turnId, kind: route.recording }).toString()}`;
    return sessionRequest(env, route.id, INTERNAL_PATHS.recording, {
      method: "GET",
      grant,
      search,
      ...(range ? { headers: new Headers({ Range: range }) } : {}),
    });
  }
  if (grant.role !== "owner") {
    const reader = grant.role === "operator" ? "the operator key" : "a review link";
    const why =
      route.kind === "connect"
        ? `${reader} can read the transcript but not join the live session`
        : route.kind === "transcript"
          ? "only the session's owner can delete it"
          : "only the session's owner can share it";
    return jsonError(403, "read_only", why);
  }
  if (route.kind === "transcript") return sessionRequest(env, route.id, INTERNAL_PATHS.deleteSession, { method: "DELETE", grant });
  if (route.kind === "review-key") {
    const path = route.rotate ? INTERNAL_PATHS.rotateReviewVersion : INTERNAL_PATHS.reviewVersion;
    const res = await sessionRequest(env, route.id, path, { method: route.rotate ? "POST" : "GET", grant });
    if (!res.ok) return res;
    const { version } = await res.json<{ version: number }>();
    const body: ReviewKeyGrant = { id: route.id, reviewKey: await signKey(secret, route.id, { role: "review", version }), version };
    return Response.json(body);
  }
  const res = await sessionRequest(env, route.id, `/parties/${PARTY}/${route.id}`, {
    method: "GET",
    grant,
    headers: upgradeHeaders(request),
    search: url.search,
  });
  if (res.status !== 101 || !res.webSocket) return res;
  // Browsers fail the handshake unless the server picks one of the offered subprotocols: never the key.
  const picked = offeredProtocols(request).includes(SESSION_SUBPROTOCOL) ? { "Sec-WebSocket-Protocol": SESSION_SUBPROTOCOL } : undefined;
  return new Response(null, { status: 101, webSocket: res.webSocket, ...(picked ? { headers: picked } : {}) });
}

async function handle(request: Request, env: Env, deps: WorkerDeps): Promise<Response> {
  const url = new URL(request.url);
  // `npm start` drains the sessions before it stops (only with the secret it generated; absent in production).
  if (url.pathname === DRAIN_PATH) return handleDrainRequest(request, env);
  const route = routeOf(url.pathname);
  if (route.kind === "static") return env.ASSETS ? env.ASSETS.fetch(request) : new Response("Not found", { status: 404 });
  if (route.kind === "refused") return jsonError(route.status, route.code, route.message);
  // Public health is a bare "ok"; the spending figures are the operator's (a key derived from SESSION_SECRET).
  if (route.kind === "health" && !request.headers.has("Authorization")) return Response.json({ ok: true });

  let config: AccessOptions;
  try {
    config = loadAccessConfig(env as unknown as Record<string, unknown>);
  } catch (err) {
    if (err instanceof ConfigError) return jsonError(503, "server_misconfigured", err.message);
    throw err;
  }
  const secret = config.sessionSecret;
  if (!secret)
    return jsonError(
      503,
      "server_misconfigured",
      "SESSION_SECRET is not set: run `wrangler secret put SESSION_SECRET` (see README, Security and limits)",
    );
  if (route.kind === "health") return operatorHealth(request, env, secret);
  // Server to server (Twilio): no Origin, no Access; its signature and the stream token instead.
  if (route.kind === "phone-voice" || route.kind === "phone-stream") return phoneRoute(route, request, env, secret);

  const origin = request.headers.get("Origin");
  const verdict = judgeOrigin(origin, url, config.allowedOrigins);
  if (verdict === "forbidden")
    return jsonError(403, "origin_forbidden", `pages of ${origin!.slice(0, 100)} may not use this server (ALLOWED_ORIGINS)`);
  const cors = verdict === "allowed" ? corsHeaders(origin!) : null;
  if (request.method === "OPTIONS") return new Response(null, { status: cors ? 204 : 405, ...(cors ? { headers: cors } : {}) });

  let email: string | null = null;
  if (config.cloudflareAccess) {
    const who = await verifyAccessJwt(
      request.headers.get(ACCESS_JWT_HEADER),
      config.cloudflareAccess,
      deps.accessKeys(config.cloudflareAccess),
    );
    if (!who.ok) return jsonError(403, "access_denied", who.message);
    email = who.email;
  }

  const response =
    route.kind === "create-session"
      ? await createSession(request, env, secret, email)
      : route.kind === "conversations"
        ? await listRoute(request, env, secret, email, route.csv)
        : await sessionRoute(route, request, env, secret, email);
  if (!cors || response.status === 101) return response;
  const withCors = new Response(response.body, response);
  for (const [name, value] of Object.entries(cors)) withCors.headers.set(name, value);
  return withCors;
}

/** Twilio's voice webhook, and its Media Stream handed to the session (which checks the stream's token). */
async function phoneRoute(
  route: Extract<Route, { kind: "phone-voice" | "phone-stream" }>,
  request: Request,
  env: Env,
  secret: string,
): Promise<Response> {
  let phone: PhoneOptions;
  try {
    phone = loadPhoneConfig(env as unknown as Record<string, unknown>);
  } catch (err) {
    if (err instanceof ConfigError) return jsonError(503, "server_misconfigured", err.message);
    throw err;
  }
  const authToken = phone.authToken;
  if (!authToken) return jsonError(404, "not_found", "phone calls are not set up here (TWILIO_AUTH_TOKEN; README, Phone calls)");
  if (route.kind === "phone-voice") return answerVoiceWebhook(request, secret, { ...phone, authToken }, Date.now());
  if (!isUpgrade(request)) return jsonError(426, "upgrade_required", "/phone/stream/<id> is a Twilio Media Stream (WebSocket)");
  // Counted like any upgrade, but apart from the browsers' budget of the same address.
  if (!(await env.SESSION_CONNECT_LIMITER.limit({ key: `phone:${clientAddress(request)}` })).success) {
    return jsonError(429, "rate_limited", "too many phone streams from your address; try again in a minute", { "Retry-After": "60" });
  }
  const headers = upgradeHeaders(request);
  headers.set("x-partykit-room", route.id);
  headers.set(PHONE_STREAM_HEADER, "1");
  return env.VoiceSession.getByName(route.id).fetch(new Request(`https://parley/parties/${PARTY}/${route.id}`, { method: "GET", headers }));
}

/** The review index's list and CSV: counted against the per-address limit of session API calls. */
async function listRoute(request: Request, env: Env, secret: string, email: string | null, csv: boolean): Promise<Response> {
  if (!(await env.SESSION_CONNECT_LIMITER.limit({ key: clientAddress(request) })).success) {
    return jsonError(429, "rate_limited", "too many requests from your address; try again in a minute", { "Retry-After": "60" });
  }
  return conversationsRequest(request, env, csv, secret, presentedKey(request), email);
}

/** /api/health for the operator: the day's Workers AI spending across all sessions, and the budgets. */
async function operatorHealth(request: Request, env: Env, secret: string): Promise<Response> {
  if (!(await env.SESSION_CONNECT_LIMITER.limit({ key: clientAddress(request) })).success) {
    return jsonError(429, "rate_limited", "too many attempts from your address; try again in a minute", { "Retry-After": "60" });
  }
  const key = presentedKey(request);
  if (!key || !(await isOperatorKey(secret, key)))
    return jsonError(403, "bad_key", "that is not the operator key (`npm run operator-key`)");
  let budgets: ParleyConfig["budgets"];
  try {
    budgets = loadConfig(env as unknown as Record<string, unknown>).budgets;
  } catch (err) {
    if (err instanceof ConfigError) return jsonError(503, "server_misconfigured", err.message);
    throw err;
  }
  const daily = await env.DailyBudget.getByName(DAILY_BUDGET_NAME).status(budgets.dailyNeurons);
  const body: OperatorHealth = { ok: true, budget: { daily, sessionUsd: budgets.sessionUsd > 0 ? budgets.sessionUsd : null } };
  return Response.json(body);
}

/** The Worker, with where Access keys come from injectable (tests verify against a local key set). */
export function createWorker(deps: WorkerDeps = { accessKeys: remoteAccessKeys }) {
  return {
    fetch: (request: Request, env: Env) => handle(request, env, deps),
  } satisfies ExportedHandler<Env>;
}

export default createWorker();
