// The local-ai Worker: Parley's offline stand-in for the Workers AI binding. In `vite dev` the
// server's `AI` binding is a service binding to this entrypoint, so server code keeps calling
// `env.AI.run(model, inputs, options)` (JS RPC). workerd cannot spawn processes, so every call is
// forwarded over HTTP to the Node engine server (engine-server.ts), which runs the real engines.
//
// Return values follow the real binding: a JSON answer comes back as an object, anything else
// (SSE text, audio) as a ReadableStream; failures throw an Error whose message is "<code>: <text>".
// options: `tags` are forwarded for the engine server's log, `returnRawResponse` returns the
// Response as the real binding does, `websocket: true` opens a live model (below); everything else
// is ignored (an AbortSignal cannot cross RPC, so the server does not send one).
//
// Live models (`@cf/deepgram/nova-3` with `{ websocket: true }`): the real binding answers with a
// WebSocket, which cannot cross JS RPC. The stand-in opens a real WebSocket to the engine server's
// /live endpoint (inputs as the query, tags in a header) and answers with an RpcTarget, LiveSocket,
// implementing server/models/model-socket.ts's RpcModelSocket: listen(onMessage, onClose), send,
// close. Both directions are bridged in order; the engine's close (or a socket error) calls onClose
// once.
import { RpcTarget, WorkerEntrypoint } from "cloudflare:workers";

interface Env {
  /** Base URL of the engine server, e.g. http://127.0.0.1:8790 (set by vite.config.ts from LOCAL_AI_PORT). */
  LOCAL_AI_URL?: string;
}

interface RunOptions {
  tags?: string[];
  returnRawResponse?: boolean;
  websocket?: boolean;
  [key: string]: unknown;
}

/** Models the stand-in opens with `{ websocket: true }`. */
const LIVE_MODELS = ["@cf/deepgram/nova-3"];

type OnMessage = (data: string | Uint8Array) => unknown;
type OnClose = (code: number, reason: string) => unknown;

/** Keep an RPC callback beyond the call that passed it (stubs given as arguments are released when it returns). */
function keep<T extends object>(fn: T): T {
  const dup = (fn as { dup?: () => T }).dup;
  return typeof dup === "function" ? dup.call(fn) : fn;
}

function release(fn: object | undefined) {
  const dispose = (fn as { [Symbol.dispose]?: () => void } | undefined)?.[Symbol.dispose];
  if (typeof dispose === "function") {
    try {
      dispose.call(fn);
    } catch {
      // already released
    }
  }
}

/**
 * The RpcModelSocket the stand-in returns for a live model: a WebSocket to the engine server,
 * bridged both ways. Messages that arrive before listen() are kept and delivered first, in order.
 */
export class LiveSocket extends RpcTarget {
  #ws: WebSocket;
  #onMessage: OnMessage | undefined;
  #onClose: OnClose | undefined;
  #early: (string | Uint8Array)[] = [];
  #closed: { code: number; reason: string } | undefined;
  #reported = false;

  /** Everything from the engine goes through this chain, so a Blob being read cannot be overtaken. */
  #pending: Promise<void> = Promise.resolve();

  constructor(ws: WebSocket) {
    super();
    this.#ws = ws;
    // Recent compatibility dates default to the standard "blob"; ask for bytes (Blobs are still handled).
    (ws as { binaryType?: string }).binaryType = "arraybuffer";
    ws.addEventListener("message", (e: MessageEvent) => {
      const data: unknown = e.data;
      if (data instanceof Blob) {
        const bytes = data.arrayBuffer();
        this.#inOrder(async () => this.#received(new Uint8Array(await bytes)));
      } else {
        this.#inOrder(() => this.#received(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer)));
      }
    });
    ws.addEventListener("close", (e: CloseEvent) => this.#inOrder(() => this.#ended(e.code, e.reason)));
    ws.addEventListener("error", () => this.#inOrder(() => this.#ended(1006, "engine server socket error")));
  }

  #inOrder(step: () => void | Promise<void>) {
    this.#pending = this.#pending.then(step).catch(() => {});
  }

  #received(data: string | Uint8Array) {
    if (this.#onMessage) this.#deliver(data);
    else if (!this.#closed) this.#early.push(data);
  }

  listen(onMessage: OnMessage, onClose: OnClose): void {
    if (this.#onMessage) throw new Error("listen() was called already on this socket");
    this.#onMessage = keep(onMessage);
    this.#onClose = keep(onClose);
    for (const data of this.#early.splice(0)) this.#deliver(data);
    if (this.#closed) this.#report();
  }

  send(data: Uint8Array | string): void {
    if (this.#closed) return;
    try {
      this.#ws.send(data);
    } catch {
      this.#ended(1006, "send to the engine server failed");
    }
  }

  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    this.#closed = { code, reason };
    this.#reported = true; // the caller closed it: nothing to report back
    try {
      this.#ws.close(code, reason);
    } catch {
      // already closing
    }
    this.#releaseCallbacks();
  }

  /** The caller dropped its stub without closing: close the engine socket too. */
  [Symbol.dispose](): void {
    this.close(1000, "released");
  }

  #deliver(data: string | Uint8Array) {
    const onMessage = this.#onMessage;
    if (!onMessage || this.#reported) return;
    try {
      // Not awaited: calls on one stub arrive in the order they are made. A listener that throws
      // keeps the socket (if the caller is gone, its stub of this socket is released: see dispose).
      void Promise.resolve(onMessage(data)).catch(() => {});
    } catch {
      // as above
    }
  }

  #ended(code: number, reason: string) {
    if (this.#closed) return;
    this.#closed = { code, reason };
    if (this.#onClose) this.#report();
  }

  #report() {
    if (this.#reported || !this.#closed) return;
    this.#reported = true;
    const { code, reason } = this.#closed;
    try {
      void Promise.resolve(this.#onClose?.(code, reason)).catch(() => {});
    } catch {
      // the listener is gone
    }
    this.#releaseCallbacks();
  }

  #releaseCallbacks() {
    release(this.#onMessage);
    release(this.#onClose);
    this.#onMessage = undefined;
    this.#onClose = undefined;
    this.#early = [];
  }
}

/** The model's inputs as the /live query: every value a string, arrays repeated (e.g. keyterm). */
function liveQuery(model: string, inputs: unknown): URLSearchParams {
  const q = new URLSearchParams({ model });
  if (inputs === undefined || inputs === null) return q;
  if (typeof inputs !== "object" || Array.isArray(inputs))
    throw upstreamError(`8001: Invalid input for ${model}: inputs must be an object of options`);
  for (const [key, value] of Object.entries(inputs as Record<string, unknown>)) {
    if (key === "model" || value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
        throw upstreamError(`8001: Invalid input for ${model}: ${key} must be a string, number or boolean (or a list of them)`);
      }
      q.append(key, String(v));
    }
  }
  return q;
}

function upstreamError(message: string): Error {
  const err = new Error(message);
  err.name = "InferenceUpstreamError";
  return err;
}

function unreachable(base: string, e: unknown): Error {
  return upstreamError(
    `3043: The local AI engine server at ${base} is not reachable (${(e as Error).message}). ` +
      "Start Parley with `npm start`, or run `npx node local-ai/engine-server.ts` next to `vite dev`.",
  );
}

export default class LocalAi extends WorkerEntrypoint<Env> {
  async run(model: string, inputs: unknown, options?: RunOptions): Promise<unknown> {
    const base = (this.env.LOCAL_AI_URL || "http://127.0.0.1:8790").replace(/\/+$/, "");
    if (options?.websocket) return this.#openLive(base, model, inputs, options);
    let res: Response;
    try {
      res = await fetch(`${base}/run`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, inputs, options: { tags: options?.tags } }),
      });
    } catch (e) {
      throw unreachable(base, e);
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

  async #openLive(base: string, model: string, inputs: unknown, options: RunOptions): Promise<LiveSocket> {
    if (!LIVE_MODELS.includes(model)) {
      throw upstreamError(
        `5007: ${model} cannot be opened with { websocket: true } in the offline stand-in; live (WebSocket) models it supports: ${LIVE_MODELS.join(", ")}`,
      );
    }
    const query = liveQuery(model, inputs);
    const tags = Array.isArray(options.tags) ? options.tags.filter((t): t is string => typeof t === "string") : [];
    let res: Response;
    try {
      res = await fetch(`${base}/live?${query}`, {
        headers: { Upgrade: "websocket", ...(tags.length ? { "x-parley-tags": tags.join(",") } : {}) },
      });
    } catch (e) {
      throw unreachable(base, e);
    }
    const ws = res.webSocket;
    if (res.status !== 101 || !ws) {
      let message: string | undefined;
      try {
        message = ((await res.json()) as { error?: string }).error;
      } catch {
        // not JSON
      }
      throw upstreamError(
        message ?? `3043: the local AI engine server refused the live socket (HTTP ${res.status}); is it an older version?`,
      );
    }
    ws.accept();
    return new LiveSocket(ws);
  }

  override async fetch(): Promise<Response> {
    return new Response("local-ai: Parley's offline Workers AI stand-in. Call it through the AI service binding (RPC run()).\n", {
      status: 404,
    });
  }
}
