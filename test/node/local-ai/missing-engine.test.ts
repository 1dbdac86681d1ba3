// When PocketSphinx is missing, speech-to-text fails fast with an error that names the install
// command; speech output and typed text keep working.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LlmOutput } from "../../../shared/workers-ai/llm.ts";
import { MelottsOutput } from "../../../shared/workers-ai/text-to-speech.ts";
import { encodeWav } from "../../../shared/audio/wav.ts";
import { startEngineServer, type HealthReport } from "../../../local-ai/engine-server.ts";
import { STT_INSTALL_COMMAND } from "../../../local-ai/errors.ts";
import { b64, callModel, LiveClient, liveUrl } from "./local-ai-support.ts";

const INSTALL = "sudo apt-get install -y pocketsphinx pocketsphinx-en-us python3-pocketsphinx";
const wav = encodeWav(new Int16Array(8000), 16000);
const dir = mkdtempSync(join(tmpdir(), "parley-missing-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withServer(env: Record<string, string>, fn: (url: string) => Promise<void>) {
  const server = await startEngineServer({ port: 0, env: { LOCAL_AI_FIRST_TOKEN_MS: "0", LOCAL_AI_TOKEN_MS: "0", ...env } });
  try {
    await server.ready;
    await fn(server.url);
  } finally {
    await server.close();
  }
}

async function sttError(url: string): Promise<{ status: number; error: string }> {
  const res = await callModel(url, "@cf/openai/whisper-large-v3-turbo", { audio: b64(wav) });
  return { status: res.status, error: ((await res.json()) as { error: string }).error };
}

describe("missing speech-to-text engine", () => {
  it("the install command is the exact one", () => {
    expect(STT_INSTALL_COMMAND).toBe(INSTALL);
  });

  it("no python at the configured path: 5004 naming the install command; TTS and replies still work", async () => {
    await withServer({ LOCAL_AI_PYTHON: "/nonexistent/python3" }, async (url) => {
      const started = Date.now();
      const { status, error } = await sttError(url);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(status).toBe(400);
      expect(error).toMatch(/^5004: Speech recognition \(PocketSphinx\) is not available offline: \/nonexistent\/python3 not found\./);
      expect(error).toContain(`Install it with: ${INSTALL}`);

      // the byte-array models fail the same way
      const whisper = await callModel(url, "@cf/openai/whisper", { audio: Array.from(wav) });
      expect(((await whisper.json()) as { error: string }).error).toContain(INSTALL);

      const h = (await (await fetch(`${url}/health`)).json()) as HealthReport;
      expect(h.ready).toBe(true);
      expect(h.engines.stt).toMatchObject({ state: "unavailable", install: INSTALL });

      const tts = await callModel(url, "@cf/myshell-ai/melotts", { prompt: "Still speaking." });
      expect(tts.status).toBe(200);
      MelottsOutput.parse(await tts.json());
      const reply = await callModel(url, "@cf/meta/llama-3.1-8b-instruct-fp8", { messages: [{ role: "user", content: "tell me a joke" }] });
      expect(LlmOutput.parse(await reply.json()).response).toMatch(/scarecrow/);
    });
  }, 30_000);

  it("the live socket (nova-3) says the same: an Error naming the install command, then close 1011", async () => {
    await withServer({ LOCAL_AI_PYTHON: "/nonexistent/python3" }, async (url) => {
      const c = new LiveClient(liveUrl(url));
      await c.opened;
      await c.sendAudio(new Uint8Array(3200));
      const closed = await c.closed;
      expect(closed.code).toBe(1011);
      expect(c.messages()).toHaveLength(1);
      expect(c.messages()[0]!.type).toBe("Error");
      expect(c.messages()[0]!.description).toMatch(
        /^5004: Speech recognition \(PocketSphinx\) is not available offline: \/nonexistent\/python3 not found\./,
      );
      expect(c.messages()[0]!.description).toContain(INSTALL);
    });
  }, 30_000);

  it("python without the pocketsphinx module (e.g. a pyenv python): names python3-pocketsphinx", async () => {
    // -S drops site-packages, so `import pocketsphinx` fails just as in a python without the Debian module.
    const python = join(dir, "python-without-pocketsphinx");
    writeFileSync(python, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    chmodSync(python, 0o755);
    await withServer({ LOCAL_AI_PYTHON: python }, async (url) => {
      const { status, error } = await sttError(url);
      expect(status).toBe(400);
      expect(error).toMatch(/^5004: .*python3-pocketsphinx is missing for .*python-without-pocketsphinx/);
      expect(error).toContain(INSTALL);
    });
  }, 30_000);

  it("no en-us model: names the missing files and the install command", async () => {
    await withServer({ LOCAL_AI_STT_MODEL_DIR: join(dir, "no-model") }, async (url) => {
      const { error } = await sttError(url);
      expect(error).toMatch(/^5004: .*the en-us model is missing \(model files missing: .*no-model\/en-us/);
      expect(error).toContain(INSTALL);
    });
  }, 30_000);
});
