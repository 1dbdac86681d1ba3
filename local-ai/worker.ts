// The local-ai Worker: Parley's offline stand-in for the Workers AI binding. In `vite dev` the
// server's `AI` binding is a service binding to this entrypoint, so server code keeps calling
// `env.AI.run(model, inputs, options)` (JS RPC). workerd cannot spawn processes, so every call is
// forwarded over HTTP to the Node engine server (engine-server.ts), which runs the real engines.
//
// Return values follow the real binding: a JSON answer comes back as an object, anything else
// (SSE text, audio) as a ReadableStream; failures throw an Error whose message is "<code>: <text>".
// options: `tags` are forwarded for the engine server's log, `returnRawResponse` returns the
// Response as the real binding does; everything else is ignored (an AbortSignal cannot cross RPC,
// so the server does not send one).
import { WorkerEntrypoint } from "cloudflare:workers";

interface Env {
  /** Base URL of the engine server, e.g. http://127.0.0.1:8790 (set by vite.config.ts from LOCAL_AI_PORT). */
  LOCAL_AI_URL?: string;
}

interface RunOptions {
  tags?: string[];
  returnRawResponse?: boolean;
  [key: string]: unknown;
}

function upstreamError(message: string): Error {
  const err = new Error(message);
  err.name = "InferenceUpstreamError";
  return err;
}

export default class LocalAi extends WorkerEntrypoint<Env> {
  async run(model: string, inputs: unknown, options?: RunOptions): Promise<unknown> {
    const base = (this.env.LOCAL_AI_URL || "http://127.0.0.1:8790").replace(/\/+$/, "");
    let res: Response;
    try {
      res = await fetch(`${base}/run`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, inputs, options: { tags: options?.tags } }),
      });
    } catch (e) {
      throw upstreamError(
        `3043: The local AI engine server at ${base} is not reachable (${(e as Error).message}). ` +
          "Start Parley with `npm start`, or run `npx node local-ai/engine-server.ts` next to `vite dev`.",
      );
    }
    if (options?.returnRawResponse) return res;
    if (!res.ok) {
      let message: string | undefined;
      try {
        message = ((await res.json()) as { error?: string }).error;
      } catch {
        // not JSON
      }
      throw upstreamError(message ?? `3043: the local AI engine server answered HTTP ${res.status}`);
    }
    if ((res.headers.get("content-type") ?? "").includes("application/json")) return res.json();
    return res.body;
  }

  override async fetch(): Promise<Response> {
    return new Response("local-ai: Parley's offline Workers AI stand-in. Call it through the AI service binding (RPC run()).\n", {
      status: 404,
    });
  }
}
