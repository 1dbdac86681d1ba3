import { Server, routePartykitRequest } from "partyserver";
export class VoiceSession extends Server<Env> {}
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api/exp") {
      const ac = new AbortController();
      try {
        const out = await env.AI.run("@cf/meta/llama-3.2-3b-instruct" as any, { prompt: "hi", stream: true } as any, { signal: ac.signal, tags: ["a"] } as any);
        return Response.json({ ok: true, type: Object.prototype.toString.call(out) });
      } catch (e) { return Response.json({ ok: false, e: String(e) }); }
    }
    return (await routePartykitRequest(request, env as any)) ?? new Response("nf", { status: 404 });
  },
};
interface Env { AI: Ai; VoiceSession: DurableObjectNamespace }
