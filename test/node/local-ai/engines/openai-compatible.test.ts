// LOCAL_LLM_URL: replies come from an OpenAI-compatible server (Ollama, llama.cpp). A tiny one runs
// inside this test; the engine server forwards to it and re-emits its stream as Workers AI SSE.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LlmOutput, LlmStreamChunk } from "../../../../shared/workers-ai/llm.ts";
import { StandInMarker } from "../../../../shared/workers-ai/stand-in.ts";
import { startEngineServer, type EngineServer } from "../../../../local-ai/engine-server.ts";
import { callModel, ssePayloads } from "../local-ai-support.ts";

const LLM = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";
const messages = [
  { role: "system", content: "You are Parley." },
  { role: "user", content: "Say hello." },
];

type Mode = "normal" | "no-usage" | "404" | "break";
let mode: Mode = "normal";
const received: { body: Record<string, unknown>; auth: string | undefined; path: string }[] = [];
let upstream: Server;
let upstreamUrl: string;
let server: EngineServer;

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let s = "";
    req.on("data", (d: Buffer) => (s += d.toString()));
    req.on("end", () => resolve(JSON.parse(s) as Record<string, unknown>));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fake upstream's answer for the current `mode`. */
async function respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readJson(req);
  received.push({ body, auth: req.headers.authorization, path: req.url ?? "" });
  if (mode === "404") {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: `model "${String(body.model)}" not found, try pulling it first` } }));
    return;
  }
  if (!body.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        id: "c1",
        object: "chat.completion",
        model: body.model,
        choices: [{ index: 0, message: { role: "assistant", content: "Hello from the tiny model." }, finish_reason: "stop" }],
        ...(mode === "no-usage" ? {} : { usage: { prompt_tokens: 21, completion_tokens: 6, total_tokens: 27 } }),
      }),
    );
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream" });
  const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
  const delta = (content: string, finish: string | null = null) =>
    send({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
  send({
    id: "c1",
    object: "chat.completion.chunk",
    choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
  });
  for (const t of ["Hello", " from", " the", " tiny", " model."]) {
    await sleep(5);
    if (mode === "break" && t === " the") {
      res.destroy();
      return;
    }
    delta(t);
  }
  delta("", "stop");
  if (mode !== "no-usage")
    send({ id: "c1", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 } });
  res.end("data: [DONE]\n\n");
}

beforeAll(async () => {
  // A handler that throws drops the connection, so the test fails on the client side instead of hanging.
  upstream = createServer((req, res) => {
    respond(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : new Error(String(err))));
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  server = await startEngineServer({
    port: 0,
    env: { LOCAL_LLM_URL: `${upstreamUrl}/`, LOCAL_LLM_MODEL: "tiny-test:1b", LOCAL_LLM_API_KEY: "sk-local" },
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});

beforeEach(() => {
  mode = "normal";
  received.length = 0;
});

describe("LOCAL_LLM_URL (OpenAI-compatible server)", () => {
  it("labels the reply engine with the URL", async () => {
    const h = (await (await fetch(`${server.url}/health`)).json()) as { engines: { reply: { label: string } } };
    expect(h.engines.reply.label).toBe(`openai-compatible:${upstreamUrl}`);
  });

  it("non-streamed: POST {url}/chat/completions, answer as {response, usage, engine}", async () => {
    const res = await callModel(server.url, LLM, { messages, max_tokens: 64, temperature: 0.2 });
    const out = (await res.json()) as Record<string, unknown>;
    expect(LlmOutput.parse(out)).toMatchObject({
      response: "Hello from the tiny model.",
      usage: { prompt_tokens: 21, completion_tokens: 6, total_tokens: 27 },
    });
    expect(StandInMarker.parse(out).engine).toBe(`openai-compatible:${upstreamUrl}`);
    expect(received).toHaveLength(1);
    expect(received[0]!.path).toBe("/v1/chat/completions");
    expect(received[0]!.auth).toBe("Bearer sk-local");
    expect(received[0]!.body).toEqual({ model: "tiny-test:1b", messages, stream: false, max_tokens: 64, temperature: 0.2 });
  });

  it("streamed: OpenAI deltas re-emitted as Workers AI SSE, engine first, upstream usage, [DONE]", async () => {
    const res = await callModel(server.url, LLM, { messages, stream: true });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const payloads = await ssePayloads(res);
    expect(payloads.at(-1)).toBe("[DONE]");
    const events = payloads.slice(0, -1).map((p) => LlmStreamChunk.parse(JSON.parse(p)));
    expect(StandInMarker.parse(events[0]).engine).toBe(`openai-compatible:${upstreamUrl}`);
    expect(events.map((e) => e.response)).toEqual(["Hello", " from", " the", " tiny", " model.", ""]);
    expect(events.at(-1)!.usage).toEqual({ prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 });
    expect(received[0]!.body).toMatchObject({ model: "tiny-test:1b", stream: true, stream_options: { include_usage: true } });
  });

  it("estimates usage when the server sends none", async () => {
    mode = "no-usage";
    const payloads = await ssePayloads(await callModel(server.url, LLM, { messages, stream: true }));
    const last = LlmStreamChunk.parse(JSON.parse(payloads.at(-2)!));
    expect(last.usage).toMatchObject({ completion_tokens: 5 });
    expect(last.usage!.prompt_tokens).toBeGreaterThan(0);
    const out = LlmOutput.parse(await (await callModel(server.url, LLM, { messages })).json());
    expect(out.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("an upstream error is a Workers-AI-style error before any stream starts", async () => {
    mode = "404";
    for (const stream of [false, true]) {
      const res = await callModel(server.url, LLM, { messages, stream });
      expect(res.status).toBe(500);
      const { error } = (await res.json()) as { error: string };
      expect(error).toMatch(
        /^3043: the local LLM server at http:\/\/127\.0\.0\.1:\d+\/v1 answered HTTP 404 for model "tiny-test:1b": .*not found/,
      );
    }
  });

  it("a stream that breaks upstream ends without [DONE], like a broken Workers AI stream", async () => {
    mode = "break";
    const res = await callModel(server.url, LLM, { messages, stream: true });
    expect(res.status).toBe(200);
    let text = "";
    try {
      text = await res.text();
    } catch {
      // the connection was cut: also fine
    }
    expect(text).not.toContain("[DONE]");
  });

  it("an unreachable server gives a clear error naming the URL", async () => {
    // a port that was free a moment ago
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const dead = await startEngineServer({
      port: 0,
      env: { LOCAL_LLM_URL: `http://127.0.0.1:${port}/v1`, LOCAL_AI_PYTHON: "/nonexistent/python3" },
    });
    try {
      const { error } = (await (await callModel(dead.url, LLM, { messages, stream: true })).json()) as { error: string };
      expect(error).toBe(
        `3043: the local LLM server at http://127.0.0.1:${port}/v1 is not reachable (ECONNREFUSED); start it (for Ollama: ollama serve) or unset LOCAL_LLM_URL`,
      );
    } finally {
      await dead.close();
    }
  });
});
