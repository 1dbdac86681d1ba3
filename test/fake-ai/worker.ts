// A deterministic fake of Workers AI, bound as `AI` (JS RPC service binding) in Worker tests, in the
// browser end-to-end test and in the benchmark. It answers the model ids Parley uses in the same
// shapes as Workers AI, and a test can tell it, per session, to be slow, to fail, or to break a stream.
// Scenarios are keyed by the `session:<id>` request tag the server sends, so tests never collide.
import { WorkerEntrypoint } from "cloudflare:workers";
import { base64ToBytes, bytesToBase64 } from "../../shared/base64.ts";
import { makeSilentMp3 } from "../support/test-audio.ts";
import { encodeWav, parseWav } from "../../shared/audio/wav.ts";
import { DEFAULT_TRANSCRIPT, defaultReply, tokenize } from "./replies.ts";
import { fakeLiveSocket, type LiveCallLog, type LiveScenario } from "./live-sockets.ts";
import { SSE_DONE, sseEvent } from "../../shared/workers-ai/llm-stream.ts";
export type { LiveCallLog, LiveScenario } from "./live-sockets.ts";

/** Fail the first `times` calls (all calls when omitted) with a Workers-AI-style error "<code>: <message>". */
export interface FailSpec {
  code: number;
  message?: string;
  times?: number;
}

export interface FakeScenario {
  /**
   * transcripts: what successive utterances are heard as (then DEFAULT_TRANSCRIPT). A partial
   * transcription (request tag `stt:partial`) does not consume one: it hears the first words of the
   * next, about one word per 400 ms of audio.
   */
  stt?: { latencyMs?: number; transcripts?: string[]; fail?: FailSpec };
  llm?: {
    firstTokenMs?: number;
    tokenMs?: number;
    /** Reply text; default: a three-sentence reply quoting the user's last message. */
    reply?: string;
    fail?: FailSpec;
    /** End the stream (without usage or [DONE]) after this many tokens. */
    breakAfterTokens?: number;
    /** Stop sending anything after this many tokens, leaving the stream open (a hung upstream). */
    stallAfterTokens?: number;
    format?: "native" | "openai";
  };
  tts?: { latencyMs?: number; fail?: FailSpec; container?: "mp3" | "wav"; msPerChar?: number };
  /** Streaming recognition (Flux / Nova-3 live sockets); `fail` makes opening the socket throw. */
  live?: LiveScenario & { fail?: FailSpec };
  /** smart-turn: successive answers (the last one repeats), how slow, or failing. */
  smartTurn?: { complete?: boolean[]; probability?: number; latencyMs?: number; fail?: FailSpec };
}

export interface FakeCall {
  model: string;
  kind: "stt" | "llm" | "tts" | "live" | "eot";
  startedAt: number;
  endedAt?: number;
  /** The stream was cancelled by the consumer before it finished. */
  cancelled?: boolean;
  tokensSent?: number;
  /** For llm: the messages; for tts: the text; for stt: audio duration in ms. */
  input: unknown;
  /** stt: a partial transcription of speech still going on (tag `stt:partial`). */
  partial?: boolean;
  /** stt: the language it was asked to hear. */
  language?: string;
  /** stt: what it answered. */
  output?: string;
  failed?: number;
}

interface FakeEnv {
  /** Utterances shorter than FAKE_STT_SHORT_MS are heard as FAKE_STT_SHORT_TRANSCRIPT (e.g. a backchannel in the browser test). */
  FAKE_STT_SHORT_MS?: string;
  FAKE_STT_SHORT_TRANSCRIPT?: string;
  /** What a session's utterances are heard as, in order ("|"-separated), when no scenario says: for dev servers, which have none (npm run phone:sim's test). */
  FAKE_STT_TRANSCRIPTS?: string;
  FAKE_STT_MS?: string;
  FAKE_LLM_FIRST_TOKEN_MS?: string;
  FAKE_LLM_TOKEN_MS?: string;
  FAKE_TTS_MS?: string;
  FAKE_TTS_CONTAINER?: string;
}

/** FAKE_STT_TRANSCRIPTS as a list. */
function defaultTranscripts(env: FakeEnv): string[] {
  return (env.FAKE_STT_TRANSCRIPTS ?? "")
    .split("|")
    .map((t) => t.trim())
    .filter(Boolean);
}

const scenarios = new Map<string, FakeScenario>();
const callLog = new Map<string, FakeCall[]>();
const liveLog = new Map<string, LiveCallLog[]>();
const liveDrops = new Map<string, { dropped: boolean }>();
const smartTurnAnswers = new Map<string, number>();
const failCounts = new Map<string, number>();

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());
const enc = new TextEncoder();

function tagsOf(options: unknown): string[] {
  const tags = (options as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

function sessionOf(options: unknown): string {
  const tags = (options as { tags?: unknown } | undefined)?.tags;
  const tag = Array.isArray(tags) ? tags.find((t): t is string => typeof t === "string" && t.startsWith("session:")) : undefined;
  return tag ? tag.slice("session:".length) : "*";
}

// Named in test/support/scripted-failure-logs.ts: workerd's "uncaught exception" logs of what this
// throws are dropped from the test output (the tests assert on the failure instead).
function maybeFail(session: string, stage: string, spec: FailSpec | undefined): void {
  if (!spec) return;
  const key = `${session}/${stage}`;
  const n = (failCounts.get(key) ?? 0) + 1;
  failCounts.set(key, n);
  if (spec.times === undefined || n <= spec.times) {
    throw new Error(`${spec.code}: ${spec.message ?? `fake ${stage} failure`}`);
  }
}

export default class FakeAi extends WorkerEntrypoint<FakeEnv> {
  /** Test control: set the scenario for one session id ("*" = every session without its own). */
  configure(session: string, scenario: FakeScenario): void {
    scenarios.set(session, scenario);
    callLog.delete(session);
    liveLog.delete(session);
    liveDrops.delete(session);
    smartTurnAnswers.delete(session);
    for (const k of failCounts.keys()) if (k.startsWith(`${session}/`)) failCounts.delete(k);
  }

  /** Test control: the calls made for one session, oldest first. */
  calls(session: string): FakeCall[] {
    return callLog.get(session) ?? [];
  }

  /** Test control: the streaming sockets opened for one session, oldest first. */
  liveCalls(session: string): LiveCallLog[] {
    return liveLog.get(session) ?? [];
  }

  async run(model: string, inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown> {
    const session = sessionOf(options);
    const scenario = scenarios.get(session) ?? scenarios.get("*") ?? {};
    const log = callLog.get(session) ?? [];
    callLog.set(session, log);
    const env = this.env;
    const num = (v: string | undefined, d: number) => (v !== undefined && v !== "" ? Number(v) : d);

    if (options?.websocket === true) {
      if (!model.startsWith("@cf/deepgram/flux") && !model.startsWith("@cf/deepgram/nova-3"))
        throw new Error(`5007: ${model} has no WebSocket mode`);
      const call: FakeCall = { model, kind: "live", startedAt: Date.now(), input: inputs };
      log.push(call);
      try {
        maybeFail(session, "live", scenario.live?.fail);
      } catch (e) {
        call.failed = Date.now();
        throw e;
      }
      const entry: LiveCallLog = { model, inputs, audioMs: 0, events: [], closed: null, keepAlives: 0, finalizes: 0, forcedEnds: 0 };
      const logs = liveLog.get(session) ?? [];
      logs.push(entry);
      liveLog.set(session, logs);
      let drops = liveDrops.get(session);
      if (!drops) liveDrops.set(session, (drops = { dropped: false }));
      scenario.live ??= {};
      return fakeLiveSocket(model, inputs, scenario.live, entry, drops);
    }

    if (model === "@cf/pipecat-ai/smart-turn-v2") {
      const call: FakeCall = { model, kind: "eot", startedAt: Date.now(), input: null };
      // What it was asked about: ms of 16 kHz float32 audio.
      if (typeof inputs.audio === "string") call.input = base64ToBytes(inputs.audio).byteLength / 4 / 16;
      log.push(call);
      const o = scenario.smartTurn ?? {};
      await sleep(o.latencyMs ?? 10);
      try {
        maybeFail(session, "eot", o.fail);
      } catch (e) {
        call.failed = Date.now();
        throw e;
      }
      const n = smartTurnAnswers.get(session) ?? 0;
      smartTurnAnswers.set(session, n + 1);
      const answers = o.complete ?? [true];
      const complete = answers[Math.min(n, answers.length - 1)] ?? true;
      call.output = String(complete);
      call.endedAt = Date.now();
      return { is_complete: complete, probability: o.probability ?? (complete ? 0.9 : 0.1) };
    }

    if (model.startsWith("@cf/openai/whisper")) {
      const partial = tagsOf(options).includes("stt:partial");
      const call: FakeCall = {
        model,
        kind: "stt",
        startedAt: Date.now(),
        input: null,
        partial,
        ...(typeof inputs.language === "string" ? { language: inputs.language } : {}),
      };
      log.push(call);
      const wav = model.includes("large-v3-turbo") ? base64ToBytes(String(inputs.audio)) : Uint8Array.from(inputs.audio as number[]);
      const parsed = parseWav(wav); // throws on a malformed WAV, like the real model rejects bad audio
      call.input = parsed.durationMs;
      await sleep(scenario.stt?.latencyMs ?? num(env.FAKE_STT_MS, 20));
      try {
        maybeFail(session, "stt", scenario.stt?.fail);
      } catch (e) {
        call.failed = Date.now();
        throw e;
      }
      const queued = scenario.stt?.transcripts;
      const shortMs = num(env.FAKE_STT_SHORT_MS, 0);
      let text: string;
      if (shortMs > 0 && parsed.durationMs < shortMs) text = env.FAKE_STT_SHORT_TRANSCRIPT ?? "";
      else if (partial) {
        const next = queued?.length ? queued[0]! : DEFAULT_TRANSCRIPT;
        text = next
          .split(/\s+/)
          .slice(0, Math.max(1, Math.floor(parsed.durationMs / 400)))
          .join(" ");
      } else
        text = queued?.length
          ? queued.shift()!
          : (defaultTranscripts(env)[log.filter((c) => c.kind === "stt" && !c.partial).length - 1] ?? DEFAULT_TRANSCRIPT);
      call.output = text;
      call.endedAt = Date.now();
      const words = text.split(/\s+/).filter(Boolean).length;
      return model.includes("large-v3-turbo")
        ? { text, word_count: words, transcription_info: { language: "en", duration: parsed.durationMs / 1000 } }
        : { text, word_count: words };
    }

    if (model.startsWith("@cf/meta/llama")) {
      const messages = inputs.messages as { role: string; content: string }[];
      const call: FakeCall = { model, kind: "llm", startedAt: Date.now(), input: messages, tokensSent: 0 };
      log.push(call);
      const o = scenario.llm ?? {};
      try {
        maybeFail(session, "llm", o.fail);
      } catch (e) {
        call.failed = Date.now();
        throw e;
      }
      const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
      const tokens = tokenize(o.reply ?? defaultReply(lastUser));
      const firstTokenMs = o.firstTokenMs ?? num(env.FAKE_LLM_FIRST_TOKEN_MS, 30);
      const tokenMs = o.tokenMs ?? num(env.FAKE_LLM_TOKEN_MS, 5);
      const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      const event = (token: string) =>
        o.format === "openai" ? { choices: [{ delta: { content: token }, finish_reason: null }] } : { response: token, p: "abcdef" };
      if (inputs.stream !== true) {
        await sleep(firstTokenMs + tokenMs * tokens.length);
        call.tokensSent = tokens.length;
        call.endedAt = Date.now();
        return {
          response: tokens.join(""),
          usage: { prompt_tokens: promptTokens, completion_tokens: tokens.length, total_tokens: promptTokens + tokens.length },
        };
      }
      let i = 0;
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          await sleep(i === 0 ? firstTokenMs : tokenMs);
          if (call.cancelled) return;
          if (o.stallAfterTokens !== undefined && i >= o.stallAfterTokens) {
            await sleep(60_000); // goes quiet, like a hung upstream
          }
          if (o.breakAfterTokens !== undefined && i >= o.breakAfterTokens) {
            call.endedAt = Date.now();
            controller.close();
            return;
          }
          if (i < tokens.length) {
            controller.enqueue(enc.encode(sseEvent(event(tokens[i]!))));
            i++;
            call.tokensSent = i;
            return;
          }
          const usage = { prompt_tokens: promptTokens, completion_tokens: tokens.length, total_tokens: promptTokens + tokens.length };
          controller.enqueue(enc.encode(sseEvent({ response: "", usage }) + SSE_DONE));
          call.endedAt = Date.now();
          controller.close();
        },
        cancel() {
          call.cancelled = true;
          call.endedAt = Date.now();
        },
      });
    }

    if (model === "@cf/myshell-ai/melotts" || model.startsWith("@cf/deepgram/aura")) {
      const text = String(model.startsWith("@cf/deepgram/aura") ? inputs.text : inputs.prompt);
      const call: FakeCall = { model, kind: "tts", startedAt: Date.now(), input: text };
      log.push(call);
      const o = scenario.tts ?? {};
      await sleep(o.latencyMs ?? num(env.FAKE_TTS_MS, 20));
      try {
        maybeFail(session, "tts", o.fail);
      } catch (e) {
        call.failed = Date.now();
        throw e;
      }
      const durationMs = Math.max(200, text.length * (o.msPerChar ?? 60));
      // Aura asked for linear PCM in WAV (phone calls) answers that, at the rate asked for, like the real model.
      const auraWav = model.startsWith("@cf/deepgram/aura") && inputs.encoding === "linear16" && inputs.container === "wav";
      const container = auraWav ? "wav" : (o.container ?? (env.FAKE_TTS_CONTAINER === "wav" ? "wav" : "mp3"));
      const rate = auraWav && typeof inputs.sample_rate === "number" ? inputs.sample_rate : 16_000;
      const audio = container === "wav" ? toneWav(durationMs, rate) : makeSilentMp3(durationMs);
      call.endedAt = Date.now();
      if (model.startsWith("@cf/deepgram/aura")) {
        return new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(audio);
            c.close();
          },
        });
      }
      return { audio: bytesToBase64(audio) };
    }

    throw new Error(`5007: No such model ${model} or task`);
  }
}

/** An audible tone with soft edges (the browser test checks that something is played). */
function toneWav(durationMs: number, rate: number): Uint8Array {
  const n = Math.round((rate * durationMs) / 1000);
  const pcm = new Int16Array(n);
  const fade = Math.min(n / 2, rate * 0.01);
  for (let i = 0; i < n; i++) {
    const edge = Math.min(1, i / fade, (n - 1 - i) / fade);
    pcm[i] = Math.round(Math.sin((2 * Math.PI * 330 * i) / rate) * 8000 * edge);
  }
  return encodeWav(pcm, rate, 1);
}
