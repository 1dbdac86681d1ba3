// Offline turn latency: end of speech -> first audio, through the local-ai engine server, with the
// general (open-vocabulary) PocketSphinx model. For each flite-generated utterance:
//   1. STT    POST @cf/openai/whisper-large-v3-turbo (base64 WAV)          -> transcript
//   2. reply  POST @cf/meta/llama-3.1-8b-instruct-fp8 stream:true          -> first speakable chunk
//             (a sentence, or a clause of >= 20 characters, like the server's chunker)
//   3. TTS    POST @cf/myshell-ai/melotts with that chunk                   -> WAV
// The stream keeps running while TTS works, as in a real turn. Prints per-stage p50/p95.
//
//   npm run bench:local          (LOCAL_LLM_URL etc. are passed on to the engine server)
//   BENCH_ROUNDS=3 npm run bench:local
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { decodeWav } from "../local-ai/audio.ts";
import { Flite } from "../local-ai/engines/flite.ts";
import { SseDecoder } from "../server/reply/sse-parser.ts";
import { wordErrors } from "../local-ai/wer.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const STT_MODEL = "@cf/openai/whisper-large-v3-turbo";
const LLM_MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8";
const TTS_MODEL = "@cf/myshell-ai/melotts";
const TARGET_P50_MS = 1500;
const FIRST_CHUNK_MIN_CHARS = 20;

const UTTERANCES = [
  "what is the weather in paris tomorrow",
  "set a timer for ten minutes",
  "tell me a joke",
  "what time is it",
  "how tall is the eiffel tower",
  "remind me to call my mother tonight",
  "what is the capital of france",
  "play some relaxing music",
  "turn off the lights in the kitchen",
  "how do i make a cup of tea",
  "set a timer for five minutes",
  "what is the time in london",
];
const VOICES = ["rms", "slt", "kal16"] as const;

interface Row {
  utterance: string;
  voice: string;
  audioMs: number;
  heard: string;
  sttMs: number;
  replyMs: number;
  ttsMs: number;
  firstAudioMs: number;
  firstChunk: string;
  engines: string[];
}

async function run(base: string, model: string, inputs: unknown): Promise<Response> {
  const res = await fetch(`${base}/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, inputs }) });
  if (!res.ok) throw new Error(`${model}: ${((await res.json()) as { error: string }).error}`);
  return res;
}

/** Read the SSE reply until the first speakable chunk; the rest keeps streaming in the background. */
async function firstChunk(res: Response): Promise<{ chunk: string; engine: string; rest: Promise<void> }> {
  const reader = res.body!.getReader();
  const parser = new SseDecoder();
  const decoder = new TextDecoder();
  let text = "";
  let engine = "?";
  const boundary = (t: string): number => {
    const sentence = /[.!?](\s|$)/.exec(t);
    if (sentence && (sentence.index > 0)) return sentence.index + 1;
    const clause = /[,;:](\s)/g;
    for (let m = clause.exec(t); m; m = clause.exec(t)) if (m.index + 1 >= FIRST_CHUNK_MIN_CHARS) return m.index + 1;
    return -1;
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { chunk: text.trim(), engine, rest: Promise.resolve() };
    for (const payload of parser.push(decoder.decode(value, { stream: true }))) {
      if (payload === "[DONE]") continue;
      const ev = JSON.parse(payload) as { response?: string; engine?: string };
      if (ev.engine) engine = ev.engine;
      text += ev.response ?? "";
    }
    const at = boundary(text);
    if (at > 0) {
      const rest = (async () => { while (!(await reader.read()).done); })();
      return { chunk: text.slice(0, at).trim(), engine, rest };
    }
  }
}

async function turn(base: string, wav: Uint8Array): Promise<Omit<Row, "utterance" | "voice" | "audioMs">> {
  const t0 = performance.now();
  const stt = (await (await run(base, STT_MODEL, { audio: Buffer.from(wav).toString("base64"), language: "en" })).json()) as { text: string; engine: string };
  const t1 = performance.now();
  const messages = [
    { role: "system", content: "You are Parley, a helpful voice assistant. Answer in one or two short spoken sentences." },
    { role: "user", content: stt.text },
  ];
  const reply = await firstChunk(await run(base, LLM_MODEL, { messages, stream: true, max_tokens: 256 }));
  const t2 = performance.now();
  const tts = (await (await run(base, TTS_MODEL, { prompt: reply.chunk })).json()) as { audio: string; engine: string };
  const audio = decodeWav(new Uint8Array(Buffer.from(tts.audio, "base64")));
  if (audio.samples.length === 0) throw new Error("TTS returned no audio");
  const t3 = performance.now();
  await reply.rest;
  return {
    heard: stt.text,
    sttMs: t1 - t0,
    replyMs: t2 - t1,
    ttsMs: t3 - t2,
    firstAudioMs: t3 - t0,
    firstChunk: reply.chunk,
    engines: [stt.engine, reply.engine, tts.engine],
  };
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}

async function startEngineServer(): Promise<{ base: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", resolve(root, "local-ai/engine-server.ts"), "--exit-with-stdin"], {
    cwd: root,
    env: { ...process.env, LOCAL_AI_PORT: "0" },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const base = await new Promise<string>((resolveBase, reject) => {
    const timer = setTimeout(() => reject(new Error("engine server did not start within 30 s")), 30_000);
    child.once("exit", (code) => reject(new Error(`engine server exited with code ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const m = /engine server on (http:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolveBase(m[1]!);
      }
    });
  });
  for (;;) {
    const h = (await (await fetch(`${base}/health`)).json()) as { ready: boolean; engines: { stt: { state: string; error?: string } } };
    if (h.ready) {
      if (h.engines.stt.state !== "ready") throw new Error(`speech-to-text is not available: ${h.engines.stt.error}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    stop: () =>
      new Promise<void>((resolveStop) => {
        child.once("exit", () => resolveStop());
        child.kill("SIGTERM");
      }),
  };
}

const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS || 1));
const flite = new Flite();
const clips = UTTERANCES.map((utterance, i) => ({ utterance, voice: VOICES[i % VOICES.length]! }));
const wavs = await Promise.all(clips.map((c) => flite.synthesize(c.utterance, c.voice)));
flite.close();

const server = await startEngineServer();
try {
  await turn(server.base, wavs[0]!); // warm-up, not counted
  const rows: Row[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < clips.length; i++) {
      const d = decodeWav(wavs[i]!);
      const row = { ...clips[i]!, audioMs: (d.samples.length / d.sampleRate) * 1000, ...(await turn(server.base, wavs[i]!)) };
      rows.push(row);
      console.log(
        `${String(Math.round(row.firstAudioMs)).padStart(5)} ms  stt ${String(Math.round(row.sttMs)).padStart(4)}  reply ${String(Math.round(row.replyMs)).padStart(4)}  tts ${String(Math.round(row.ttsMs)).padStart(4)}  ` +
          `[${row.voice.padEnd(5)} ${(row.audioMs / 1000).toFixed(1)} s] "${row.utterance}" -> heard "${row.heard}"`,
      );
    }
  }
  const stat = (k: "sttMs" | "replyMs" | "ttsMs" | "firstAudioMs") => ({
    p50: Math.round(percentile(rows.map((r) => r[k]), 50)),
    p95: Math.round(percentile(rows.map((r) => r[k]), 95)),
  });
  const errs = rows.reduce((a, r) => { const e = wordErrors(r.utterance, r.heard); return { errors: a.errors + e.errors, words: a.words + e.words }; }, { errors: 0, words: 0 });
  const summary = {
    date: new Date().toISOString(),
    utterances: rows.length,
    engines: rows[0]?.engines,
    firstAudioMs: stat("firstAudioMs"),
    sttMs: stat("sttMs"),
    replyFirstChunkMs: stat("replyMs"),
    ttsFirstChunkMs: stat("ttsMs"),
    sttWer: Number((errs.errors / errs.words).toFixed(3)),
    targetP50Ms: TARGET_P50_MS,
  };
  console.log("");
  console.log(`engines: ${summary.engines?.join(", ")}; ${rows.length} utterances; STT WER ${(summary.sttWer * 100).toFixed(1)}% (${errs.errors}/${errs.words} words)`);
  console.log(`stage               p50      p95`);
  for (const [name, s] of [["STT", summary.sttMs], ["reply first chunk", summary.replyFirstChunkMs], ["TTS first chunk", summary.ttsFirstChunkMs], ["end of speech -> first audio", summary.firstAudioMs]] as const) {
    console.log(`${name.padEnd(30)} ${String(s.p50).padStart(5)} ms ${String(s.p95).padStart(5)} ms`);
  }
  console.log(`target p50 <= ${TARGET_P50_MS} ms: ${summary.firstAudioMs.p50 <= TARGET_P50_MS ? "met" : "NOT met"}`);
  const out = resolve(root, "bench/results/local-turn-latency.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ summary, rows }, null, 2));
  console.log(`details: ${out}`);
} finally {
  await server.stop();
}
