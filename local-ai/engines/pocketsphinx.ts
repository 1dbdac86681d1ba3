// Speech-to-text: one warm, persistent PocketSphinx decoder (Debian python3-pocketsphinx, generic
// en-us model) behind a serial request queue. Restarted when it dies; if PocketSphinx is not
// installed every call fails fast with an error naming the install command.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AiError, EngineUnavailableError, STT_INSTALL_COMMAND } from "../errors.ts";
import { WORKERS_AI_ERRORS } from "../../shared/workers-ai/errors.ts";

export interface SttWord {
  word: string;
  start: number;
  end: number;
}
export interface SttResult {
  text: string;
  words: SttWord[];
  decodeMs: number;
}
export interface SpeechRecognizer {
  readonly label: string;
  /** 16 kHz mono PCM16. */
  transcribe(pcm: Int16Array): Promise<SttResult>;
}

/** How a python3 PocketSphinx decoder process is started (batch and live alike). */
export interface DecoderProcessOptions {
  /** Debian's python with python3-pocketsphinx (a pyenv python will not have the module). */
  python?: string;
  modelDir?: string;
  script?: string;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface PocketSphinxOptions extends DecoderProcessOptions {
  requestTimeoutMs?: number;
}

type WorkerMessage =
  | { type: "ready"; load_ms: number }
  | { type: "fatal"; kind: string; error: string }
  | { type: "result"; text: string; words: [string, number, number][]; decode_ms: number }
  | { type: "error"; error: string };

interface Pending {
  resolve: (m: WorkerMessage) => void;
  reject: (e: Error) => void;
}

export type SttState = "stopped" | "starting" | "ready" | "unavailable";

/** Why the worker could not load, from its "fatal" message (shared with the live decoders). */
export function fatalDetail(msg: { kind: string; error: string }, python: string): string {
  return msg.kind === "import"
    ? `python3-pocketsphinx is missing for ${python}`
    : msg.kind === "model"
      ? `the en-us model is missing (${msg.error})`
      : msg.error;
}

export class PocketSphinx implements SpeechRecognizer {
  readonly label = "pocketsphinx/generic";
  readonly python: string;
  readonly modelDir: string;
  private readonly script: string;
  private readonly startTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly log: (line: string) => void;
  private child: ChildProcessWithoutNullStreams | undefined;
  private starting: Promise<ChildProcessWithoutNullStreams> | undefined;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private state: SttState = "stopped";
  private lastError: string | undefined;
  loadMs: number | undefined;

  constructor(options: PocketSphinxOptions = {}) {
    this.python = options.python ?? "/usr/bin/python3";
    this.modelDir = options.modelDir ?? "/usr/share/pocketsphinx/model/en-us";
    this.script = options.script ?? fileURLToPath(new URL("./pocketsphinx_worker.py", import.meta.url));
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 60_000;
    this.log = options.log ?? (() => {});
  }

  /** Process id of the running decoder, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  status(): { state: SttState; error?: string } {
    return this.lastError && this.state !== "ready" ? { state: this.state, error: this.lastError } : { state: this.state };
  }

  /** Start (or restart) the decoder and wait until the model is loaded. */
  start(): Promise<ChildProcessWithoutNullStreams> {
    if (this.closed) return Promise.reject(new AiError(WORKERS_AI_ERRORS.internal, "speech recognizer is shut down"));
    if (this.child) return Promise.resolve(this.child);
    this.starting ??= this.spawnDecoder().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  transcribe(pcm: Int16Array): Promise<SttResult> {
    const run = async (): Promise<SttResult> => {
      const child = await this.start();
      const header = Buffer.alloc(4);
      header.writeUInt32LE(pcm.byteLength, 0);
      const reply = await new Promise<WorkerMessage>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new AiError(WORKERS_AI_ERRORS.timeout, `PocketSphinx did not answer within ${this.requestTimeoutMs} ms; restarting it`));
          child.kill("SIGKILL");
        }, this.requestTimeoutMs);
        this.pending = {
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
        child.stdin.write(header);
        child.stdin.write(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      }).finally(() => {
        this.pending = undefined;
      });
      if (reply.type === "result") {
        return {
          text: reply.text,
          words: reply.words.map(([word, start, end]) => ({ word, start, end })),
          decodeMs: reply.decode_ms,
        };
      }
      throw new AiError(WORKERS_AI_ERRORS.internal, `PocketSphinx failed: ${"error" in reply ? reply.error : reply.type}`);
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    this.child = undefined;
    this.state = "stopped";
    if (!child) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
      }, 2000);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      child.stdin.end(); // the worker exits at EOF
      child.kill("SIGTERM");
    });
  }

  private unavailable(detail: string): EngineUnavailableError {
    this.state = "unavailable";
    this.lastError = detail;
    return new EngineUnavailableError("Speech recognition (PocketSphinx)", detail, STT_INSTALL_COMMAND);
  }

  private spawnDecoder(): Promise<ChildProcessWithoutNullStreams> {
    this.state = "starting";
    const started = Date.now();
    return new Promise((resolve, reject) => {
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(this.python, ["-u", this.script, this.modelDir], { stdio: ["pipe", "pipe", "pipe"] });
      } catch (e) {
        reject(this.unavailable(`cannot run ${this.python} (${(e as Error).message})`));
        return;
      }
      let ready = false;
      let stderr = "";
      const startTimer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new AiError(WORKERS_AI_ERRORS.timeout, `PocketSphinx did not load within ${this.startTimeoutMs} ms`));
      }, this.startTimeoutMs);
      child.stdin.on("error", () => {}); // EPIPE when it dies; handled by "exit"
      child.stderr.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-2000);
      });
      child.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(startTimer);
        reject(
          e.code === "ENOENT" ? this.unavailable(`${this.python} not found`) : this.unavailable(`cannot run ${this.python} (${e.message})`),
        );
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        let msg: WorkerMessage;
        try {
          msg = JSON.parse(line) as WorkerMessage;
        } catch {
          this.log(`pocketsphinx: ${line}`);
          return;
        }
        if (msg.type === "ready") {
          ready = true;
          clearTimeout(startTimer);
          this.loadMs = Date.now() - started;
          this.state = "ready";
          this.lastError = undefined;
          this.child = child;
          resolve(child);
        } else if (msg.type === "fatal") {
          clearTimeout(startTimer);
          reject(this.unavailable(fatalDetail(msg, this.python)));
        } else {
          this.pending?.resolve(msg);
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(startTimer);
        if (this.child === child) this.child = undefined;
        const why = `PocketSphinx exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
        this.pending?.reject(new AiError(WORKERS_AI_ERRORS.internal, `${why}; it will be restarted`));
        if (!ready) {
          if (this.state === "starting") reject(this.unavailable(why));
          return;
        }
        if (this.closed) return;
        this.state = "stopped";
        this.log(`${why}; restarting`);
        this.start().catch((e: Error) => this.log(`pocketsphinx restart failed: ${e.message}`));
      });
    });
  }
}
