// Draining before the dev server stops. `npm start` (scripts/start.ts) generates a secret per run and
// gives it to the Worker as DRAIN_SECRET; on SIGTERM it POSTs /api/internal/drain with it, and the Worker
// asks every session started in this process to drain (VoiceSession: cut turns in flight as
// `shutdown`, keeping what was heard, then close its sockets with 1001). Without DRAIN_SECRET (in
// production) the route does not exist. The list of sessions lives in this isolate's memory, which
// in the dev server (workerd, one isolate for the Worker and its Durable Objects) sees them all; on
// Cloudflare a deploy restarts Durable Objects without any signal and turn-recovery.ts covers it.
import { loadConfig } from "../config.ts";
import { DRAIN_PATH, DRAIN_SECRET_HEADER, type DrainResponse, type SessionDrainReport } from "./drain-contract.ts";

const started = new Set<string>();

/** A session started in this isolate (recorded only when a drain secret is configured). */
export function sessionStarted(name: string): void {
  started.add(name);
}

/** A session deleted in this isolate: nothing of it is left to drain. */
export function sessionGone(name: string): void {
  started.delete(name);
}

/** The request carries the configured drain secret (compared in constant time). */
export async function isDrainRequest(request: Request, secret: string | undefined): Promise<boolean> {
  const given = request.headers.get(DRAIN_SECRET_HEADER);
  if (!secret || given === null) return false;
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(secret);
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/** POST /api/internal/drain: drain every session this isolate started. */
export async function handleDrainRequest(request: Request, env: Env): Promise<Response> {
  const secret = loadConfig(env as unknown as Record<string, unknown>).restarts.drainSecret;
  if (!secret) return Response.json({ error: { code: "not_found", message: `no route for ${DRAIN_PATH}` } }, { status: 404 });
  if (request.method !== "POST") return Response.json({ error: { code: "method_not_allowed" } }, { status: 405 });
  if (!(await isDrainRequest(request, secret)))
    return Response.json({ error: { code: "forbidden", message: "wrong or missing drain secret" } }, { status: 403 });
  const names = [...started];
  const results = await Promise.allSettled(
    names.map(async (name) => {
      const res = await env.VoiceSession.getByName(name).fetch(
        new Request(`https://parley/parties/voice-session/${name}`, {
          method: "POST",
          headers: { "x-partykit-room": name, [DRAIN_SECRET_HEADER]: secret },
        }),
      );
      if (!res.ok) throw new Error(`session ${name} answered ${res.status}`);
      return res.json<SessionDrainReport>();
    }),
  );
  const sessions = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [{ session: names[i]!, error: String(r.reason) }] : []));
  return Response.json({ sessions, failed } satisfies DrainResponse);
}
