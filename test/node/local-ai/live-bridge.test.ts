// The stand-in's live socket bridge inside workerd (Miniflare): a test Worker calls
// `env.AI.run("@cf/deepgram/nova-3", inputs, { websocket: true })` through a service binding named
// AI, as the Durable Object does, and gets an RpcModelSocket (listen / send / close) bridged to a
// WebSocket on the engine server. Checked against a recording echo server (order both ways, close
// codes, inputs and tags on the wire, refusals) and end to end against the real engine server
// (PocketSphinx decoding while the audio streams, through adoptModelSocket's contract).
import { buildSync } from "esbuild";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { startEngineServer, type EngineServer } from "../../../local-ai/engine-server.ts";
import { wordErrorRate } from "../../../local-ai/wer.ts";
import { bundleWorker } from "../../support/bundle-worker.ts";
import { b64, NOVA_INPUTS, pcmBytes, speak, type LiveMessage } from "./local-ai-support.ts";

const standIn = bundleWorker("local-ai/worker.ts");

// Runs a script of steps against env.AI.run(..., { websocket: true }) and reports what came back,
// with how many steps had been done when each message or the close arrived.
const caller = `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  async fetch(request, env) {
    const { model, inputs, options, steps, audio } = await request.json();
    const events = [];
    let done = 0;
    let socket;
    try {
      socket = await env.AI.run(model, inputs, options);
    } catch (e) {
      return Response.json({ error: e.message });
    }
    if (typeof socket?.listen !== "function") return Response.json({ error: "not a socket: " + typeof socket });
    const pcm = audio ? Uint8Array.from(atob(audio), (c) => c.charCodeAt(0)) : new Uint8Array(0);
    const until = async (test, ms) => {
      const deadline = Date.now() + ms;
      while (!test()) {
        if (Date.now() > deadline) throw new Error("timed out waiting; events: " + JSON.stringify(events).slice(0, 500));
        await sleep(10);
      }
    };
    for (const step of steps) {
      if (step.listen) {
        await socket.listen(
          (data) => events.push(typeof data === "string" ? { text: data, done } : { binary: Array.from(data), done }),
          (code, reason) => events.push({ close: code, reason, done }),
        );
      }
      if (step.sleep) await sleep(step.sleep);
      if (step.text !== undefined) socket.send(step.text);
      if (step.binary) socket.send(Uint8Array.from(step.binary));
      if (step.audio) {
        for (let i = 0; i < pcm.length; i += 640) {
          socket.send(pcm.slice(i, i + 640));
          if (step.audio === "realtime") await sleep(20);
        }
      }
      if (step.waitText) await until(() => events.some((e) => e.text !== undefined && e.text.includes(step.waitText)), 10000);
      if (step.waitClose) await until(() => events.some((e) => e.close !== undefined), 10000);
      if (step.waitEvents) await until(() => events.length >= step.waitEvents, 10000);
      if (step.close) socket.close(step.close.code, step.close.reason);
      done++;
    }
    return Response.json({ events });
  },
};`;

// The same, through the Durable Object's own adapter (server/models/model-socket.ts adoptModelSocket).
const adoptCaller = buildSync({
  stdin: {
    contents: `
import { adoptModelSocket } from "./server/models/model-socket.ts";
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export default {
  async fetch(request, env) {
    const { audio } = await request.json();
    const pcm = Uint8Array.from(atob(audio), (c) => c.charCodeAt(0));
    const events = [];
    const answer = await env.AI.run("@cf/deepgram/nova-3", ${JSON.stringify(NOVA_INPUTS)}, { websocket: true, tags: ["adopt"] });
    const socket = await adoptModelSocket(answer, {
      message: (data) => events.push(typeof data === "string" ? JSON.parse(data) : { binary: data.byteLength }),
      close: (code, reason) => events.push({ close: code, reason }),
    });
    for (let i = 0; i < pcm.length; i += 640) socket.send(pcm.slice(i, i + 640).buffer);
    socket.send(JSON.stringify({ type: "Finalize" }));
    const deadline = Date.now() + 10000;
    while (!events.some((e) => e.from_finalize) && Date.now() < deadline) await sleep(10);
    socket.close(1000, "turn over");
    await sleep(50);
    return Response.json({ events });
  },
};`,
    resolveDir: ".",
    loader: "ts",
  },
  bundle: true,
  format: "esm",
  write: false,
  external: ["cloudflare:*"],
  target: "es2024",
}).outputFiles[0]!.text;

type Event = { text?: string; binary?: number[]; close?: number; reason?: string; done: number };
type Step = Partial<{
  listen: true;
  sleep: number;
  text: string;
  binary: number[];
  audio: "fast" | "realtime";
  waitText: string;
  waitClose: true;
  waitEvents: number;
  close: { code: number; reason: string };
}>;

function miniflare(localAiUrl: string, app = caller): Miniflare {
  return new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        { name: "app", modules: true, script: app, compatibilityDate: "2026-11-01", serviceBindings: { AI: "local-ai" } },
        {
          name: "local-ai",
          modules: [{ type: "ESModule", path: "worker.js", contents: standIn }],
          compatibilityDate: "2026-11-01",
          bindings: { LOCAL_AI_URL: localAiUrl },
        },
      ],
    }),
  );
}

async function script(
  m: Miniflare,
  steps: Step[],
  o: { model?: string; inputs?: unknown; options?: unknown; audio?: Uint8Array } = {},
): Promise<{ events: Event[]; error?: string }> {
  const body = {
    model: o.model ?? "@cf/deepgram/nova-3",
    inputs: o.inputs ?? NOVA_INPUTS,
    options: o.options ?? { websocket: true, tags: ["session:test", "live"] },
    steps,
    audio: o.audio ? b64(o.audio) : undefined,
  };
  const res = await m.dispatchFetch("http://app/", { method: "POST", body: JSON.stringify(body) });
  return (await res.json()) as { events: Event[]; error?: string };
}

// A stand-in for the engine server's /live: greets, echoes every frame, records what it received.
interface Recorded {
  url: string;
  tags: string | undefined;
  frames: (string | number[])[];
  closed?: { code: number; reason: string };
}
let echo: Server;
let echoUrl: string;
const recorded: Recorded[] = [];

let engine: EngineServer;
let mfEcho: Miniflare;
let mfEngine: Miniflare;
let mfDead: Miniflare;
let mfAdopt: Miniflare;

beforeAll(async () => {
  const wss = new WebSocketServer({ noServer: true });
  echo = createServer((_req, res) => res.writeHead(404).end());
  echo.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://echo");
    if (url.searchParams.getAll("keyterm").includes("refuse-me")) {
      const body = JSON.stringify({ error: "3040: Capacity: 4 live transcription streams are open already" });
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const rec: Recorded = { url: req.url ?? "", tags: req.headers["x-parley-tags"] as string | undefined, frames: [] };
      recorded.push(rec);
      ws.send(JSON.stringify({ type: "hello" })); // before the caller can have called listen()
      ws.on("message", (data: Buffer, isBinary: boolean) => {
        const text = data.toString();
        rec.frames.push(isBinary ? Array.from(data) : text);
        if (!isBinary && text.includes('"bye"')) ws.close(4001, "bye from the engine");
        else ws.send(isBinary ? data : text, { binary: isBinary });
      });
      ws.on("close", (code, reason) => (rec.closed = { code, reason: reason.toString() }));
    });
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;

  engine = await startEngineServer({ port: 0, env: { LOCAL_AI_LIVE_IDLE_MS: "5000" } });
  await engine.ready;

  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));

  mfEcho = miniflare(echoUrl);
  mfEngine = miniflare(engine.url);
  mfDead = miniflare(`http://127.0.0.1:${deadPort}`);
  mfAdopt = miniflare(engine.url, adoptCaller);
  await Promise.all([mfEcho.ready, mfEngine.ready, mfDead.ready, mfAdopt.ready]);
}, 60_000);

afterAll(async () => {
  await Promise.all([mfEcho?.dispose(), mfEngine?.dispose(), mfDead?.dispose(), mfAdopt?.dispose()]);
  await engine?.close();
  await new Promise((r) => echo?.close(r));
});

const waitFor = async (test: () => boolean, ms = 3000) => {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("stand-in live socket bridge (RpcModelSocket over JS RPC)", () => {
  it("bridges both directions in order, delivers what arrived before listen(), and passes inputs and tags", async () => {
    const steps: Step[] = [{ sleep: 100 }, { listen: true }];
    const sent: (string | number[])[] = [];
    for (let i = 0; i < 60; i++) {
      if (i % 3 === 2) {
        const text = JSON.stringify({ type: "KeepAlive", n: i });
        steps.push({ text });
        sent.push(text);
      } else {
        const binary = [i, 255 - i, i % 7, 0];
        steps.push({ binary });
        sent.push(binary);
      }
    }
    steps.push({ waitEvents: 61 }, { close: { code: 1000, reason: "done" } }, { sleep: 200 });
    const before = recorded.length;
    const { events, error } = await script(mfEcho, steps, { inputs: { ...NOVA_INPUTS, keyterm: ["Parley", "nova"] } });
    expect(error).toBeUndefined();
    const rec = recorded[before]!;

    // Engine side: every frame, in order, text as text and binary as binary.
    expect(rec.frames).toEqual(sent);
    // Caller side: the greeting sent before listen(), then every echo in order, binary as Uint8Array.
    expect(events[0]).toMatchObject({ text: JSON.stringify({ type: "hello" }) });
    expect(events.slice(1, 61).map((e) => e.text ?? e.binary)).toEqual(sent);
    // A close by the caller reaches the engine with its code and reason, and is not reported back.
    await waitFor(() => rec.closed !== undefined);
    expect(rec.closed).toEqual({ code: 1000, reason: "done" });
    expect(events.filter((e) => e.close !== undefined)).toEqual([]);

    // Inputs became the query (every value a string, lists repeated), tags a header.
    const q = new URL(rec.url, "http://x").searchParams;
    expect(new URL(rec.url, "http://x").pathname).toBe("/live");
    expect(q.get("model")).toBe("@cf/deepgram/nova-3");
    for (const [k, v] of Object.entries(NOVA_INPUTS)) expect(q.get(k)).toBe(v);
    expect(q.getAll("keyterm")).toEqual(["Parley", "nova"]);
    expect(rec.tags).toBe("session:test,live");
  }, 30_000);

  it("reports the engine's close once, with its code and reason", async () => {
    const { events, error } = await script(mfEcho, [
      { listen: true },
      { text: JSON.stringify({ type: "bye" }) },
      { waitClose: true },
      { sleep: 100 },
      { text: "after the close" },
      { sleep: 100 },
    ]);
    expect(error).toBeUndefined();
    const closes = events.filter((e) => e.close !== undefined);
    expect(closes).toEqual([{ close: 4001, reason: "bye from the engine", done: 2 }]);
    expect(recorded.at(-1)!.frames).toEqual([JSON.stringify({ type: "bye" })]); // nothing sent after the close
  }, 20_000);

  it("throws Workers AI's errors: 5007 for a model without a live interface, 3040 when the engine refuses, 3043 when it is down", async () => {
    expect((await script(mfEcho, [], { model: "@cf/deepgram/flux" })).error).toBe(
      "5007: @cf/deepgram/flux cannot be opened with { websocket: true } in the offline stand-in; live (WebSocket) models it supports: @cf/deepgram/nova-3",
    );
    expect((await script(mfEcho, [], { model: "@cf/openai/whisper-large-v3-turbo" })).error).toMatch(
      /^5007: .*supports: @cf\/deepgram\/nova-3$/,
    );
    expect((await script(mfEcho, [], { inputs: { ...NOVA_INPUTS, keyterm: "refuse-me" } })).error).toBe(
      "3040: Capacity: 4 live transcription streams are open already",
    );
    expect((await script(mfEcho, [], { inputs: { encoding: { nested: true } } })).error).toMatch(
      /^8001: Invalid input for @cf\/deepgram\/nova-3: encoding must be a string/,
    );
    expect((await script(mfDead, [])).error).toMatch(
      /^3043: The local AI engine server at http:\/\/127\.0\.0\.1:\d+ is not reachable .*npm start/,
    );
  }, 20_000);

  it("end to end with PocketSphinx: interim results while the audio streams, the final on Finalize, Metadata and close on CloseStream", async () => {
    const sentence = "set a timer for ten minutes";
    const pcm = pcmBytes(await speak(sentence));
    const { events, error } = await script(
      mfEngine,
      [
        { listen: true },
        { audio: "realtime" },
        { text: JSON.stringify({ type: "Finalize" }) },
        { waitText: '"from_finalize":true' },
        { text: JSON.stringify({ type: "CloseStream" }) },
        { waitClose: true },
      ],
      { audio: pcm },
    );
    expect(error).toBeUndefined();
    const messages = events.filter((e) => e.text !== undefined).map((e) => ({ ...(JSON.parse(e.text!) as LiveMessage), done: e.done }));
    // Interim results arrived while the audio was still streaming (step 1).
    const interims = messages.filter((m) => m.type === "Results" && !m.is_final);
    expect(interims.filter((m) => m.done === 1).length).toBeGreaterThanOrEqual(3);
    expect(messages[0]!.type).toBe("SpeechStarted");
    const final = messages.find((m) => m.from_finalize === true)!;
    expect(final).toMatchObject({ type: "Results", is_final: true, start: 0 });
    expect(wordErrorRate(sentence, final.channel!.alternatives[0]!.transcript)).toBeLessThanOrEqual(0.34);
    // In order: interim durations only grow, the from_finalize final comes after them all.
    const durations = interims.map((m) => m.duration!);
    expect([...durations].sort((a, b) => a - b)).toEqual(durations);
    expect(messages.indexOf(final)).toBeGreaterThan(messages.indexOf(interims.at(-1)!));
    expect(messages.at(-1)).toMatchObject({ type: "Metadata", engine: "pocketsphinx/generic" });
    expect(messages.at(-1)!.duration).toBeCloseTo(pcm.length / 32000, 2);
    expect(events.at(-1)).toMatchObject({ close: 1000 });
  }, 30_000);

  it("works through the Durable Object's adapter (adoptModelSocket): results in order, the caller's close ends it", async () => {
    const pcm = pcmBytes(await speak("tell me a joke"));
    const res = await mfAdopt.dispatchFetch("http://app/", { method: "POST", body: JSON.stringify({ audio: b64(pcm) }) });
    const { events } = (await res.json()) as { events: (LiveMessage & { close?: number })[] };
    const results = events.filter((e) => e.type === "Results");
    const final = results.find((e) => e.from_finalize)!;
    expect(final.channel!.alternatives[0]!.transcript).toMatch(/joke/i);
    expect(results.indexOf(final)).toBe(results.length - 1);
    expect(events.at(-1)).toEqual({ close: 1000, reason: "turn over" });
    expect(events.filter((e) => e.close !== undefined)).toHaveLength(1);
  }, 30_000);
});
