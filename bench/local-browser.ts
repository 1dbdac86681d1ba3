// Offline turn latency as a user measures it: `npm start`'s stack (vite dev: the Worker and Durable
// Object in workerd, the local stand-in with PocketSphinx decoding while the user speaks, the offline
// responder, flite) and Debian's Chromium with a fake microphone playing a flite WAV. For each clip,
// one fresh browser: the page creates a session, the mic button is clicked, the WAV plays once.
//
// Measured by the page itself (client/session/latency-clock.ts, the audio clock): from the end of the
// last voiced 20 ms frame of the user's speech (the client's own speech detector, i.e. the end of the
// WAV's speech to within a frame) to the first sample of the reply played by the playback worklet.
// That includes capture, the WebSocket both ways, endpointing, recognition, the reply, TTS, decoding
// and the playback buffer. Speech: Harvard sentences (never used to tune the engines) and a few
// assistant commands, in flite voices.
//
//   npm run bench:local:browser                  20 clips, npm start's defaults (streaming recognition + transcript signal)
//   BENCH_CLIPS=6 npm run bench:local:browser
//   BENCH_TEXTS="tell me a joke|what time is it" npm run bench:local:browser   your own sentences
//   PARLEY_VAR_STT_MODE=batch PARLEY_VAR_END_OF_TURN=silence npm run bench:local:browser   another path (any Parley var)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir, cpus } from "node:os";
import { join, resolve } from "node:path";
import type { ParleyTestHooks } from "../client/test-hooks.ts";
import { wordErrors } from "../local-ai/wer.ts";
import { launchWithFakeMic } from "../test/browser/chromium.ts";
import { ROOT, freePort, startDevServer } from "../test/browser/dev-server.ts";
import { concatWav, durationMs, fliteSpeech, silence, writeWav } from "../test/browser/wav-tools.ts";
import { dist } from "./harness/analyze.ts";
import { COMMANDS, HARVARD } from "./local/sentences.ts";

const TARGET_P50_MS = 900;
const LEAD_MS = 1_500;
/** Long enough for the reply to be played before the WAV ends (it is played once, not looped). */
const TAIL_MS = 12_000;
const VOICES = ["slt", "kal", "awb", "rms"];

/** The page's test hooks (client/test-hooks.ts), read inside the page. */
type PageGlobals = { __parley?: ParleyTestHooks };

interface ClipResult {
  text: string;
  voice: string;
  speechMs: number;
  heard: string;
  wordErrors: number;
  words: number;
  /** End of the user's speech (client VAD) -> first reply audio played (client audio clock). */
  firstAudioMs: number | null;
  /** The server's own figure: end of turn decided -> first audio byte sent. */
  serverFirstAudioMs: number | null;
}

async function main(): Promise<void> {
  const n = Math.max(1, Number(process.env.BENCH_CLIPS ?? "20") || 20);
  const texts = process.env.BENCH_TEXTS
    ? process.env.BENCH_TEXTS.split("|")
    : [...HARVARD.slice(0, Math.ceil((n * 3) / 4)), ...COMMANDS].slice(0, n);
  const load = loadavg()[0]!;
  const vars = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("PARLEY_VAR_")));
  console.log(
    `bench:local:browser: ${texts.length} clips, ${cpus().length} cores, load average ${load.toFixed(2)} at start${Object.keys(vars).length ? `, ${JSON.stringify(vars)}` : ""}`,
  );
  const server = await startDevServer({ ai: "local", env: { LOCAL_AI_PORT: String(await freePort()), LOCAL_LLM_URL: "" } });
  const dir = mkdtempSync(join(tmpdir(), "parley-bench-browser-"));
  const results: ClipResult[] = [];
  try {
    for (const [i, text] of texts.entries()) {
      const voice = VOICES[i % VOICES.length]!;
      const speech = await fliteSpeech(text, voice);
      const wav = join(dir, `clip-${i}.wav`);
      writeWav(wav, concatWav([roomNoise(speech.sampleRate, LEAD_MS, i), speech, roomNoise(speech.sampleRate, TAIL_MS, i + 1000)]));
      const r = await runClip(server.url, wav);
      const { errors, words } = wordErrors(text, r.heard);
      const result: ClipResult = {
        text,
        voice,
        speechMs: Math.round(durationMs(speech)),
        heard: r.heard,
        wordErrors: errors,
        words,
        firstAudioMs: r.firstAudioMs,
        serverFirstAudioMs: r.serverFirstAudioMs,
      };
      results.push(result);
      console.log(`  ${String(i + 1).padStart(2)} ${voice.padEnd(3)} ${fmt(result.firstAudioMs)} ms  "${r.heard}"`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.stop();
  }
  report(results, load, vars);
}

async function runClip(
  url: string,
  wav: string,
): Promise<{ heard: string; firstAudioMs: number | null; serverFirstAudioMs: number | null }> {
  const browser = await launchWithFakeMic(wav);
  try {
    const page = await browser.context.newPage();
    await page.goto(`${url}/`); // the page creates its session (POST /api/sessions), as a user's does
    await page.waitForFunction(() => (globalThis as PageGlobals).__parley?.connection === "ready", null, { timeout: 30_000 });
    await page.click('[data-testid="mic-button"]');
    try {
      await page.waitForFunction(() => ((globalThis as PageGlobals).__parley?.stats.turns[0]?.clientFirstAudioMs ?? null) !== null, null, {
        timeout: LEAD_MS + TAIL_MS,
      });
      // reply-done brings the server's own figure.
      await page.waitForFunction(() => (globalThis as PageGlobals).__parley?.stats.turns[0]?.status !== undefined, null, {
        timeout: 10_000,
      });
    } catch {
      // No reply (nothing recognized): recorded as a miss.
    }
    const heard =
      (await page
        .locator('[data-testid="user-message"]')
        .first()
        .textContent({ timeout: 1_000 })
        .catch(() => "")) ?? "";
    const turn = await page.evaluate(
      () =>
        JSON.parse(JSON.stringify((globalThis as PageGlobals).__parley?.stats.turns[0] ?? null)) as
          | ParleyTestHooks["stats"]["turns"][number]
          | null,
    );
    return {
      heard: heard.replace(/spoken$/, "").trim(),
      firstAudioMs: turn?.clientFirstAudioMs ?? null,
      serverFirstAudioMs: turn?.serverFirstAudioMs ?? null,
    };
  } finally {
    await browser.close();
  }
}

function report(results: ClipResult[], load: number, vars: Record<string, string | undefined>): void {
  const measured = results.map((r) => r.firstAudioMs).filter((v): v is number => v !== null);
  const server = results.map((r) => r.serverFirstAudioMs).filter((v): v is number => v !== null);
  const harvard = results.filter((r) => HARVARD.includes(r.text));
  const commands = results.filter((r) => !HARVARD.includes(r.text));
  const wer = (rs: ClipResult[]) => {
    const w = rs.reduce((a, r) => a + r.words, 0);
    return w ? (100 * rs.reduce((a, r) => a + r.wordErrors, 0)) / w : NaN;
  };
  const first = dist(measured);
  const p50 = first.p50;
  const summary = {
    measures:
      "end of the user's speech (last voiced 20 ms frame, the page's own detector, audio clock) -> first reply sample played, in Chromium with a fake microphone, through npm start's stack (vite dev, workerd, local stand-in: PocketSphinx live, offline responder without pacing, flite)",
    machine: { cores: cpus().length, loadAverageAtStart: Number(load.toFixed(2)) },
    vars,
    clips: results.length,
    replied: measured.length,
    firstAudioMs: first,
    serverFirstAudioMs: dist(server),
    wordErrorRatePercent: { harvard: round1(wer(harvard)), commands: round1(wer(commands)) },
    targetP50Ms: TARGET_P50_MS,
    results,
  };
  console.log(
    `\nend of speech -> first reply audio played (Chromium): p50 ${fmt(p50)} ms, p95 ${fmt(summary.firstAudioMs.p95)} ms (${measured.length}/${results.length} clips replied; target p50 <= ${TARGET_P50_MS} ms: ${p50 <= TARGET_P50_MS ? "met" : "missed"})`,
  );
  console.log(`server: end of turn decided -> first audio byte sent p50 ${fmt(summary.serverFirstAudioMs.p50)} ms`);
  console.log(`word error rate: Harvard ${summary.wordErrorRatePercent.harvard} %, commands ${summary.wordErrorRatePercent.commands} %`);
  const out = resolve(ROOT, `bench/results/local-browser${Object.keys(vars).length ? "-custom" : ""}.json`);
  mkdirSync(resolve(ROOT, "bench/results"), { recursive: true });
  writeFileSync(out, JSON.stringify(summary, null, 2) + "\n");
  console.log(`written: ${out}`);
}

/** A quiet room (about -66 dBFS of white noise): a real microphone never delivers digital silence. */
function roomNoise(sampleRate: number, ms: number, seed: number): ReturnType<typeof silence> {
  const pcm = silence(sampleRate, ms);
  let a = (seed * 2654435761) >>> 0;
  for (let i = 0; i < pcm.samples.length; i++) {
    a = (a * 1664525 + 1013904223) >>> 0;
    pcm.samples[i] = Math.round(((a / 4294967296) * 2 - 1) * 28);
  }
  return pcm;
}

const fmt = (v: number | null) => (v === null || !Number.isFinite(v) ? "-" : v.toFixed(0));
const round1 = (v: number) => Math.round(v * 10) / 10;

await main();
