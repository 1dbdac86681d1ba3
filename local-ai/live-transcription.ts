// The engine server's live transcription socket: `GET /live?model=@cf/deepgram/nova-3&<inputs>`
// upgraded to a WebSocket, speaking the part of Deepgram's live protocol that Workers AI proxies for
// nova-3 (`env.AI.run("@cf/deepgram/nova-3", inputs, { websocket: true })`), with PocketSphinx
// decoding while the audio arrives (engines/pocketsphinx-stream.ts).
//
// Client -> server: binary frames of 16 kHz mono PCM16 little-endian (any size); text frames
//   {"type":"KeepAlive"}, {"type":"Finalize"}, {"type":"CloseStream"}.
// Server -> client (JSON text frames):
//   Results       interim (is_final false) every ~260 ms of audio while there is speech, with the
//                 whole segment's hypothesis so far; final when PocketSphinx's VAD hears the speech
//                 end (0.5 s of silence), on Finalize (from_finalize: true, even when empty) and on
//                 CloseStream. start/duration: seconds of audio received on this socket.
//   SpeechStarted {timestamp} when the VAD hears speech begin (vad_events=true).
//   Metadata      {request_id, duration, channels} after CloseStream, before the close (1000).
//   Results, SpeechStarted and Metadata also carry `engine: "pocketsphinx/generic"` (Deepgram's do
//   not): the stand-in never passes for Workers AI, as its other answers.
//   Error         {description} then close: 1003 for inputs the stand-in cannot serve, 1011 for
//                 engine failures. No audio or text for LOCAL_AI_LIVE_IDLE_MS (10 s) closes with 1011.
import { randomUUID } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WebSocket } from "ws";
import { encodeWav } from "../shared/audio/wav.ts";
import type { PublishedInput } from "../shared/workers-ai/published-types.ts";
import type { LiveDecoderEvent, LiveHypothesis, LiveStream, PocketSphinxLive } from "./engines/pocketsphinx-stream.ts";
import { presentable } from "./models.ts";
import { WORKERS_AI_ERRORS } from "../shared/workers-ai/errors.ts";

export const LIVE_MODELS = ["@cf/deepgram/nova-3"] as const;
export const DEFAULT_LIVE_IDLE_MS = 10_000;

/** What the stand-in honours of the nova-3 inputs. */
export interface LiveParams {
  interimResults: boolean;
  vadEvents: boolean;
  /** punctuate or smart_format: capitalise the transcript (PocketSphinx adds no punctuation). */
  format: boolean;
  /** endpointing is not "false": segments the VAD ends are `speech_final`. */
  endpointing: boolean;
  /** Inputs accepted but without effect offline (keyterm, diarize, ...). */
  ignored: string[];
}

export type LiveParamsResult = { ok: true; params: LiveParams } | { ok: false; description: string; closeCode: number };

// Input names the stand-in reads, typed against the published nova-3 inputs so it cannot honour one
// Workers AI does not have. `sample_rate` is WebSocket-only (docs/workers-ai.md, "Models and their
// shapes"): the published type describes the HTTP form, which sends a container instead.
type NovaInputName = keyof PublishedInput<"@cf/deepgram/nova-3"> | "sample_rate";
const FLAGS: readonly NovaInputName[] = ["interim_results", "vad_events", "punctuate", "smart_format"];
const KNOWN: ReadonlySet<string> = new Set<NovaInputName | "model">([
  "model",
  "encoding",
  "sample_rate",
  "channels",
  "language",
  ...FLAGS,
  "endpointing",
]);

/** Read and check the query of a /live request (the model's inputs, every value a string). */
export function parseLiveParams(query: URLSearchParams): LiveParamsResult {
  const model = query.get("model") ?? "";
  const bad = (why: string, closeCode = 1003): LiveParamsResult => ({
    ok: false,
    closeCode,
    description: `${WORKERS_AI_ERRORS.invalidInput.code}: Invalid input for ${model}: ${why}`,
  });
  if (!(LIVE_MODELS as readonly string[]).includes(model)) {
    return {
      ok: false,
      closeCode: 1003,
      description: `${WORKERS_AI_ERRORS.noSuchModel.code}: ${model || "(no model)"} has no live (WebSocket) interface in the offline stand-in; supported: ${LIVE_MODELS.join(", ")}`,
    };
  }
  const encoding = query.get("encoding");
  if (encoding !== "linear16") {
    return bad(
      `encoding must be "linear16" (16 kHz mono PCM16 little-endian), got ${encoding === null ? "none" : `"${encoding}"`}; the offline stand-in decodes no other audio format`,
    );
  }
  const rate = query.get("sample_rate");
  if (rate === null || Number(rate) !== 16000) {
    return bad(
      `sample_rate must be 16000 for the offline stand-in (PocketSphinx's en-us model), got ${rate === null ? "none" : `"${rate}"`}`,
    );
  }
  const channels = query.get("channels");
  if (channels !== null && Number(channels) !== 1) return bad(`channels must be 1, got "${channels}"`);
  const language = query.get("language");
  if (language !== null && !/^en(-[A-Za-z]{2})?$/.test(language)) {
    return bad(`language "${language}" is not available offline: PocketSphinx has the US English model only (use "en")`);
  }
  const flags: Record<string, boolean> = {};
  for (const name of FLAGS) {
    const v = query.get(name);
    if (v === null) flags[name] = false;
    else if (v === "true" || v === "false") flags[name] = v === "true";
    else return bad(`${name} must be "true" or "false", got "${v}"`);
  }
  const endpointing = query.get("endpointing");
  if (endpointing !== null && endpointing !== "false" && endpointing !== "true" && !/^\d+$/.test(endpointing)) {
    return bad(`endpointing must be "false" or a number of milliseconds, got "${endpointing}"`);
  }
  return {
    ok: true,
    params: {
      interimResults: flags.interim_results!,
      vadEvents: flags.vad_events!,
      format: flags.punctuate! || flags.smart_format!,
      endpointing: endpointing !== "false",
      ignored: [...new Set([...query.keys()].filter((k) => !KNOWN.has(k)))],
    },
  };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** A Deepgram `Results` message for one segment's hypothesis. */
export function resultsMessage(
  hyp: LiveHypothesis,
  o: { isFinal: boolean; speechFinal: boolean; fromFinalize?: boolean; format: boolean; engine?: string },
): Record<string, unknown> {
  const text = o.format ? presentable(hyp.text) : hyp.text.trim();
  const words = hyp.words.map((w, i) => ({
    word: w.word,
    start: w.start,
    end: w.end,
    confidence: w.confidence,
    ...(o.format ? { punctuated_word: w.word === "i" ? "I" : i === 0 ? w.word.charAt(0).toUpperCase() + w.word.slice(1) : w.word } : {}),
  }));
  const confidence = words.length ? round3(words.reduce((a, w) => a + w.confidence, 0) / words.length) : 0;
  return {
    type: "Results",
    channel_index: [0, 1],
    duration: round3(Math.max(0, hyp.end - hyp.start)),
    start: round3(hyp.start),
    is_final: o.isFinal,
    speech_final: o.speechFinal,
    ...(o.fromFinalize ? { from_finalize: true } : {}),
    channel: { alternatives: [{ transcript: text, confidence, words }] },
    ...(o.engine ? { engine: o.engine } : {}),
  };
}

export interface LiveSessionOptions {
  idleTimeoutMs?: number;
  interimMs?: number;
  tags?: string[];
  log?: (line: string) => void;
  /** Called once when the session is over (for the server's bookkeeping). */
  onDone?: () => void;
  /**
   * LOCAL_AI_DUMP_DIR: when the socket closes, write the PCM it received as `<dir>/live-<time>-<id>.wav`
   * and, beside it, `.json` with where each Finalize arrived and every final, so a stream can be
   * decoded again offline exactly as it was heard (bench/local/replay-dump.ts).
   */
  dumpDir?: string;
}

/** What a dumped stream's `.json` holds. Sample offsets count 16 kHz samples received on the socket. */
export interface LiveDump {
  requestId: string;
  tags: string[];
  samples: number;
  finalizeAtSamples: number[];
  /** Milliseconds from each Finalize's arrival to its answer (the decoder's lag behind the audio, plus the final's second pass). */
  finalizeAnsweredMs: number[];
  finals: { start: number; end: number; text: string; reason: string }[];
}

/**
 * Serve one accepted WebSocket. Audio and control messages that arrive while the decoder is being
 * borrowed are kept and applied in order once it is there.
 */
export function serveLiveSocket(ws: WebSocket, params: LiveParams, pool: PocketSphinxLive, options: LiveSessionOptions = {}): void {
  const log = options.log ?? (() => {});
  const idleMs = options.idleTimeoutMs ?? DEFAULT_LIVE_IDLE_MS;
  const requestId = randomUUID();
  const label = `@cf/deepgram/nova-3 live${options.tags?.length ? ` [${options.tags.join(" ")}]` : ""}`;
  const opened = performance.now();
  let done = false;
  let closing = false;
  let stream: LiveStream | undefined;
  let closeAfterFinal = false;
  let receivedBytes = 0;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const dump = options.dumpDir
    ? {
        chunks: [] as Uint8Array[],
        finalizeAtSamples: [] as number[],
        finalizeAskedAt: [] as number[],
        finalizeAnsweredMs: [] as number[],
        finals: [] as LiveDump["finals"],
      }
    : undefined;

  const writeDump = () => {
    if (!dump || !options.dumpDir) return;
    try {
      const bytes = Buffer.concat(dump.chunks);
      const pcm = new Int16Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 2));
      const base = join(options.dumpDir, `live-${new Date().toISOString().replace(/[:.]/g, "-")}-${requestId.slice(0, 8)}`);
      mkdirSync(options.dumpDir, { recursive: true });
      writeFileSync(`${base}.wav`, encodeWav(pcm, 16000));
      const meta: LiveDump = {
        requestId,
        tags: options.tags ?? [],
        samples: pcm.length,
        finalizeAtSamples: dump.finalizeAtSamples,
        finalizeAnsweredMs: dump.finalizeAnsweredMs,
        finals: dump.finals,
      };
      writeFileSync(`${base}.json`, JSON.stringify(meta, null, 1) + "\n");
      log(`${label}: dumped ${(pcm.length / 16000).toFixed(1)} s to ${base}.wav`);
    } catch (e) {
      log(`${label}: could not write the dump (${(e as Error).message})`);
    }
  };

  const send = (msg: Record<string, unknown>) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };

  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(idleTimer);
    const s = stream;
    stream = undefined;
    s?.end().catch((err: unknown) => log(`${label} recognizer did not end cleanly: ${String(err)}`));
    writeDump();
    log(
      `${label} closed after ${(receivedBytes / 32000).toFixed(1)} s of audio (${((performance.now() - opened) / 1000).toFixed(1)} s open)`,
    );
    options.onDone?.();
  };

  const closeWith = (code: number, reason: string) => {
    if (closing) return;
    closing = true;
    clearTimeout(idleTimer);
    try {
      ws.close(code, Buffer.byteLength(reason) > 123 ? reason.slice(0, 120) : reason);
    } catch {
      ws.terminate();
    }
    // If the peer never answers the close, do not hold the decoder.
    setTimeout(() => {
      if (ws.readyState !== ws.CLOSED) ws.terminate();
    }, 2000).unref();
    finish();
  };

  const fail = (description: string, code = 1011) => {
    if (closing) return;
    log(`${label} error: ${description}`);
    send({ type: "Error", description });
    closeWith(code, description);
  };

  const armIdle = () => {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      log(`${label}: no audio or KeepAlive for ${idleMs} ms, closing (1011)`);
      closeWith(1011, `NET-0001: no audio or KeepAlive received within ${idleMs / 1000} s`);
    }, idleMs);
  };

  const onEvent = (e: LiveDecoderEvent) => {
    if (done) return;
    if (e.type === "speech_started") {
      if (params.vadEvents) send({ type: "SpeechStarted", timestamp: e.timestamp, engine: pool.label });
      return;
    }
    if (e.type === "partial") {
      if (params.interimResults)
        send(resultsMessage(e.hyp, { isFinal: false, speechFinal: false, format: params.format, engine: pool.label }));
      return;
    }
    const fromFinalize = e.reason === "finalize";
    dump?.finals.push({ start: e.hyp.start, end: e.hyp.end, text: e.hyp.text, reason: e.reason });
    const asked = fromFinalize ? dump?.finalizeAskedAt.shift() : undefined;
    if (asked !== undefined) dump?.finalizeAnsweredMs.push(Math.round(performance.now() - asked));
    send(
      resultsMessage(e.hyp, {
        isFinal: true,
        speechFinal: e.reason === "endpoint" && params.endpointing,
        fromFinalize,
        format: params.format,
        engine: pool.label,
      }),
    );
    if (e.reason !== "endpoint" || e.hyp.text) log(`${label} final (${e.reason}, ${e.finishMs} ms) "${e.hyp.text}"`);
    if (e.reason === "close" && closeAfterFinal) {
      send({ type: "Metadata", request_id: requestId, duration: round3(receivedBytes / 32000), channels: 1, engine: pool.label });
      closeWith(1000, "");
    }
  };

  let ready: Promise<LiveStream | undefined> = pool
    .open({ interim: params.interimResults, interimMs: options.interimMs }, { event: onEvent, failed: (err) => fail(err.message) })
    .then(
      (s) => {
        if (done) {
          s.end().catch((err: unknown) => log(`${label} recognizer did not end cleanly: ${String(err)}`));
          return undefined;
        }
        stream = s;
        return s;
      },
      (err: Error) => {
        fail(err.message);
        return undefined;
      },
    );

  log(`${label} opened${params.ignored.length ? ` (ignored offline: ${params.ignored.join(", ")})` : ""}`);
  armIdle();

  ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (done || closing) return;
    armIdle();
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      receivedBytes += bytes.byteLength;
      const copy = new Uint8Array(bytes); // ws may reuse its buffers
      dump?.chunks.push(copy);
      ready = ready.then((s) => (s?.write(copy), s));
      return;
    }
    let msg: { type?: unknown };
    try {
      msg = JSON.parse(bytes.toString("utf8")) as { type?: unknown };
    } catch {
      log(`${label}: ignored a text frame that is not JSON`);
      return;
    }
    switch (msg.type) {
      case "KeepAlive":
        return;
      case "Finalize":
        dump?.finalizeAtSamples.push(receivedBytes / 2);
        dump?.finalizeAskedAt.push(performance.now());
        ready = ready.then((s) => (s?.finalize("finalize"), s));
        return;
      case "CloseStream":
        closeAfterFinal = true;
        ready = ready.then((s) => (s?.finalize("close"), s));
        return;
      default:
        log(`${label}: ignored a control message of type ${JSON.stringify(msg.type)}`);
    }
  });
  ws.on("close", () => finish());
  ws.on("error", (e) => {
    log(`${label} socket error: ${e.message}`);
    finish();
  });
}
