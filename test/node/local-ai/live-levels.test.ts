// The live socket (/live) with a real PocketSphinx decoder, fed what a browser microphone delivers:
// room noise before the user speaks (the VAD triggers on a stream's first frames) and speech
// levelled by the browser's gain control close to full scale. Each speech segment must be decoded
// with its own cepstral mean (pocketsphinx_worker.py, LiveCmn): with PocketSphinx's running mean
// the first segment of a stream came out as "hua really" for "what is the weather in paris tomorrow".
// Also LOCAL_AI_DUMP_DIR, which records what a socket received so it can be decoded again offline.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWav } from "../../../shared/audio/wav.ts";
import { startEngineServer, type EngineServer } from "../../../local-ai/engine-server.ts";
import type { LiveDump } from "../../../local-ai/live-transcription.ts";
import { wordErrorRate } from "../../../local-ai/wer.ts";
import { joinFinals, LiveClient, liveUrl, pcmBytes, speak } from "./local-ai-support.ts";
import { concatArrays } from "../../../shared/typed-arrays.ts";

let server: EngineServer;
let dumpDir: string;

beforeAll(async () => {
  dumpDir = mkdtempSync(join(tmpdir(), "parley-live-dump-"));
  server = await startEngineServer({ port: 0, env: { LOCAL_AI_LIVE_MAX: "2", LOCAL_AI_DUMP_DIR: dumpDir } });
  await server.ready;
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(dumpDir, { recursive: true, force: true });
});

/** About -66 dBFS of white noise, as a quiet room through a microphone (never digital silence). */
function roomNoise(ms: number, seed: number): Int16Array {
  const out = new Int16Array((ms * 16000) / 1000);
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (a * 1664525 + 1013904223) >>> 0;
    out[i] = Math.round(((a / 4294967296) * 2 - 1) * 28);
  }
  return out;
}

/** `speech` scaled so its loudest sample is `peak` of full scale. */
function levelled(speech: Int16Array, peak: number): Int16Array {
  let max = 1;
  for (const s of speech) max = Math.max(max, Math.abs(s));
  const gain = (peak * 32767) / max;
  return speech.map((s) => Math.max(-32768, Math.min(32767, Math.round(s * gain))));
}

const samples = (wav: Uint8Array) => {
  const b = pcmBytes(wav);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const bytes = (pcm: Int16Array) => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
const concat = (...parts: Int16Array[]) => concatArrays(Int16Array, parts);

/** One stream: `pcm`, Finalize, the turn's transcript; the stream is closed either way. */
async function transcribeOneTurn(pcm: Int16Array): Promise<string> {
  const c = new LiveClient(liveUrl(server.url));
  try {
    await c.opened;
    await c.sendAudio(bytes(pcm));
    c.sendJson({ type: "Finalize" });
    await c.waitFor((m) => m.from_finalize === true, 10_000);
    return joinFinals(c.finals());
  } finally {
    c.close();
    await c.closed;
  }
}

describe("live recognition at a browser microphone's levels", () => {
  // In this order: each case is the next stream of the same engine server.
  it.each([
    {
      name: "recognises a stream's first segment of near-full-scale speech after room noise",
      sentence: "what is the weather in paris tomorrow",
      voice: "rms",
      peak: 0.97,
      noiseSeeds: [1, 2],
    },
    {
      name: "recognises the same voice at -30 dB on the next stream (the mean follows the level, not the previous stream)",
      sentence: "tell me a joke about the weather",
      voice: "slt",
      peak: 0.03,
      noiseSeeds: [3, 4],
    },
  ] as const)(
    "$name",
    async ({ sentence, voice, peak, noiseSeeds: [before, after] }) => {
      const speech = levelled(samples(await speak(sentence, voice)), peak);
      const text = await transcribeOneTurn(concat(roomNoise(1500, before), speech, roomNoise(400, after)));
      expect(wordErrorRate(sentence, text)).toBeLessThanOrEqual(0.15);
    },
    30_000,
  );

  it("LOCAL_AI_DUMP_DIR: writes the PCM a socket received and where Finalize arrived", async () => {
    const before = new Set(readdirSync(dumpDir));
    const first = roomNoise(700, 5);
    const second = roomNoise(300, 6);
    const c = new LiveClient(liveUrl(server.url));
    await c.opened;
    await c.sendAudio(bytes(first));
    c.sendJson({ type: "Finalize" });
    await c.waitFor((m) => m.from_finalize === true, 10_000);
    await c.sendAudio(bytes(second));
    c.close();
    await c.closed;
    const deadline = Date.now() + 3000;
    let added: string[] = [];
    while (added.length < 2 && Date.now() < deadline) {
      added = readdirSync(dumpDir).filter((f) => !before.has(f));
      await new Promise((r) => setTimeout(r, 20));
    }
    const wav = added.find((f) => f.endsWith(".wav"))!;
    const json = added.find((f) => f.endsWith(".json"))!;
    expect(wav.replace(/\.wav$/, "")).toBe(json.replace(/\.json$/, ""));
    const dumped = parseWav(readFileSync(join(dumpDir, wav)));
    expect(dumped.sampleRate).toBe(16000);
    expect(Array.from(dumped.pcm)).toEqual(Array.from(concat(first, second)));
    const meta = JSON.parse(readFileSync(join(dumpDir, json), "utf8")) as LiveDump;
    expect(meta.samples).toBe(first.length + second.length);
    expect(meta.finalizeAtSamples).toEqual([first.length]);
    expect(meta.finalizeAnsweredMs).toHaveLength(1);
    expect(meta.finals.some((f) => f.reason === "finalize")).toBe(true);
  }, 30_000);
});
