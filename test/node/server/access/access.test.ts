// The pure parts of "who may do what": session ids, key signing and checking, Origin matching,
// routing of paths, and the access settings read from wrangler vars.
import { describe, expect, it } from "vitest";
import { judgeOrigin, normalizeOrigin } from "../../../../server/access/origin.ts";
import { isSessionId, mintSessionId, signKey, verifyKey } from "../../../../server/access/session-keys.ts";
import { ConfigError, loadAccessConfig, loadClientLimits } from "../../../../server/config.ts";
import { decodeGrant, encodeGrant } from "../../../../server/http/session-requests.ts";
import { routeOf } from "../../../../server/http/routes.ts";
import { SessionId, SessionKey } from "../../../../shared/protocol.ts";

const SECRET = "s".repeat(32);

describe("session ids", () => {
  it("are 26 base32 characters carrying 128 random bits, and do not repeat", () => {
    const ids = Array.from({ length: 2000 }, () => mintSessionId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(SessionId.safeParse(id).success && isSessionId(id)).toBe(true);
    // Every base32 symbol shows up in the first 25 characters (5 random bits each); the last carries 3 bits.
    const firsts = new Set(ids.flatMap((id) => id.slice(0, 25).split("")));
    expect(firsts.size).toBe(32);
    const lasts = new Set(ids.map((id) => id[25]));
    expect([...lasts].every((c) => "aeimquy4".includes(c!))).toBe(true);
  });

  it("guessable and hand-made ids are not session ids", () => {
    for (const bad of ["a", "---", "kitchen-42", "A".repeat(26), "a".repeat(25), "a".repeat(27), "a1".repeat(13), "__proto__"])
      expect(isSessionId(bad)).toBe(false);
  });
});

describe("session keys", () => {
  it("an owner key verifies for its session only, and is a well-formed key", async () => {
    const id = mintSessionId();
    const key = await signKey(SECRET, id, { role: "owner" });
    expect(SessionKey.safeParse(key).success).toBe(true);
    expect(key).toMatch(/^o\./);
    expect(await verifyKey(SECRET, id, key)).toEqual({ role: "owner" });
    expect(await verifyKey(SECRET, mintSessionId(), key)).toBeNull();
    expect(await verifyKey("t".repeat(32), id, key)).toBeNull();
  });

  it("a review key carries its version, and changing role or version breaks the MAC", async () => {
    const id = mintSessionId();
    const review = await signKey(SECRET, id, { role: "review", version: 3 });
    expect(review).toMatch(/^r\.3\./);
    expect(await verifyKey(SECRET, id, review)).toEqual({ role: "review", version: 3 });
    const mac = review.split(".")[2]!;
    expect(await verifyKey(SECRET, id, `r.4.${mac}`)).toBeNull();
    expect(await verifyKey(SECRET, id, `o.${mac}`)).toBeNull();
  });

  it("a tampered MAC, a truncated key and garbage are refused", async () => {
    const id = mintSessionId();
    const key = await signKey(SECRET, id, { role: "owner" });
    const flipped = key.slice(0, -2) + (key.at(-2) === "A" ? "B" : "A") + key.at(-1);
    for (const bad of [flipped, key.slice(0, -1), `${key}x`, "", "o.", "r.0." + key.slice(2), "o.!!!"])
      expect(await verifyKey(SECRET, id, bad)).toBeNull();
  });

  it("with Cloudflare Access, the owner key is bound to the owner's email", async () => {
    const id = mintSessionId();
    const key = await signKey(SECRET, id, { role: "owner" }, "ada@example.com");
    expect(await verifyKey(SECRET, id, key, "ada@example.com")).toEqual({ role: "owner" });
    expect(await verifyKey(SECRET, id, key, "bob@example.com")).toBeNull();
    expect(await verifyKey(SECRET, id, key, null)).toBeNull();
  });

  it("the grant the Worker hands the session round-trips, and nothing else decodes", () => {
    expect(decodeGrant(encodeGrant({ role: "owner" }))).toEqual({ role: "owner" });
    expect(decodeGrant(encodeGrant({ role: "review", version: 12 }))).toEqual({ role: "review", version: 12 });
    expect(decodeGrant(encodeGrant({ role: "operator" }))).toEqual({ role: "operator" });
    for (const bad of [null, "", "Owner", "review:0", "review:x", "owner ", "operator:1", "Operator"]) expect(decodeGrant(bad)).toBeNull();
  });
});

describe("Origin", () => {
  const url = new URL("https://parley.example/api/sessions");

  it("the app's own origin and listed origins pass; others, look-alikes and the opaque origin do not", () => {
    expect(judgeOrigin("https://parley.example", url, [])).toBe("same-origin");
    expect(judgeOrigin(null, url, [])).toBe("no-origin");
    expect(judgeOrigin("https://app.example", url, ["https://app.example"])).toBe("allowed");
    expect(judgeOrigin("https://evil.example", url, ["https://app.example"])).toBe("forbidden");
    expect(judgeOrigin("http://parley.example", url, [])).toBe("forbidden");
    expect(judgeOrigin("https://parley.example.evil.example", url, [])).toBe("forbidden");
    expect(judgeOrigin("https://parley.example:8443", url, [])).toBe("forbidden");
    expect(judgeOrigin("null", url, ["null"])).toBe("forbidden");
  });

  it("ALLOWED_ORIGINS entries must be bare origins", () => {
    expect(normalizeOrigin("https://App.Example")).toBe("https://app.example");
    expect(normalizeOrigin("http://localhost:3000/")).toBe("http://localhost:3000");
    for (const bad of ["app.example", "https://app.example/path", "ftp://app.example", "*", "https://user@app.example"])
      expect(normalizeOrigin(bad)).toBeNull();
  });
});

describe("routes", () => {
  const id = mintSessionId();

  it("routes the API and the one party by path", () => {
    expect(routeOf("/")).toEqual({ kind: "static" });
    expect(routeOf("/s/abc")).toEqual({ kind: "static" });
    expect(routeOf("/api/health")).toEqual({ kind: "health" });
    expect(routeOf("/api/sessions")).toEqual({ kind: "create-session" });
    expect(routeOf(`/api/sessions/${id}`)).toEqual({ kind: "transcript", id });
    expect(routeOf(`/api/sessions/${id}/export`)).toEqual({ kind: "export", id });
    expect(routeOf(`/api/sessions/${id}/review-key`)).toEqual({ kind: "review-key", id, rotate: false });
    expect(routeOf(`/api/sessions/${id}/review-key/rotate`)).toEqual({ kind: "review-key", id, rotate: true });
    expect(routeOf(`/parties/voice-session/${id}`)).toEqual({ kind: "connect", id });
  });

  it("undecodable paths, unknown parties (Object.prototype names too), extra segments and bad ids are refused", () => {
    const refusal = (path: string) => {
      const r = routeOf(path);
      return r.kind === "refused" ? [r.status, r.code] : r.kind;
    };
    expect(refusal("/api/sessions/%")).toEqual([400, "bad_path"]);
    expect(refusal("/api/sessions/%ZZ")).toEqual([400, "bad_path"]);
    for (const party of ["constructor", "__proto__", "toString", "hasOwnProperty", "VoiceSession", "main"])
      expect(refusal(`/parties/${party}/${id}`)).toEqual([404, "not_found"]);
    expect(refusal("/parties/voice-session/a/b/c")).toEqual([404, "not_found"]);
    expect(refusal(`/parties/voice-session/${id}/x`)).toEqual([404, "not_found"]);
    expect(refusal(`/api/sessions/${id}/review-key/x`)).toEqual([404, "not_found"]);
    expect(refusal(`/api/sessions/${id}/export/json`)).toEqual([404, "not_found"]);
    expect(refusal("/parties/voice-session/a")).toEqual([400, "bad_session_id"]);
    expect(refusal("/api/sessions/---")).toEqual([400, "bad_session_id"]);
    // An encoded slash does not sneak in a second segment.
    expect(refusal(`/parties/voice-session/${id}%2Fx`)).toEqual([400, "bad_session_id"]);
  });
});

describe("access settings from wrangler vars", () => {
  it("no secret means sessions are refused (null), not a default", () => {
    expect(loadAccessConfig({})).toEqual({ sessionSecret: null, allowedOrigins: [], cloudflareAccess: null });
    expect(() => loadAccessConfig({ SESSION_SECRET: "short" })).toThrow(/SESSION_SECRET/);
  });

  it("reads ALLOWED_ORIGINS and Cloudflare Access, naming the bad variable", () => {
    const c = loadAccessConfig({
      SESSION_SECRET: SECRET,
      ALLOWED_ORIGINS: "https://a.example, http://localhost:3000",
      ACCESS_TEAM_DOMAIN: "MyTeam.cloudflareaccess.com",
      ACCESS_AUD: "0123456789abcdef0123",
    });
    expect(c.allowedOrigins).toEqual(["https://a.example", "http://localhost:3000"]);
    expect(c.cloudflareAccess).toEqual({ issuer: "https://myteam.cloudflareaccess.com", audience: "0123456789abcdef0123" });
    expect(() => loadAccessConfig({ ALLOWED_ORIGINS: "https://a.example/app" })).toThrow(ConfigError);
    expect(() => loadAccessConfig({ ACCESS_TEAM_DOMAIN: "myteam" })).toThrow(/both ACCESS_TEAM_DOMAIN and ACCESS_AUD/);
    expect(() => loadAccessConfig({ ACCESS_TEAM_DOMAIN: "my team", ACCESS_AUD: "0123456789abcdef0123" })).toThrow(/ACCESS_TEAM_DOMAIN/);
  });

  it("the connection cap defaults to 8 and is bounded", () => {
    expect(loadClientLimits({}).connectionsPerSession).toBe(8);
    expect(loadClientLimits({ MAX_CONNECTIONS_PER_SESSION: "2" }).connectionsPerSession).toBe(2);
    expect(() => loadClientLimits({ MAX_CONNECTIONS_PER_SESSION: "0" })).toThrow(/MAX_CONNECTIONS_PER_SESSION/);
  });
});
