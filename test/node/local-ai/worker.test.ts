// The local-ai Worker inside workerd (Miniflare): a test Worker calls `env.AI.run(...)` through a
// service binding named AI (JS RPC), exactly as the server does in `vite dev`, and the stand-in
// forwards to an engine server in this process. Checks the three return kinds (object, SSE
// stream, byte stream) and that errors keep Workers AI's "<code>: <message>" form across RPC.
// miniflare comes with @cloudflare/vite-plugin; version 5 takes v4-style options through convertV4MiniflareOptions.
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WhisperTurboOutput } from "../../../shared/workers-ai/speech-to-text.ts";
import { LlmStreamChunk } from "../../../shared/workers-ai/llm.ts";
import { MelottsOutput } from "../../../shared/workers-ai/text-to-speech.ts";
import { StandInMarker } from "../../../shared/workers-ai/stand-in.ts";
import { SseDecoder } from "../../../shared/workers-ai/llm-stream.ts";
import { decodeWav } from "../../../local-ai/audio.ts";
import { startEngineServer, type EngineServer } from "../../../local-ai/engine-server.ts";
import { bundleWorker } from "../../support/bundle-worker.ts";
import { b64, speak, unb64 } from "./local-ai-support.ts";

const standIn = bundleWorker("local-ai/worker.ts");

// Calls env.AI.run(model, inputs, options) and reports what came back.
const caller = `
export default {
  async fetch(request, env) {
    const { model, inputs, options } = await request.json();
    try {
      const out = await env.AI.run(model, inputs, options);
      if (out instanceof ReadableStream) {
        const bytes = new Uint8Array(await new Response(out).arrayBuffer());
        let s = ""; for (const b of bytes) s += String.fromCharCode(b);
        return Response.json({ kind: "stream", base64: btoa(s) });
      }
      if (out instanceof Response) return Response.json({ kind: "response", status: out.status, type: out.headers.get("content-type") });
      return Response.json({ kind: "object", out });
    } catch (e) {
      return Response.json({ kind: "error", message: e.message });
    }
  },
};`;

let engine: EngineServer;
let mf: Miniflare;
let deadMf: Miniflare;

function miniflare(localAiUrl: string): Miniflare {
  return new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        { name: "app", modules: true, script: caller, compatibilityDate: "2026-11-01", serviceBindings: { AI: "local-ai" } },
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

type Reply =
  | { kind: "object"; out: Record<string, unknown> }
  | { kind: "stream"; base64: string }
  | { kind: "error"; message: string }
  | { kind: "response"; status: number; type: string };

async function run(m: Miniflare, model: string, inputs: unknown, options: unknown = { tags: ["session:test"] }): Promise<Reply> {
  const res = await m.dispatchFetch("http://app/", { method: "POST", body: JSON.stringify({ model, inputs, options }) });
  return (await res.json()) as Reply;
}

beforeAll(async () => {
  engine = await startEngineServer({ port: 0, env: { LOCAL_AI_FIRST_TOKEN_MS: "10", LOCAL_AI_TOKEN_MS: "1" } });
  await engine.ready;
  mf = miniflare(engine.url);
  await mf.ready;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  deadMf = miniflare(`http://127.0.0.1:${port}`);
  await deadMf.ready;
}, 60_000);

afterAll(async () => {
  await mf?.dispose();
  await deadMf?.dispose();
  await engine?.close();
});

describe("local-ai Worker (service binding AI, JS RPC)", () => {
  it("returns JSON answers as objects: whisper-large-v3-turbo", async () => {
    const r = await run(mf, "@cf/openai/whisper-large-v3-turbo", { audio: b64(await speak("tell me a joke")) });
    expect(r.kind).toBe("object");
    const out = (r as { out: Record<string, unknown> }).out;
    expect(WhisperTurboOutput.parse(out).text.toLowerCase()).toContain("joke");
    expect(StandInMarker.parse(out).engine).toBe("pocketsphinx/generic");
  }, 30_000);

  it("returns a streamed reply as a ReadableStream of Workers AI SSE", async () => {
    const r = await run(mf, "@cf/meta/llama-3.1-8b-instruct-fp8", {
      messages: [{ role: "user", content: "what time is it" }],
      stream: true,
    });
    expect(r.kind).toBe("stream");
    const text = Buffer.from((r as { base64: string }).base64, "base64").toString("utf8");
    const payloads = new SseDecoder().push(text);
    expect(payloads.at(-1)).toBe("[DONE]");
    const events = payloads.slice(0, -1).map((p) => LlmStreamChunk.parse(JSON.parse(p)));
    expect(StandInMarker.parse(events[0]).engine).toBe("offline-responder");
    expect(events.map((e) => e.response).join("")).toMatch(/^It's \d{1,2}:\d\d [AP]M on this computer's clock\.$/);
    expect(events.at(-1)!.usage?.total_tokens).toBeGreaterThan(0);
  });

  it("returns melotts as {audio} and aura as a byte stream of WAV", async () => {
    const mel = await run(mf, "@cf/myshell-ai/melotts", { prompt: "Hello." });
    expect(mel.kind).toBe("object");
    expect(decodeWav(unb64(MelottsOutput.parse((mel as { out: unknown }).out).audio)).sampleRate).toBe(16000);
    const aura = await run(mf, "@cf/deepgram/aura-1", { text: "Hello." });
    expect(aura.kind).toBe("stream");
    expect(decodeWav(unb64((aura as { base64: string }).base64)).samples.length).toBeGreaterThan(1000);
  });

  it("returns the raw Response with returnRawResponse, as the real binding does", async () => {
    expect(await run(mf, "@cf/deepgram/aura-2-en", { text: "Hello." }, { returnRawResponse: true })).toEqual({
      kind: "response",
      status: 200,
      type: "audio/wav",
    });
  });

  it("throws Workers AI's error messages across RPC", async () => {
    expect(await run(mf, "@cf/acme/unknown", { prompt: "x" })).toEqual({
      kind: "error",
      message: "5007: No such model @cf/acme/unknown or task",
    });
    const bad = await run(mf, "@cf/openai/whisper", { audio: "not an array" });
    expect(bad.kind === "error" && bad.message).toMatch(/^8001: Invalid input for @cf\/openai\/whisper: audio/);
  });

  it("says how to start the engine server when it is not running", async () => {
    const r = await run(deadMf, "@cf/myshell-ai/melotts", { prompt: "Hello." });
    expect(r.kind).toBe("error");
    expect((r as { message: string }).message).toMatch(
      /^3043: The local AI engine server at http:\/\/127\.0\.0\.1:\d+ is not reachable .*npm start/,
    );
  });
});
