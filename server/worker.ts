// Worker entry: session WebSockets and transcript API go to the VoiceSession Durable Object
// (partyserver routing, /parties/voice-session/<id>); everything else is the static client.
import { routePartykitRequest } from "partyserver";
import { SessionId } from "../shared/protocol.ts";
import { DRAIN_PATH } from "./restart/drain-contract.ts";
import { handleDrainRequest } from "./restart/drain.ts";

export { VoiceSession } from "./voice-session.ts";

function badSessionId(name: string): Response | undefined {
  if (SessionId.safeParse(name).success) return undefined;
  return Response.json(
    { error: { code: "bad_session_id", message: "session ids are 1-40 characters of A-Z, a-z, 0-9 and '-'" } },
    { status: 400 },
  );
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api/health") return Response.json({ ok: true });
    // `npm start` drains the sessions before it stops (only with the secret it generated; absent in production).
    if (url.pathname === DRAIN_PATH) return handleDrainRequest(request, env);
    // GET /api/sessions/<id> -> the session's transcript (messages, per-turn timings, usage, cost).
    const m = /^\/api\/sessions\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      const bad = badSessionId(id);
      if (bad) return bad;
      if (request.method !== "GET") return Response.json({ error: { code: "method_not_allowed" } }, { status: 405 });
      const stub = env.VoiceSession.getByName(id);
      return stub.fetch(new Request(`https://parley/parties/voice-session/${id}`, { headers: { "x-partykit-room": id } }));
    }
    const routed = await routePartykitRequest(request, env, {
      onBeforeConnect: (_req, lobby) => badSessionId(lobby.name),
      onBeforeRequest: (_req, lobby) => badSessionId(lobby.name),
    });
    if (routed) return routed;
    if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/parties/")) {
      return Response.json({ error: { code: "not_found", message: `no route for ${url.pathname}` } }, { status: 404 });
    }
    return env.ASSETS ? env.ASSETS.fetch(request) : new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
