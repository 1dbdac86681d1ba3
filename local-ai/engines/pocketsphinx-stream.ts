// Live (incremental) speech-to-text: PocketSphinx decoding a stream while it arrives, for the
// stand-in's `@cf/deepgram/nova-3` WebSocket (live-transcription.ts).
//
// Each live stream has a decoder of its own: a python3 process running pocketsphinx_worker.py --live
// (the same Debian model as the batch decoder, loaded in ~0.3-0.7 s, ~95 MB resident). Processes
// are pooled: a stream borrows one and gives it back when it ends, and one spare is kept loaded so a
// new stream starts decoding at once. Why processes and not several decoders in one process: the
// bindings hold Python's GIL while decoding, so two streams in one process would share one core;
// two processes use both cores of a small machine, and a crash costs one stream only. Reused to
// save the load time; the cepstral mean a decoder carries over does not matter, as the worker
// measures each stream's own on its first speech (pocketsphinx_worker.py, LiveCmn). The batch
// decoder (pocketsphinx.ts) is a separate process and is never borrowed: live decoding would switch
// its normalisation from per-utterance to running (PocketSphinx does that once a decoder sees audio
// in pieces). At most `maxStreams` streams (LOCAL_AI_LIVE_MAX, default 4; ~95 MB each) decode at
// once; more are refused with 3040 (capacity), which the server treats as retryable.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { AiError, EngineUnavailableError, STT_INSTALL_COMMAND } from "../errors.ts";
import { fatalDetail, type DecoderProcessOptions } from "./pocketsphinx.ts";
import { WORKERS_AI_ERRORS } from "../../shared/workers-ai/errors.ts";

export interface LiveWord {
  word: string;
  /** Seconds of audio since the stream began. */
  start: number;
  end: number;
  /** Posterior probability for final segments; partial hypotheses have none (reported as 1). */
  confidence: number;
}

/** The hypothesis for one segment: `start`..`end` in seconds of audio since the stream began. */
export interface LiveHypothesis {
  start: number;
  end: number;
  text: string;
  words: LiveWord[];
}

export type LiveFinalReason = "endpoint" | "finalize" | "close";

export type LiveDecoderEvent =
  | { type: "speech_started"; timestamp: number }
  | { type: "partial"; hyp: LiveHypothesis }
  | { type: "final"; hyp: LiveHypothesis; reason: LiveFinalReason; finishMs: number };

export interface LiveStreamHandlers {
  event(e: LiveDecoderEvent): void;
  /** The decoder died or failed; the stream is unusable (call end()). */
  failed(e: Error): void;
}

export interface LiveStreamOptions {
  /** Send partial hypotheses (every `interimMs` of audio while there is speech). */
  interim: boolean;
  interimMs?: number;
}

export interface LiveStream {
  /** 16 kHz mono PCM16 little-endian, any length. */
  write(pcm: Uint8Array): void;
  /** End the current segment now; its final result follows (reason "finalize" or "close"). */
  finalize(reason?: "finalize" | "close"): void;
  /** Seconds of audio written so far. */
  readonly audioSeconds: number;
  /** Stop decoding; the decoder goes back to the pool. Idempotent. */
  end(): Promise<void>;
}

export interface PocketSphinxLiveOptions extends DecoderProcessOptions {
  /** Streams decoding at once (LOCAL_AI_LIVE_MAX). */
  maxStreams?: number;
  /** Loaded decoders kept idle for the next stream (LOCAL_AI_LIVE_SPARE). */
  spare?: number;
  /** PocketSphinx's second (flat-lexicon) pass when a segment ends: more accurate, ~70 ms more per final. */
  fwdflat?: boolean;
  /**
   * Each speech segment's cepstral mean is measured on its first `seedMs` of speech, then the
   * segment is decoded again with it (LOCAL_AI_LIVE_SEED_MS, 500; 0 = PocketSphinx's own running
   * mean, which fails on the first segment of a stream and after noise: see pocketsphinx_worker.py).
   */
  seedMs?: number;
}

type WorkerLine =
  | { type: "ready"; load_ms: number; cmn_seed?: boolean; cmn_seed_off?: string }
  | { type: "fatal"; kind: string; error: string }
  | { type: "speech_started"; timestamp: number }
  | { type: "partial"; start: number; end: number; text: string; words: [string, number, number, number][] }
  | {
      type: "final";
      start: number;
      end: number;
      text: string;
      words: [string, number, number, number][];
      reason: LiveFinalReason;
      finish_ms: number;
    }
  | { type: "ended"; audio_s: number }
  | { type: "error"; error: string };

const hypothesis = (m: { start: number; end: number; text: string; words: [string, number, number, number][] }): LiveHypothesis => ({
  start: m.start,
  end: m.end,
  text: m.text,
  words: m.words.map(([word, start, end, confidence]) => ({ word, start, end, confidence })),
});

/** One python decoder process; serves one stream at a time. */
class LiveDecoderProcess {
  handlers: LiveStreamHandlers | undefined;
  exited = false;
  private endWaiter: (() => void) | undefined;

  readonly child: ChildProcessWithoutNullStreams;
  private readonly log: (line: string) => void;

  private constructor(child: ChildProcessWithoutNullStreams, log: (line: string) => void) {
    this.child = child;
    this.log = log;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static spawn(
    python: string,
    script: string,
    modelDir: string,
    fwdflat: boolean,
    startTimeoutMs: number,
    log: (line: string) => void,
  ): Promise<LiveDecoderProcess> {
    const unavailable = (detail: string) => new EngineUnavailableError("Speech recognition (PocketSphinx)", detail, STT_INSTALL_COMMAND);
    return new Promise((resolve, reject) => {
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(python, ["-u", script, modelDir, "--live", ...(fwdflat ? [] : ["--no-fwdflat"])], {
          stdio: ["pipe", "pipe", "pipe"],
        });
      } catch (e) {
        reject(unavailable(`cannot run ${python} (${(e as Error).message})`));
        return;
      }
      const proc = new LiveDecoderProcess(child, log);
      let ready = false;
      let stderr = "";
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new AiError(WORKERS_AI_ERRORS.timeout, `PocketSphinx (live) did not load within ${startTimeoutMs} ms`));
      }, startTimeoutMs);
      child.stdin.on("error", () => {}); // EPIPE when it dies; handled by "exit"
      child.stderr.on("data", (d: Buffer) => {
        stderr = (stderr + d.toString()).slice(-2000);
      });
      child.on("error", (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(unavailable(e.code === "ENOENT" ? `${python} not found` : `cannot run ${python} (${e.message})`));
      });
      createInterface({ input: child.stdout }).on("line", (line) => {
        let msg: WorkerLine;
        try {
          msg = JSON.parse(line) as WorkerLine;
        } catch {
          log(`pocketsphinx (live): ${line}`);
          return;
        }
        if (msg.type === "ready") {
          if (msg.cmn_seed === false)
            log(
              `pocketsphinx (live): WARNING: segments keep PocketSphinx's running mean, which recognises the first one of a stream badly (${msg.cmn_seed_off ?? "no access to it"})`,
            );
          ready = true;
          clearTimeout(timer);
          resolve(proc);
        } else if (msg.type === "fatal") {
          clearTimeout(timer);
          reject(unavailable(fatalDetail(msg, python)));
        } else {
          proc.onMessage(msg);
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        proc.exited = true;
        const why = `PocketSphinx (live) exited (${signal ?? `code ${code}`})${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-3).join(" | ")}` : ""}`;
        if (!ready) {
          reject(unavailable(why));
          return;
        }
        proc.endWaiter?.();
        proc.handlers?.failed(new AiError(WORKERS_AI_ERRORS.internal, why));
      });
    });
  }

  private onMessage(msg: WorkerLine) {
    switch (msg.type) {
      case "speech_started":
        this.handlers?.event({ type: "speech_started", timestamp: msg.timestamp });
        return;
      case "partial":
        this.handlers?.event({ type: "partial", hyp: hypothesis(msg) });
        return;
      case "final":
        this.handlers?.event({ type: "final", hyp: hypothesis(msg), reason: msg.reason, finishMs: msg.finish_ms });
        return;
      case "ended":
        this.endWaiter?.();
        return;
      case "error":
        this.log(`pocketsphinx (live) error: ${msg.error}`);
        this.handlers?.failed(new AiError(WORKERS_AI_ERRORS.internal, `PocketSphinx failed: ${msg.error}`));
        return;
    }
  }

  send(command: "S" | "A" | "F" | "E", payload: Uint8Array = new Uint8Array(0)) {
    if (this.exited) return;
    const frame = Buffer.allocUnsafe(5 + payload.byteLength);
    frame.write(command, 0, "latin1");
    frame.writeUInt32LE(payload.byteLength, 1);
    frame.set(payload, 5);
    this.child.stdin.write(frame);
  }

  /** Ask the worker to end the stream; resolves when it did (or died), false after `timeoutMs`. */
  endStream(timeoutMs: number): Promise<boolean> {
    if (this.exited) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.endWaiter = undefined;
        resolve(false);
      }, timeoutMs);
      this.endWaiter = () => {
        clearTimeout(timer);
        this.endWaiter = undefined;
        resolve(!this.exited);
      };
      this.send("E");
    });
  }

  kill() {
    if (this.exited) return;
    this.child.stdin.end(); // the worker exits at EOF
    this.child.kill("SIGTERM");
  }
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

export class PocketSphinxLive {
  readonly label = "pocketsphinx/generic";
  readonly python: string;
  readonly modelDir: string;
  readonly maxStreams: number;
  readonly spare: number;
  readonly fwdflat: boolean;
  readonly seedMs: number;
  private readonly script: string;
  private readonly startTimeoutMs: number;
  private readonly log: (line: string) => void;
  private idle: LiveDecoderProcess[] = [];
  private spawning = 0;
  private active = 0;
  private closed = false;
  private lastError: string | undefined;
  private readonly all = new Set<LiveDecoderProcess>();

  constructor(options: PocketSphinxLiveOptions = {}) {
    this.python = options.python ?? "/usr/bin/python3";
    this.modelDir = options.modelDir ?? "/usr/share/pocketsphinx/model/en-us";
    this.script = options.script ?? fileURLToPath(new URL("./pocketsphinx_worker.py", import.meta.url));
    this.maxStreams = Math.max(1, options.maxStreams ?? 4);
    this.spare = Math.max(0, options.spare ?? 1);
    this.fwdflat = options.fwdflat ?? true;
    this.seedMs = Math.max(0, options.seedMs ?? 500);
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
    this.log = options.log ?? (() => {});
  }

  /** Streams decoding now (or being opened). */
  get openStreams(): number {
    return this.active;
  }

  /** Process ids of the loaded decoders (busy and idle). */
  get pids(): number[] {
    return [...this.all].flatMap((p) => (p.pid && !p.exited ? [p.pid] : []));
  }

  canOpen(): boolean {
    return !this.closed && this.active < this.maxStreams;
  }

  status(): { open: number; idle: number; max: number; error?: string } {
    return { open: this.active, idle: this.idle.length, max: this.maxStreams, ...(this.lastError ? { error: this.lastError } : {}) };
  }

  /** Load the spare decoders now (the engine server does this at start). */
  async warm(): Promise<void> {
    while (!this.closed && this.idle.length + this.spawning < this.spare && this.all.size < this.maxStreams + this.spare) {
      const proc = await this.spawnProcess();
      if (this.closed) proc.kill();
      else this.idle.push(proc);
    }
  }

  /** Borrow a decoder and start a stream on it. Throws 3040 when `maxStreams` are open, 5004 when PocketSphinx is missing. */
  async open(options: LiveStreamOptions, handlers: LiveStreamHandlers): Promise<LiveStream> {
    if (this.closed) throw new AiError(WORKERS_AI_ERRORS.internal, "speech recognizer is shut down");
    if (this.active >= this.maxStreams) {
      throw new AiError(
        WORKERS_AI_ERRORS.capacity,
        `Capacity: ${this.maxStreams} live transcription streams are open already (LOCAL_AI_LIVE_MAX); try again when one closes`,
      );
    }
    this.active++;
    let proc: LiveDecoderProcess;
    try {
      proc = await this.take();
    } catch (e) {
      this.active--;
      throw e;
    }
    this.warm().catch((e: Error) => this.log(`pocketsphinx (live): spare decoder failed to load: ${e.message}`));

    proc.handlers = handlers;
    proc.send("S", json({ interim: options.interim, interim_ms: options.interimMs ?? 250, seed_ms: this.seedMs }));
    let samples = 0;
    let ended = false;
    let ending: Promise<void> | undefined;
    return {
      write(pcm) {
        if (ended || pcm.byteLength === 0) return;
        samples += pcm.byteLength / 2;
        proc.send("A", pcm);
      },
      finalize(reason = "finalize") {
        if (!ended) proc.send("F", json({ reason }));
      },
      get audioSeconds() {
        return samples / 16000;
      },
      end: () => {
        ended = true;
        ending ??= (async () => {
          const clean = await proc.endStream(2000);
          proc.handlers = undefined;
          this.active--;
          if (clean && !this.closed && this.idle.length < Math.max(1, this.spare)) this.idle.push(proc);
          else this.retire(proc);
        })();
        return ending;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const procs = [...this.all];
    this.idle = [];
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exited) return resolve();
            const timer = setTimeout(() => {
              p.child.kill("SIGKILL");
              resolve();
            }, 2000);
            p.child.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            p.kill();
          }),
      ),
    );
  }

  private async take(): Promise<LiveDecoderProcess> {
    for (let p = this.idle.pop(); p; p = this.idle.pop()) if (!p.exited) return p;
    return this.spawnProcess();
  }

  private retire(proc: LiveDecoderProcess) {
    proc.kill();
  }

  private async spawnProcess(): Promise<LiveDecoderProcess> {
    this.spawning++;
    try {
      const proc = await LiveDecoderProcess.spawn(this.python, this.script, this.modelDir, this.fwdflat, this.startTimeoutMs, this.log);
      this.lastError = undefined;
      this.all.add(proc);
      proc.child.once("exit", () => {
        this.all.delete(proc);
        this.idle = this.idle.filter((p) => p !== proc);
      });
      return proc;
    } catch (e) {
      this.lastError = (e as Error).message;
      throw e;
    } finally {
      this.spawning--;
    }
  }
}
