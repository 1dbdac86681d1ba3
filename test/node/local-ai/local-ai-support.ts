// Shared helpers for the local-ai tests (not a test file itself).
import { Flite } from "../../../local-ai/engines/flite.ts";
import { base64ToBytes, bytesToBase64 } from "../../../shared/base64.ts";
import { SseDecoder } from "../../../shared/workers-ai/llm-stream.ts";
import { novaLiveInputs } from "../../../server/speech-to-text/nova-live.ts";
import WebSocket from "ws";

let flite: Flite | undefined;

/** A user utterance spoken by flite (16 kHz mono PCM16 WAV). */
export async function speak(text: string, voice = "rms"): Promise<Uint8Array> {
  flite ??= new Flite();
  return flite.synthesize(text, voice);
}

export async function callModel(base: string, model: string, inputs: unknown): Promise<Response> {
  return fetch(`${base}/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, inputs }) });
}

/** The `data:` payloads of an SSE body. */
export async function ssePayloads(res: Response): Promise<string[]> {
  const p = new SseDecoder();
  return [...p.push(await res.text()), ...p.end()];
}

export const b64 = bytesToBase64;
export const unb64 = base64ToBytes;

/** The PCM16 samples of a 16 kHz mono WAV (as bytes, little-endian). */
export function pcmBytes(wav: Uint8Array): Uint8Array {
  return wav.subarray(44);
}

/** Exactly what the Durable Object opens a Nova-3 live socket with. */
export const NOVA_INPUTS = novaLiveInputs({ language: "en", keyterms: [] }) as Record<string, string>;

/** ws:// URL of an engine server's live endpoint with the given inputs. */
export function liveUrl(base: string, inputs: Record<string, string> = NOVA_INPUTS, model = "@cf/deepgram/nova-3"): string {
  return `${base.replace(/^http/, "ws")}/live?${new URLSearchParams({ model, ...inputs })}`;
}

// A Deepgram-live client: a `ws` socket that records every message with how many audio frames had
// been sent when it arrived.
export interface LiveMessage {
  type: string;
  is_final?: boolean;
  speech_final?: boolean;
  from_finalize?: boolean;
  start?: number;
  duration?: number;
  timestamp?: number;
  description?: string;
  request_id?: string;
  channel?: {
    alternatives: { transcript: string; confidence: number; words: { word: string; start: number; end: number; confidence: number }[] }[];
  };
  [key: string]: unknown;
}

export interface Received {
  msg: LiveMessage;
  /** Audio frames sent before this message arrived. */
  framesSent: number;
  at: number;
}

export class LiveClient {
  readonly ws: WebSocket;
  readonly received: Received[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  framesSent = 0;
  private waiters: (() => void)[] = [];

  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => resolve());
      this.ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once("error", reject);
    });
    this.closed = new Promise((resolve) => this.ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString();
      this.received.push({ msg: JSON.parse(text) as LiveMessage, framesSent: this.framesSent, at: performance.now() });
      for (const w of this.waiters.splice(0)) w();
    });
    this.ws.on("close", () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  messages(type?: string): LiveMessage[] {
    return this.received.map((r) => r.msg).filter((m) => type === undefined || m.type === type);
  }

  results(): LiveMessage[] {
    return this.messages("Results");
  }

  finals(): LiveMessage[] {
    return this.results().filter((m) => m.is_final);
  }

  /** Send PCM16 bytes in frames of `frameBytes`, paced in real time when `realtime`. */
  async sendAudio(pcm: Uint8Array, o: { frameBytes?: number; realtime?: boolean } = {}): Promise<void> {
    const frame = o.frameBytes ?? 640;
    const started = performance.now();
    for (let i = 0; i < pcm.length; i += frame) {
      this.ws.send(pcm.slice(i, i + frame));
      this.framesSent++;
      if (o.realtime) {
        const due = started + ((i + frame) / 32000) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  sendJson(msg: Record<string, unknown>) {
    this.ws.send(JSON.stringify(msg));
  }

  /** Resolves with the first message (from now on or already received) that matches; rejects after `timeoutMs`. */
  async waitFor(match: (m: LiveMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<LiveMessage> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const hit = this.received.slice(from).find((r) => match(r.msg));
      if (hit) return hit.msg;
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`socket closed before the expected message; got ${JSON.stringify(this.messages().map((m) => m.type))}`);
      const left = deadline - performance.now();
      if (left <= 0)
        throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages().map((m) => m.type))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close() {
    this.ws.close(1000);
  }
}

export const transcriptOf = (m: LiveMessage) => m.channel?.alternatives[0]?.transcript ?? "";
export const joinFinals = (finals: LiveMessage[]) => finals.map(transcriptOf).filter(Boolean).join(" ");
