// Node-side engine server of the offline stand-in for Workers AI. workerd cannot spawn processes,
// so the local-ai Worker (worker.ts) forwards every `env.AI.run(model, inputs)` here over HTTP:
//
//   POST /run     {"model": "...", "inputs": {...}}  ->  200 JSON | 200 byte/SSE stream | 4xx/5xx {"error": "<code>: <msg>"}
//   GET  /live?model=@cf/deepgram/nova-3&<inputs>  (WebSocket upgrade) live transcription, Deepgram's
//                 live protocol with PocketSphinx decoding as the audio arrives (live-transcription.ts);
//                 what `run(model, inputs, { websocket: true })` opens. 429 {"error": "3040: ..."} when full.
//   GET  /health  engines, their state and labels (used by scripts/start.ts and the vite plugin)
//
// Run: `node local-ai/engine-server.ts` (Node 24). Environment:
//   LOCAL_AI_PORT (8790)  LOCAL_AI_HOST (127.0.0.1)
//   LOCAL_LLM_URL (unset: offline responder; e.g. http://127.0.0.1:11434/v1)  LOCAL_LLM_MODEL (llama3.2)  LOCAL_LLM_API_KEY
//   LOCAL_AI_PYTHON (/usr/bin/python3)  LOCAL_AI_STT_MODEL_DIR (/usr/share/pocketsphinx/model/en-us)
//   LOCAL_AI_VOICE (slt)
//   LOCAL_LLM_PACING (off; 1 = model-like pacing of the offline responder: LOCAL_AI_FIRST_TOKEN_MS
//     (150) before the first token, LOCAL_AI_TOKEN_MS (20) between tokens; setting either also turns it on)
//   LOCAL_AI_LIVE_MAX (4 live streams)  LOCAL_AI_LIVE_SPARE (1 loaded decoder kept ready)
//   LOCAL_AI_LIVE_IDLE_MS (10000)  LOCAL_AI_LIVE_INTERIM_MS (250)  LOCAL_AI_LIVE_FWDFLAT (1; 0 = faster finals, less accurate)
//   LOCAL_AI_LIVE_SEED_MS (500; speech measured for each segment's cepstral mean, 0 = PocketSphinx's running mean)
//   LOCAL_AI_DUMP_DIR (unset): write each live socket's received PCM (WAV) and its Finalize times there
// With --exit-with-stdin it exits when its stdin closes (so it never outlives the process that started it).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { AiError, STT_INSTALL_COMMAND } from "./errors.ts";
import { Flite } from "./engines/flite.ts";
import { OfflineResponder, type ReplyEngine } from "./engines/offline-responder.ts";
import { OpenAiCompatible } from "./engines/openai-compatible.ts";
import { PocketSphinx, type SttState } from "./engines/pocketsphinx.ts";
import { PocketSphinxLive } from "./engines/pocketsphinx-stream.ts";
import { DEFAULT_LIVE_IDLE_MS, parseLiveParams, serveLiveSocket } from "./live-transcription.ts";
import { runModel, type Engines } from "./models.ts";
import { WORKERS_AI_ERRORS } from "../shared/workers-ai/errors.ts";

export const SERVICE_NAME = "parley-local-ai";
export const DEFAULT_PORT = 8790;
const MAX_BODY_BYTES = 48 * 1024 * 1024;

export interface LocalEngines extends Engines {
  stt: PocketSphinx;
  /** Live (streaming) recognition: a pool of PocketSphinx decoders, one per open stream. */
  live: PocketSphinxLive;
  tts: Flite;
  reply: ReplyEngine;
}

export interface HealthReport {
  service: typeof SERVICE_NAME;
  ok: true;
  ready: boolean;
  engines: {
    stt: {
      label: string;
      state: SttState;
      error?: string;
      install?: string;
      live: { open: number; idle: number; max: number; error?: string };
    };
    tts: { label: string; state: "loading" | "ready" };
    /** `pacing`: the offline responder's artificial token pacing, null when off (the default). */
    reply: { label: string; pacing?: { firstTokenMs: number; tokenMs: number } | null };
  };
}

export interface EngineServer {
  url: string;
  port: number;
  engines: LocalEngines;
  /** Resolves once the decoder and the TTS module have loaded (or failed to). */
  ready: Promise<void>;
  health(): HealthReport;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

const num = (v: string | undefined, fallback: number) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : fallback);
const set = (v: string | undefined) => v !== undefined && v !== "";

/**
 * The offline responder's model-like pacing (150 ms to the first token, 20 ms per token) is off
 * unless asked for: LOCAL_LLM_PACING=1, or LOCAL_AI_FIRST_TOKEN_MS / LOCAL_AI_TOKEN_MS set.
 * LOCAL_LLM_PACING=0 turns it off whatever else is set.
 */
export function pacingFromEnv(env: Env): { firstTokenMs: number; tokenMs: number } | null {
  const flag = (env.LOCAL_LLM_PACING ?? "").trim().toLowerCase();
  const on = flag === "" ? set(env.LOCAL_AI_FIRST_TOKEN_MS) || set(env.LOCAL_AI_TOKEN_MS) : !["0", "false", "no", "off"].includes(flag);
  return on ? { firstTokenMs: num(env.LOCAL_AI_FIRST_TOKEN_MS, 150), tokenMs: num(env.LOCAL_AI_TOKEN_MS, 20) } : null;
}

export function enginesFromEnv(env: Env = process.env, log: (line: string) => void = () => {}): LocalEngines {
  const python = env.LOCAL_AI_PYTHON || undefined;
  const modelDir = env.LOCAL_AI_STT_MODEL_DIR || undefined;
  const stt = new PocketSphinx({ python, modelDir, log });
  const live = new PocketSphinxLive({
    python,
    modelDir,
    log,
    maxStreams: num(env.LOCAL_AI_LIVE_MAX, 4),
    spare: num(env.LOCAL_AI_LIVE_SPARE, 1),
    fwdflat: !["0", "false", "no", "off"].includes((env.LOCAL_AI_LIVE_FWDFLAT ?? "").trim().toLowerCase()),
    seedMs: num(env.LOCAL_AI_LIVE_SEED_MS, 500),
  });
  const tts = new Flite({ voice: env.LOCAL_AI_VOICE || undefined });
  const reply: ReplyEngine = env.LOCAL_LLM_URL
    ? new OpenAiCompatible({ url: env.LOCAL_LLM_URL, model: env.LOCAL_LLM_MODEL || "llama3.2", apiKey: env.LOCAL_LLM_API_KEY || undefined })
    : new OfflineResponder({ pacing: pacingFromEnv(env) ?? { firstTokenMs: 0, tokenMs: 0 } });
  return { stt, live, tts, reply };
}

export interface EngineServerOptions {
  port?: number;
  host?: string;
  engines?: LocalEngines;
  env?: Env;
  log?: (line: string) => void;
}

export async function startEngineServer(options: EngineServerOptions = {}): Promise<EngineServer> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const engines = options.engines ?? enginesFromEnv(env, log);
  const host = options.host ?? env.LOCAL_AI_HOST ?? "127.0.0.1";
  const port = options.port ?? num(env.LOCAL_AI_PORT, DEFAULT_PORT);
  const liveIdleMs = num(env.LOCAL_AI_LIVE_IDLE_MS, DEFAULT_LIVE_IDLE_MS);
  const liveInterimMs = num(env.LOCAL_AI_LIVE_INTERIM_MS, 250);
  const liveDumpDir = env.LOCAL_AI_DUMP_DIR?.trim() || undefined;
  const pacing = engines.reply instanceof OfflineResponder ? engines.reply.pacing : undefined;

  let ttsReady = false;
  const ready = Promise.allSettled([
    engines.tts.load().then(() => {
      ttsReady = true;
    }),
    engines.stt.start().then(
      () => log(`speech-to-text ${engines.stt.label} ready (${engines.stt.loadMs} ms)`),
      (e: Error) => log(`WARNING: ${e.message}`),
    ),
    // The live decoders load beside the batch one; if PocketSphinx is missing the batch decoder's warning says so.
    engines.live.warm().catch(() => {}),
  ]).then(() => {});

  const health = (): HealthReport => {
    const s = engines.stt.status();
    return {
      service: SERVICE_NAME,
      ok: true,
      ready: ttsReady && s.state !== "starting",
      engines: {
        stt: {
          label: engines.stt.label,
          ...s,
          ...(s.state === "unavailable" ? { install: STT_INSTALL_COMMAND } : {}),
          live: engines.live.status(),
        },
        tts: { label: engines.tts.label, state: ttsReady ? "ready" : "loading" },
        reply: {
          label: engines.reply.label,
          ...(pacing !== undefined ? { pacing: pacing.firstTokenMs || pacing.tokenMs ? pacing : null } : {}),
        },
      },
    };
  };

  const server = createServer((req, res) => {
    handle(req, res, engines, health, log).catch((e: Error) => {
      log(`internal error: ${e.stack ?? e.message}`);
      if (!res.headersSent) sendError(res, new AiError(WORKERS_AI_ERRORS.internal, e.message));
      else res.destroy(e);
    });
  });
  server.keepAliveTimeout = 60_000;

  // Live transcription: WebSocket upgrades on /live only.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 8 * 1024 * 1024 });
  const liveSockets = new Set<WebSocket>();
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://local-ai");
    const refuse = (status: number, body: Record<string, unknown>) => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} ${status === 429 ? "Too Many Requests" : "Not Found"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
      );
    };
    if (url.pathname !== "/live") {
      refuse(404, { error: "not found: WebSocket upgrades go to GET /live?model=@cf/deepgram/nova-3&..." });
      return;
    }
    if (!engines.live.canOpen()) {
      const error = `3040: Capacity: ${engines.live.maxStreams} live transcription streams are open already (LOCAL_AI_LIVE_MAX); try again when one closes`;
      log(`live refused: ${error}`);
      refuse(429, { success: false, errors: [{ code: 3040, message: error.slice(6) }], error });
      return;
    }
    const tags =
      (req.headers["x-parley-tags"] as string | undefined)
        ?.split(",")
        .map((t) => t.trim())
        .filter(Boolean) ?? [];
    wss.handleUpgrade(req, socket, head, (ws) => {
      liveSockets.add(ws);
      ws.once("close", () => liveSockets.delete(ws));
      const parsed = parseLiveParams(url.searchParams);
      if (!parsed.ok) {
        log(`live refused: ${parsed.description}`);
        ws.send(JSON.stringify({ type: "Error", description: parsed.description }));
        ws.close(parsed.closeCode, parsed.description.length > 120 ? parsed.description.slice(0, 120) : parsed.description);
        return;
      }
      serveLiveSocket(ws, parsed.params, engines.live, {
        idleTimeoutMs: liveIdleMs,
        interimMs: liveInterimMs,
        tags,
        log,
        dumpDir: liveDumpDir,
      });
    });
  });

  await listen(server, port, host);
  const actualPort = (server.address() as AddressInfo).port;

  return {
    url: `http://${host}:${actualPort}`,
    port: actualPort,
    engines,
    ready,
    health,
    async close() {
      for (const ws of liveSockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([engines.stt.close(), engines.live.close()]);
      engines.tts.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      reject(e.code === "EADDRINUSE" ? new Error(`port ${port} on ${host} is already in use (set LOCAL_AI_PORT to use another)`) : e);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  engines: LocalEngines,
  health: () => HealthReport,
  log: (line: string) => void,
) {
  const path = (req.url ?? "/").split("?")[0];
  if (req.method === "GET" && (path === "/health" || path === "/")) {
    sendJson(res, 200, health());
    return;
  }
  if (req.method !== "POST" || path !== "/run") {
    sendJson(res, 404, { error: "not found: use POST /run, GET /live (WebSocket) or GET /health" });
    return;
  }
  const started = performance.now();
  const aborter = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) aborter.abort(new Error("client went away"));
  });

  let model = "?";
  try {
    const body = await readBody(req, MAX_BODY_BYTES);
    let call: { model?: unknown; inputs?: unknown; options?: { tags?: unknown } };
    try {
      call = JSON.parse(body.toString("utf8")) as typeof call;
    } catch {
      throw new AiError(WORKERS_AI_ERRORS.invalidInput, "request body is not JSON");
    }
    if (typeof call.model !== "string") throw new AiError(WORKERS_AI_ERRORS.invalidInput, "missing model");
    model = call.model;
    const tags = Array.isArray(call.options?.tags) ? call.options.tags.filter((t): t is string => typeof t === "string") : [];
    if (tags.length) model += ` [${tags.join(" ")}]`;
    const result = await runModel(engines, call.model, call.inputs ?? {}, aborter.signal);
    if (result.kind === "json") {
      sendJson(res, 200, result.body);
      log(`${model} -> ${Math.round(performance.now() - started)} ms (${String(result.body.engine)})${summary(result.body)}`);
      return;
    }
    res.writeHead(200, { "content-type": result.contentType, "cache-control": "no-store", "x-content-type-options": "nosniff" });
    res.flushHeaders();
    let firstMs: number | undefined;
    for await (const chunk of result.body) {
      if (aborter.signal.aborted) break;
      firstMs ??= performance.now() - started;
      if (!res.write(chunk))
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
    }
    res.end();
    log(`${model} stream -> first bytes ${Math.round(firstMs ?? 0)} ms, done ${Math.round(performance.now() - started)} ms`);
  } catch (e) {
    if (aborter.signal.aborted) {
      res.destroy();
      return;
    }
    if (res.headersSent) {
      // Mid-stream failure: end without [DONE], as a broken Workers AI stream would.
      log(`${model} stream failed: ${(e as Error).message}`);
      res.destroy(e as Error);
      return;
    }
    const err = e instanceof AiError ? e : new AiError(WORKERS_AI_ERRORS.internal, `local engine failed: ${(e as Error).message}`);
    log(`${model} -> ${err.message}`);
    sendError(res, err);
  }
}

function summary(body: Record<string, unknown>): string {
  if (typeof body.text === "string") return ` "${body.text}"`;
  if (typeof body.response === "string") return ` "${body.response.slice(0, 80)}"`;
  return "";
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        reject(new AiError(WORKERS_AI_ERRORS.tooLarge, "Request is too large"));
        req.destroy();
        return;
      }
      parts.push(d);
    });
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: AiError) {
  const description = err.message.replace(/^\d+: /, "");
  sendJson(res, err.status, { success: false, errors: [{ code: err.code, message: description }], error: err.message });
}

async function main() {
  const log = (line: string) => console.log(`[local-ai] ${line}`);
  let server: EngineServer;
  try {
    server = await startEngineServer({ log });
  } catch (e) {
    console.error(`[local-ai] ${(e as Error).message}`);
    process.exit(1);
  }
  const h = server.health().engines;
  log(
    `engine server on ${server.url} (reply: ${h.reply.label}${h.reply.pacing ? `, paced ${h.reply.pacing.firstTokenMs}+${h.reply.pacing.tokenMs} ms/token` : ""}, speech: ${h.tts.label}, speech-to-text: ${h.stt.label}, batch and live)`,
  );
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${why})`);
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    server
      .close()
      .catch((err: unknown) => log(`closing failed: ${String(err)}`))
      .finally(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  if (process.argv.includes("--exit-with-stdin")) {
    process.stdin.on("end", () => stop("parent exited"));
    process.stdin.on("close", () => stop("parent exited"));
    process.stdin.resume();
  }
  await server.ready;
  const stt = server.health().engines.stt;
  if (stt.state === "unavailable") log(`speech-to-text is unavailable: typed text and speech still work. Fix: ${STT_INSTALL_COMMAND}`);
  log("ready");
}

if (import.meta.main) await main();
