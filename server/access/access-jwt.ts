// Cloudflare Access in front of Parley (optional): every request carries the Access JWT in
// `Cf-Access-Jwt-Assertion`; it is verified with jose against the team's JWKS
// (https://<team>.cloudflareaccess.com/cdn-cgi/access/certs), with its issuer, audience (the Access
// application's AUD tag) and expiry checked. The email in it becomes the owner of sessions created.
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from "jose";

export const ACCESS_JWT_HEADER = "Cf-Access-Jwt-Assertion";

export interface AccessSettings {
  /** https://<team>.cloudflareaccess.com */
  issuer: string;
  /** The Access application's audience (AUD) tag. */
  audience: string;
}

export function certsUrl(settings: AccessSettings): string {
  return `${settings.issuer}/cdn-cgi/access/certs`;
}

const remoteKeySets = new Map<string, JWTVerifyGetKey>();

/** The team's published keys, fetched on first use and cached by jose (refetched on an unknown key id). */
export function remoteAccessKeys(settings: AccessSettings): JWTVerifyGetKey {
  const url = certsUrl(settings);
  let keys = remoteKeySets.get(url);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(url));
    remoteKeySets.set(url, keys);
  }
  return keys;
}

export type AccessIdentity = { ok: true; email: string } | { ok: false; message: string };

export async function verifyAccessJwt(token: string | null, settings: AccessSettings, keys: JWTVerifyGetKey): Promise<AccessIdentity> {
  if (!token) return { ok: false, message: `Cloudflare Access protects this app: the ${ACCESS_JWT_HEADER} header is missing` };
  try {
    const { payload } = await jwtVerify(token, keys, { issuer: settings.issuer, audience: settings.audience, algorithms: ["RS256"] });
    // Service tokens carry no email; sessions need a person to own them.
    if (typeof payload.email !== "string" || payload.email === "") return { ok: false, message: "the Access token names no user email" };
    return { ok: true, email: payload.email };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, message: "the Access token has expired" };
    if (err instanceof errors.JWTClaimValidationFailed)
      return { ok: false, message: `the Access token's ${err.claim} claim is not this app's` };
    if (err instanceof errors.JOSEError) return { ok: false, message: `the Access token is not valid (${err.code})` };
    throw err;
  }
}
