// Offline turn latency: end of the user's speech -> first reply audio, through the local-ai engine
// server (PocketSphinx general model, offline responder, flite), endpointing included, for the two
// ways Parley can hear a turn:
//
//   batch      the server's turn detector waits for 500 ms of silence after the speech, then
//              transcribes the whole utterance (POST @cf/openai/whisper-large-v3-turbo, base64 WAV).
//   streaming  the audio goes to the live socket (/live, @cf/deepgram/nova-3 protocol) in real time,
//              20 ms frames, while PocketSphinx decodes it; the client ends the turn after 250 ms of
//              silence once the transcript so far has words (else after 500 ms), sends Finalize and
//              takes the final transcript.
//
// Then, for both: reply  POST @cf/meta/llama-3.1-8b-instruct-fp8 stream:true until the first
// speakable chunk (a sentence, or a clause of >= 20 characters, like the server's chunker), and
// TTS  POST @cf/myshell-ai/melotts of that chunk. The reply stream keeps running while TTS works.
//
// "End of speech" is the last voiced sample of the clip (10 ms frames within 35 dB of the clip's
// loudest and above -50 dBFS), not the end of the WAV. Speech: the 12 command sentences and 30
// Harvard sentences (held out: never used to tune anything), spoken by flite voices (and espeak-ng
// if installed). Also reports word error rate per set and path.
//
//   npm run bench:local                 (LOCAL_LLM_URL etc. are passed on to the engine server)
//   BENCH_ROUNDS=2 npm run bench:local  BENCH_STREAM_SILENCE_MS=250 BENCH_STREAM_FALLBACK_MS=500
//   BENCH_SETS=commands                 (commands, harvard or both)
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { encodeWav } from "../shared/audio/wav.ts";
import { SseDecoder } from "../shared/workers-ai/llm-stream.ts";
import { novaLiveInputs } from "../server/speech-to-text/nova-live.ts";
import { decodeWav } from "../local-ai/audio.ts";
import { Flite } from "../local-ai/engines/flite.ts";
import type { HealthReport } from "../local-ai/engine-server.ts";
import { wordErrors } from "../local-ai/wer.ts";
import { LiveMic, type EndpointRule } from "./local/live-mic.ts";
import { COMMAND_VOICES, COMMANDS, HARVARD, HARVARD_VOICES } from "./local/sentences.ts";
import { espeak, espeakVersion, speechBounds, wavPcm } from "./local/speech.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const STT_MODEL = "@cf/openai/whisper-large-v3-turbo";
const LLM_MODEL = "@cf/meta/llama-3.1-8b-instruct-fp8";
const TTS_MODEL = "@cf/myshell-ai/melotts";
const LIVE_MODEL = "@cf/deepgram/nova-3";
/** Exactly what the Durable Object opens the socket with. */
const LIVE_INPUTS = novaLiveInputs({ language: "en", keyterms: [] }) as Record<string, string>;
const TARGET_P50_MS = 1500;
const FIRST_CHUNK_MIN_CHARS = 20;
const BATCH_SILENCE_MS = 500;
const num = (v: string | undefined, d: number) => (v && Number.isFinite(Number(v)) ? Number(v) : d);
const STREAM_RULE: EndpointRule = {
  silenceMs: num(process.env.BENCH_STREAM_SILENCE_MS, 250),
  fallbackMs: num(process.env.BENCH_STREAM_FALLBACK_MS, 500),
};
const PAUSE_BETWEEN_TURNS_MS = 300;

interface Clip {
  set: "commands" | "harvard" | "harvard/espeak-ng";
  text: string;
  voice: string;
  pcm: Int16Array;
  speechStart: number;
  speechEnd: number;
}

interface BatchRow {
  endpointingMs: number;
  sttMs: number;
  replyMs: number;
  ttsMs: number;
  endToEndMs: number;
  heard: string;
}
interface StreamRow {
  endpointingMs: number;
  finalizeMs: number;
  replyMs: number;
  ttsMs: number;
  endToEndMs: number;
  heard: string;
  endpointRule: string;
  interimsBeforeEnd: number;
  firstInterimAfterSpeechStartMs: number | undefined;
}
interface Row {
  set: string;
  text: string;
  voice: string;
  speechMs: number;
  batch: BatchRow;
  streaming: StreamRow;
  firstChunk: string;
}

async function run(base: string, model: string, inputs: unknown): Promise<Response> {
  const res = await fetch(`${base}/run`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, inputs }),
  });
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
    if (sentence && sentence.index > 0) return sentence.index + 1;
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
      const rest = (async () => {
        while (!(await reader.read()).done);
      })();
      return { chunk: text.slice(0, at).trim(), engine, rest };
    }
  }
}

/** Reply to `transcript` and speak its first chunk: times of the two stages. */
async function replyAndSpeak(
  base: string,
  transcript: string,
): Promise<{ replyMs: number; ttsMs: number; chunk: string; engines: string[] }> {
  const t0 = performance.now();
  const messages = [
    { role: "system", content: "You are Parley, a helpful voice assistant. Answer in one or two short spoken sentences." },
    { role: "user", content: transcript },
  ];
  const reply = await firstChunk(await run(base, LLM_MODEL, { messages, stream: true, max_tokens: 256 }));
  const t1 = performance.now();
  const tts = (await (await run(base, TTS_MODEL, { prompt: reply.chunk })).json()) as { audio: string; engine: string };
  if (decodeWav(new Uint8Array(Buffer.from(tts.audio, "base64"))).samples.length === 0) throw new Error("TTS returned no audio");
  const t2 = performance.now();
  await reply.rest;
  return { replyMs: t1 - t0, ttsMs: t2 - t1, chunk: reply.chunk, engines: [reply.engine, tts.engine] };
}

/** (a) batch: 500 ms of silence endpointing, then STT of the utterance, reply, TTS. */
async function batchTurn(base: string, clip: Clip): Promise<BatchRow & { chunk: string; engines: string[] }> {
  // What the turn detector holds at its end of turn: the speech and the 500 ms of silence after it.
  const held = new Int16Array(clip.speechEnd + (BATCH_SILENCE_MS * 16000) / 1000);
  held.set(clip.pcm.subarray(0, Math.min(clip.pcm.length, held.length)));
  const wav = Buffer.from(encodeWav(held, 16000)).toString("base64");
  const t0 = performance.now(); // the last voiced sample
  await new Promise((r) => setTimeout(r, BATCH_SILENCE_MS - (performance.now() - t0)));
  const t1 = performance.now();
  const stt = (await (await run(base, STT_MODEL, { audio: wav, language: "en" })).json()) as { text: string; engine: string };
  const t2 = performance.now();
  const r = await replyAndSpeak(base, stt.text);
  return {
    endpointingMs: t1 - t0,
    sttMs: t2 - t1,
    replyMs: r.replyMs,
    ttsMs: r.ttsMs,
    endToEndMs: t2 - t0 + r.replyMs + r.ttsMs,
    heard: stt.text,
    chunk: r.chunk,
    engines: [stt.engine, ...r.engines],
  };
}

/** (b) streaming: real-time audio over the live socket, Finalize at the end of turn, reply, TTS. */
async function streamTurn(base: string, mic: LiveMic, clip: Clip): Promise<StreamRow> {
  const t = await mic.turn(clip.pcm, clip.speechStart, clip.speechEnd, STREAM_RULE);
  const r = await replyAndSpeak(base, t.transcript);
  return {
    endpointingMs: t.finalizeAt - t.endOfSpeechAt,
    finalizeMs: t.finalAt - t.finalizeAt,
    replyMs: r.replyMs,
    ttsMs: r.ttsMs,
    endToEndMs: t.finalAt - t.endOfSpeechAt + r.replyMs + r.ttsMs,
    heard: t.transcript,
    endpointRule: t.endpointRule,
    interimsBeforeEnd: t.interimsBeforeEnd,
    firstInterimAfterSpeechStartMs: t.firstInterimAfterSpeechStartMs,
  };
}

/** Times to 0.1 ms in the saved rows. */
function tenths<T extends object>(o: T): T {
  return Object.fromEntries(
    Object.entries(o).map(([k, v]) => [k, typeof v === "number" && k.endsWith("Ms") ? Math.round(v * 10) / 10 : v]),
  ) as T;
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo]! + (s[hi]! - s[lo]!) * (rank - lo);
}
const stat = (values: number[]) => ({ p50: Math.round(percentile(values, 50)), p95: Math.round(percentile(values, 95)) });

async function startEngineServer(): Promise<{ base: string; health: HealthReport; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", resolve(root, "local-ai/engine-server.ts"), "--exit-with-stdin"],
    {
      cwd: root,
      env: { ...process.env, LOCAL_AI_PORT: "0" },
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
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
  let health: HealthReport;
  for (;;) {
    health = (await (await fetch(`${base}/health`)).json()) as HealthReport;
    if (health.ready) {
      if (health.engines.stt.state !== "ready") throw new Error(`speech-to-text is not available: ${health.engines.stt.error}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    health,
    stop: () =>
      new Promise<void>((resolveStop) => {
        child.once("exit", () => resolveStop());
        child.kill("SIGTERM");
      }),
  };
}

// --- speech ---------------------------------------------------------------------------------------
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS || 1));
const setsWanted = (process.env.BENCH_SETS || "both").toLowerCase();
const flite = new Flite();
const clips: Clip[] = [];
const add = (set: Clip["set"], text: string, voice: string, pcm: Int16Array) => {
  const b = speechBounds(pcm);
  clips.push({ set, text, voice, pcm, speechStart: b.start, speechEnd: b.end });
};
if (setsWanted !== "harvard")
  for (const [i, text] of COMMANDS.entries())
    add(
      "commands",
      text,
      COMMAND_VOICES[i % COMMAND_VOICES.length]!,
      wavPcm(await flite.synthesize(text, COMMAND_VOICES[i % COMMAND_VOICES.length])),
    );
if (setsWanted !== "commands") {
  for (const [i, text] of HARVARD.entries())
    add(
      "harvard",
      text,
      HARVARD_VOICES[i % HARVARD_VOICES.length]!,
      wavPcm(await flite.synthesize(text, HARVARD_VOICES[i % HARVARD_VOICES.length])),
    );
}
const espeakNg = espeakVersion();
if (espeakNg && setsWanted !== "commands") {
  for (const text of HARVARD) {
    try {
      add("harvard/espeak-ng", text, "espeak-ng/en-us+klatt", espeak(text));
    } catch (e) {
      console.log(`espeak-ng skipped: ${(e as Error).message}`);
      break;
    }
  }
}
flite.close();

// --- run ------------------------------------------------------------------------------------------
const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? "?",
  loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
  node: process.version,
};
const server = await startEngineServer();
const mic = new LiveMic(`${server.base.replace(/^http/, "ws")}/live?${new URLSearchParams({ model: LIVE_MODEL, ...LIVE_INPUTS })}`);
const rows: Row[] = [];
let engines: string[] = [];
try {
  await mic.open();
  // Warm-up, not counted: one turn each way.
  await batchTurn(server.base, clips[0]!);
  await streamTurn(server.base, mic, clips[0]!);
  await mic.idle(PAUSE_BETWEEN_TURNS_MS);
  console.log(
    `${clips.length} clips x ${rounds} round(s); streaming endpoint: ${STREAM_RULE.silenceMs} ms of silence once the transcript has words, else ${STREAM_RULE.fallbackMs} ms`,
  );
  console.log(`   batch: e2e = 500 ms silence + STT + reply + TTS | streaming: e2e = endpoint + finalize + reply + TTS`);
  for (let r = 0; r < rounds; r++) {
    for (const clip of clips) {
      const batch = await batchTurn(server.base, clip);
      engines = batch.engines;
      const streaming = await streamTurn(server.base, mic, clip);
      await mic.idle(PAUSE_BETWEEN_TURNS_MS);
      const { chunk, engines: _e, ...b } = batch;
      const row: Row = {
        set: clip.set,
        text: clip.text,
        voice: clip.voice,
        speechMs: Math.round(((clip.speechEnd - clip.speechStart) / 16000) * 1000),
        batch: tenths(b),
        streaming: tenths(streaming),
        firstChunk: chunk,
      };
      rows.push(row);
      const ms = (n: number) => String(Math.round(n)).padStart(5);
      console.log(
        `batch ${ms(b.endToEndMs)} (stt ${ms(b.sttMs)}) | stream ${ms(streaming.endToEndMs)} (endpoint ${ms(streaming.endpointingMs)}, final ${ms(streaming.finalizeMs)}) | reply ${ms(streaming.replyMs)} tts ${ms(streaming.ttsMs)} ` +
          `[${clip.voice.padEnd(5)}] "${clip.text}" -> batch "${b.heard}" / stream "${streaming.heard}"`,
      );
    }
  }
} finally {
  await mic.close();
  await server.stop();
}

// --- report ---------------------------------------------------------------------------------------
const b = (k: keyof BatchRow) => stat(rows.map((r) => r.batch[k] as number));
const s = (k: keyof StreamRow) => stat(rows.map((r) => r.streaming[k] as number));
const latency = {
  batch: {
    endpointing: b("endpointingMs"),
    stt: b("sttMs"),
    replyFirstChunk: b("replyMs"),
    ttsFirstChunk: b("ttsMs"),
    endToEnd: b("endToEndMs"),
  },
  streaming: {
    endpointing: s("endpointingMs"),
    finalize: s("finalizeMs"),
    replyFirstChunk: s("replyMs"),
    ttsFirstChunk: s("ttsMs"),
    endToEnd: s("endToEndMs"),
  },
};
const ratio = {
  p50: Number((latency.batch.endToEnd.p50 / latency.streaming.endToEnd.p50).toFixed(2)),
  p95: Number((latency.batch.endToEnd.p95 / latency.streaming.endToEnd.p95).toFixed(2)),
};
const werOf = (set: string, path: "batch" | "streaming") => {
  const e = rows
    .filter((r) => r.set === set)
    .reduce(
      (a, r) => {
        const w = wordErrors(r.text, r[path].heard);
        return { errors: a.errors + w.errors, words: a.words + w.words };
      },
      { errors: 0, words: 0 },
    );
  return { wer: e.words ? Number((e.errors / e.words).toFixed(3)) : null, errors: e.errors, words: e.words };
};
const werSets = ["commands", "harvard", "harvard/espeak-ng"].filter((set) => rows.some((r) => r.set === set));
const wer = Object.fromEntries(werSets.map((set) => [set, { batch: werOf(set, "batch"), streaming: werOf(set, "streaming") }]));
const streamingRows = rows.map((r) => r.streaming);
const fallbackTurns = streamingRows.filter((r) => r.endpointRule === "fallback").length;
const interimsBefore = stat(streamingRows.map((r) => r.interimsBeforeEnd));
const firstInterim = stat(
  streamingRows.flatMap((r) => (r.firstInterimAfterSpeechStartMs === undefined ? [] : [r.firstInterimAfterSpeechStartMs])),
);

const summary = {
  date: new Date().toISOString(),
  machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Number(l.toFixed(2))) },
  engines,
  config: {
    replyPacing: server.health.engines.reply.pacing ?? null,
    liveDecoderSecondPass: (process.env.LOCAL_AI_LIVE_FWDFLAT ?? "1") !== "0",
    batchEndpointingSilenceMs: BATCH_SILENCE_MS,
    streamingEndpoint: {
      ...STREAM_RULE,
      rule: `Finalize after ${STREAM_RULE.silenceMs} ms of silence after the last voiced sample if the turn's transcript (finals + latest interim) has words, else after ${STREAM_RULE.fallbackMs} ms`,
    },
    rounds,
  },
  data: {
    clips: clips.length,
    sets: {
      commands: {
        sentences: COMMANDS.length,
        voices: [...COMMAND_VOICES],
        note: "the sentences the stand-in has been checked with since it was written",
      },
      harvard: {
        sentences: HARVARD.length,
        voices: [...HARVARD_VOICES, ...(espeakNg ? ["espeak-ng en-us+klatt"] : [])],
        note: "Harvard sentences lists 1-3 (IEEE 1969, public domain), never used for tuning",
        espeakNg: espeakNg ?? "not installed",
      },
    },
  },
  description: {
    endOfSpeech:
      "the capture time of the clip's last voiced sample (10 ms frames within 35 dB of the clip's loudest and above -50 dBFS); the WAV's trailing silence is not speech",
    "batch.endpointing": "end of speech -> the turn detector's end of turn: 500 ms of silence, waited in real time",
    "batch.stt": "POST whisper-large-v3-turbo with the utterance (speech + 500 ms of silence) -> transcript",
    "streaming.endpointing":
      "end of speech -> Finalize sent; the audio streams to /live in real time in 20 ms frames (silence before and after each clip), the rule is config.streamingEndpoint.rule",
    "streaming.finalize":
      "Finalize sent -> the Results with from_finalize:true received (PocketSphinx ends the segment; the audio was decoded while it arrived)",
    replyFirstChunk: "transcript -> first speakable chunk of the streamed reply (a sentence, or a clause >= 20 characters)",
    ttsFirstChunk: "first chunk -> its WAV from melotts (flite)",
    endToEnd: "end of speech -> first reply audio ready, endpointing included; the browser's playback and the network are not included",
    ratio: "batch end-to-end / streaming end-to-end, at p50 and at p95",
    wer: "word error rate (word-level Levenshtein / reference words, punctuation and case ignored) of the transcript each path produced, per set",
    interimsBeforeEndOfSpeech: "interim Results received before the end of speech, per turn",
    firstInterimWithWords: "speech start -> first interim Results with words (ms)",
    machine: "cores and CPU of this machine, load average (1, 5, 15 min) when the run started and ended",
  },
  latency,
  ratio,
  wer,
  streamingExtras: {
    interimsBeforeEndOfSpeech: interimsBefore,
    firstInterimWithWordsMs: firstInterim,
    turnsEndedByFallback: fallbackTurns,
  },
  targetP50Ms: TARGET_P50_MS,
};

const line = (name: string, v: { p50: number; p95: number } | undefined) =>
  v ? `${name.padEnd(32)} ${String(v.p50).padStart(6)} ms ${String(v.p95).padStart(6)} ms` : "";
console.log("");
console.log(
  `engines: ${engines.join(", ")}; reply pacing ${summary.config.replyPacing ? JSON.stringify(summary.config.replyPacing) : "off"}; ${rows.length} turns per path; ${machine.cores} cores, load ${machine.loadAverageAtStart.join(" ")} at start`,
);
console.log(
  `end of speech = the clip's last voiced sample. Streaming endpoint: ${summary.config.streamingEndpoint.rule} (${fallbackTurns} turns needed the fallback).`,
);
console.log(`\n(a) batch                          p50       p95`);
console.log(line("endpointing (500 ms silence)", latency.batch.endpointing));
console.log(line("STT (whole utterance)", latency.batch.stt));
console.log(line("reply first chunk", latency.batch.replyFirstChunk));
console.log(line("TTS first chunk", latency.batch.ttsFirstChunk));
console.log(line("end of speech -> first audio", latency.batch.endToEnd));
console.log(`\n(b) streaming                      p50       p95`);
console.log(line(`endpointing (${STREAM_RULE.silenceMs} ms + words)`, latency.streaming.endpointing));
console.log(line("Finalize -> final transcript", latency.streaming.finalize));
console.log(line("reply first chunk", latency.streaming.replyFirstChunk));
console.log(line("TTS first chunk", latency.streaming.ttsFirstChunk));
console.log(line("end of speech -> first audio", latency.streaming.endToEnd));
console.log(`\nbatch / streaming end to end: ${ratio.p50}x at p50, ${ratio.p95}x at p95`);
console.log(
  `streaming: interim results before the end of speech p50 ${interimsBefore.p50} per turn; speech start -> first interim with words p50 ${firstInterim.p50} ms`,
);
console.log(`\nword error rate         batch                 streaming`);
for (const [set, w] of Object.entries(wer)) {
  const f = (x: { wer: number | null; errors: number; words: number }) =>
    `${x.wer === null ? "-" : (x.wer * 100).toFixed(1)} % (${x.errors}/${x.words})`.padEnd(22);
  console.log(`${set.padEnd(22)} ${f(w.batch)} ${f(w.streaming)}`);
}
console.log(
  `\ntarget p50 <= ${TARGET_P50_MS} ms: batch ${latency.batch.endToEnd.p50 <= TARGET_P50_MS ? "met" : "NOT met"}, streaming ${latency.streaming.endToEnd.p50 <= TARGET_P50_MS ? "met" : "NOT met"}`,
);
const out = resolve(root, "bench/results/local-turn-latency.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ summary, rows }, null, 2));
console.log(`details: ${out}`);
