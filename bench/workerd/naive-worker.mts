// The naive baseline the benchmark compares Parley against: same protocol, same turn detector, same
// STT / LLM / TTS adapters from server/, same fake Workers AI, but strictly sequential —
// transcribe, wait for the whole LLM reply, synthesize the whole reply in one TTS call, then send it.
// Routed at /naive/naive-session/<id> (partyserver prefix "naive"), bundled into the same workerd.
// Bench-only code: no persistence, retries, limits or barge-in (none of that is on the measured path).
import { DurableObject } from "cloudflare:workers";
import { Server, routePartykitRequest, type Connection, type WSMessage } from "partyserver";
import { PROTOCOL_VERSION } from "../../shared/protocol.ts";
import { pcm16FromBytes } from "../../shared/audio/pcm.ts";
import { loadConfig, type ParleyConfig } from "../../server/config.ts";
import type { AiCallContext, AiRunner } from "../../server/models/ai-binding.ts";
import { llmInputs, startReplyStream } from "../../server/reply/llm.ts";
import { buildLlmMessages } from "../../server/reply/prompt.ts";
import { toSpeakableText } from "../../server/reply/sentence-chunker.ts";
import { readLlmStream } from "../../server/reply/llm-stream-reader.ts";
import { sttInputs, transcribe } from "../../server/speech-to-text/whisper.ts";
import { segmentHeader, synthesize, ttsInputs } from "../../server/text-to-speech/tts.ts";
import { TurnDetector, type TurnEndEvent } from "../../server/turn-detection/turn-detector.ts";

// partyserver's Server requires the project's Env shape (server/env.d.ts); the naive worker binds
// AI, the vars and its own namespace (VoiceSession is typed but not bound here).
interface NaiveEnv extends Cloudflare.Env {
  NaiveSession: DurableObjectNamespace<NaiveSession>;
  GateProbe: DurableObjectNamespace<GateProbe>;
}

export class NaiveSession extends Server<NaiveEnv> {
  static override options = { hibernate: true };

  private config!: ParleyConfig;
  private detectors = new Map<string, TurnDetector>();
  private history: { role: "user" | "assistant"; text: string }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private turns = 0;

  override onStart(): void {
    this.config = loadConfig(this.env as unknown as Record<string, unknown>);
  }

  override onConnect(conn: Connection): void {
    const { stt, llm, tts } = this.config.models;
    conn.send(
      JSON.stringify({
        type: "ready",
        protocol: PROTOCOL_VERSION,
        sessionId: this.name,
        state: "listening",
        mode: "hands-free",
        history: [],
        activeReplyId: null,
        models: { stt, llm, tts },
      }),
    );
  }

  override onClose(conn: Connection): void {
    this.detectors.delete(conn.id);
  }

  override onMessage(conn: Connection, message: WSMessage): void {
    if (typeof message === "string") {
      let msg: { type?: unknown; t?: unknown };
      try {
        msg = JSON.parse(message) as { type?: unknown; t?: unknown };
      } catch {
        return;
      }
      if (msg.type === "start") conn.send(JSON.stringify({ type: "state", state: "listening" }));
      if (msg.type === "ping") conn.send(JSON.stringify({ type: "pong", t: msg.t, serverTime: Date.now() }));
      return;
    }
    let detector = this.detectors.get(conn.id);
    if (!detector) {
      // No pause marks: the naive pipeline has no end-of-turn judge, only the silence.
      detector = new TurnDetector({ ...this.config.turnDetection, pauseMs: 0 });
      this.detectors.set(conn.id, detector);
    }
    const bytes =
      message instanceof ArrayBuffer ? new Uint8Array(message) : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    for (const ev of detector.push(pcm16FromBytes(bytes), "hands-free")) {
      if (ev.type === "speech-start") this.send({ type: "state", state: "user-speaking" });
      else if (ev.type === "turn-end") {
        // ("pause" / "resume" marks feed Parley's end-of-turn judge; the naive pipeline waits for the silence.)
        const turn = ev;
        this.chain = this.chain
          .then(() => this.runTurn(turn))
          .catch((err: unknown) => {
            console.error("[naive] turn failed", err);
            this.send({ type: "error", code: "internal", message: String(err), retryable: true });
          });
      }
    }
  }

  private send(event: Record<string, unknown>): void {
    this.broadcast(JSON.stringify(event));
  }

  private async runTurn(turn: TurnEndEvent): Promise<void> {
    const started = Date.now();
    const replyId = `r-naive-${(++this.turns).toString(36)}`;
    const { models, reply } = this.config;
    const ctx: AiCallContext = {
      ai: this.env.AI,
      tags: ["parley-bench-naive", `session:${this.name}`],
      signal: new AbortController().signal,
    };
    this.send({ type: "state", state: "thinking", replyId });

    const sttStart = Date.now();
    const transcript = await transcribe(ctx, models.stt, turn.audio, "en");
    const sttMs = Date.now() - sttStart;
    this.send({ type: "transcript", turnId: `t-${replyId}`, text: transcript.text, source: "voice" });

    const llmStart = Date.now();
    const messages = buildLlmMessages({
      systemPrompt: reply.systemPrompt,
      history: this.history,
      userText: transcript.text,
      budgetChars: reply.historyBudgetChars,
    });
    const stream = await startReplyStream(ctx, models.llm, messages, { maxTokens: reply.maxTokens, temperature: reply.temperature });
    let text = "";
    let llmFirstTokenMs: number | null = null;
    for await (const ev of readLlmStream(stream)) {
      if (ev.type !== "delta" || ev.text === "") continue;
      llmFirstTokenMs ??= Date.now() - llmStart;
      text += ev.text;
      this.send({ type: "reply-delta", replyId, text: ev.text });
    }

    const speakable = toSpeakableText(text);
    const ttsStart = Date.now();
    const audio = await synthesize(ctx, models.tts, speakable, { speaker: models.ttsSpeaker, language: "en" });
    const ttsMs = Date.now() - ttsStart;
    const firstAudioMs = Date.now() - started;
    this.send({ type: "state", state: "speaking", replyId });
    this.send(segmentHeader(replyId, 0, speakable, audio));
    this.broadcast(audio.bytes);
    this.history.push({ role: "user", text: transcript.text }, { role: "assistant", text });
    const metrics = {
      endpointingMs: turn.endpointingMs,
      sttMs,
      llmFirstTokenMs,
      firstAudioMs,
      ttsMs,
      totalMs: Date.now() - started,
      retries: 0,
    };
    const usage = {
      audioInSeconds: turn.audio.length / 16_000,
      promptTokens: 0,
      completionTokens: 0,
      ttsCharacters: speakable.length,
      ttsAudioSeconds: audio.durationMs / 1000,
      neurons: 0,
      usd: 0,
    };
    this.send({ type: "reply-done", replyId, status: "complete", text, metrics, usage, backend: "naive-baseline" });
    this.send({ type: "state", state: "listening" });
  }
}

/**
 * GET /naive/calibrate: the fake AI's own floor — service-binding RPC and workerd timers, with no Parley
 * code at all (inputs prepared beforehand, outputs not decoded), from a plain Worker. Each sample is the
 * measured time minus the nominal latency the harness passes in; `rounds` x `concurrency` samples.
 */
async function calibrate(env: NaiveEnv, q: URLSearchParams): Promise<Record<string, number[]>> {
  const nominal = (k: string) => Number(q.get(k) ?? "0");
  const rounds = Math.min(10, Math.max(1, Number(q.get("rounds") ?? "3")));
  const concurrency = Math.min(10, Math.max(1, Number(q.get("concurrency") ?? "4")));
  const chunkTokens = Math.max(1, Number(q.get("chunkTokens") ?? "1"));
  const firstChunk = q.get("firstChunk") ?? "Hello there.";
  const { models } = loadConfig(env as unknown as Record<string, unknown>);
  const ai = env.AI as unknown as AiRunner;
  const options = { tags: ["parley-bench-calibration"] };
  const sttInput = sttInputs(models.stt, new Int16Array(Math.max(320, Number(q.get("samples") ?? "32000"))), "en");
  const llmInput = llmInputs([{ role: "user", content: q.get("transcript") ?? "Hello." }], { maxTokens: 256, temperature: 0.6 });
  const ttsInput = ttsInputs(models.tts, firstChunk, { speaker: models.ttsSpeaker, language: "en" });
  const out: Record<string, number[]> = { stt: [], llmFirstToken: [], llmFirstChunkToken: [], llmEnd: [], tts: [] };
  const one = async () => {
    let t = Date.now();
    await ai.run(models.stt, sttInput, options);
    out.stt!.push(Date.now() - t - nominal("stt"));
    t = Date.now();
    const stream = (await ai.run(models.llm, llmInput, options)) as ReadableStream<Uint8Array>;
    const reader = stream.getReader();
    const dec = new TextDecoder();
    let tokens = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const before = tokens;
      tokens += (dec.decode(value, { stream: true }).match(/"response":"[^"]/g) ?? []).length;
      if (before < 1 && tokens >= 1) out.llmFirstToken!.push(Date.now() - t - nominal("llmFirstToken"));
      if (before < chunkTokens && tokens >= chunkTokens) out.llmFirstChunkToken!.push(Date.now() - t - nominal("llmFirstChunkToken"));
    }
    out.llmEnd!.push(Date.now() - t - nominal("llmEnd"));
    t = Date.now();
    await ai.run(models.tts, ttsInput, options);
    out.tts!.push(Date.now() - t - nominal("tts"));
  };
  for (let r = 0; r < rounds; r++) await Promise.all(Array.from({ length: concurrency }, one));
  return out;
}

/**
 * A bare hibernatable Durable Object, two uses:
 * - text `plain` / `write`: echoed, the latter after one SQLite write — what the output gate (outgoing
 *   messages wait until storage writes are committed) costs in this workerd;
 * - as a "raw" session for idle streaming: binary frames are dropped, `ping` answered — the per-frame
 *   floor of workerd's WebSocket + hibernation dispatch, without partyserver or Parley.
 */
export class GateProbe extends DurableObject<NaiveEnv> {
  constructor(ctx: DurableObjectState, env: NaiveEnv) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, v TEXT)");
  }
  override fetch(request: Request): Response {
    const pair = new WebSocketPair();
    if (new URL(request.url).searchParams.get("hibernate") === "0") {
      // Plain accept() with an event listener: the Durable Object stays in memory, no hibernation dispatch.
      pair[1].accept();
      pair[1].addEventListener("message", (ev) => this.webSocketMessage(pair[1], ev.data as string | ArrayBuffer));
    } else {
      this.ctx.acceptWebSocket(pair[1]);
    }
    pair[1].send(JSON.stringify({ type: "ready" }));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): void {
    if (typeof message !== "string") return;
    if (message === "write") this.ctx.storage.sql.exec("INSERT INTO probe (v) VALUES (?)", "x".repeat(200));
    if (message === "write" || message === "plain") return ws.send(message);
    if (message.startsWith('{"type":"ping"')) ws.send(JSON.stringify({ type: "pong", t: (JSON.parse(message) as { t?: unknown }).t }));
  }
}

export default {
  async fetch(request: Request, env: NaiveEnv): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/naive/calibrate") return Response.json(await calibrate(env, url.searchParams));
    const probe = /^\/naive\/gate-probe(?:\/([A-Za-z0-9-]{1,40}))?$/.exec(url.pathname);
    if (probe) return env.GateProbe.getByName(probe[1] ?? "probe").fetch(request);
    return (await routePartykitRequest(request, env, { prefix: "naive" })) ?? new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<NaiveEnv>;
