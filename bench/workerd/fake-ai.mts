// Benchmark variant of the fake Workers AI (test/fake-ai/worker.ts), bound as the `AI` service binding
// of both the Parley Worker and the naive baseline. Same model ids, output shapes, transcript and reply
// text as the test fake, but built for measuring:
// - latencies are known: fixed ones from FAKE_* vars (bench/harness/latency-model.ts, the overhead
//   phases), or, with FAKE_PROFILE=workers-ai, the Workers AI profile (bench/profiles/workers-ai.ts,
//   the turn-taking paths), which also answers smart-turn-v2 and the Flux / Nova-3 live sockets;
// - LLM tokens are scheduled at absolute deadlines from the request, so timer lateness under load
//   does not pile up over a reply (the harness subtracts the nominal schedule);
// - TTS latency is per sentence of the request (fixed mode), so synthesizing a whole reply costs what its
//   sentences would (the naive baseline's single call is not made artificially cheap);
// - no call log, no scenarios, audio cached per duration: as little CPU as possible in the shared workerd.
import { WorkerEntrypoint } from "cloudflare:workers";
import { bytesToBase64 } from "../../shared/base64.ts";
import { makeSilentMp3 } from "../../test/support/test-audio.ts";
import { encodeWav } from "../../shared/audio/wav.ts";
import { DEFAULT_TRANSCRIPT, defaultReply, tokenize } from "../../test/fake-ai/replies.ts";
import { pacedReplyStream, sleepUntil } from "./paced-reply.mts";
import { fakeLiveSocket, type FluxFakeOptions, type NovaFakeOptions } from "./live-fakes.mts";
import type { FakeModelSocket } from "../../test/fake-ai/fake-model-socket.ts";
import { latenciesFromVars, speechDurationMs, tokenAtMs, ttsLatencyMs, type FakeLatencies } from "../harness/latency-model.ts";
import { WORKERS_AI_PROFILE as W, stratifiedQuantile } from "../profiles/workers-ai.ts";
import { fluxEagerMs, fluxEndOfTurnMs, llmTokenDueMs, melottsMs, smartTurnCallMs, whisperMs } from "../profiles/workers-ai.ts";

interface BenchAiEnv {
  FAKE_STT_MS?: string;
  FAKE_LLM_FIRST_TOKEN_MS?: string;
  FAKE_LLM_TOKEN_MS?: string;
  FAKE_TTS_MS?: string;
  /** What speech over a reply is heard as (default: the same transcript as every turn). */
  FAKE_INTERRUPTION_TRANSCRIPT?: string;
  /** "workers-ai": latencies from bench/profiles/workers-ai.ts (and the streaming / smart-turn models). */
  FAKE_PROFILE?: string;
  /** workers-ai mode: Flux end-of-turn delays are drawn from this many equal-probability strata (the turns planned). */
  FAKE_FLUX_STRATA?: string;
}

const audioCache = new Map<number, string>();
let latencies: FakeLatencies | undefined;
/** Flux turns decided so far (workers-ai mode), for the stratified draw. */
let fluxTurns = 0;

function silentMp3Base64(durationMs: number): string {
  let b64 = audioCache.get(durationMs);
  if (b64 === undefined) {
    b64 = bytesToBase64(makeSilentMp3(durationMs));
    if (audioCache.size < 1000) audioCache.set(durationMs, b64);
  }
  return b64;
}

const wavCache = new Map<string, Uint8Array>();

function silentWav(durationMs: number, rate: number): Uint8Array {
  const key = `${durationMs}/${rate}`;
  let wav = wavCache.get(key);
  if (wav === undefined) {
    wav = encodeWav(new Int16Array(Math.round((rate * durationMs) / 1000)), rate);
    if (wavCache.size < 1000) wavCache.set(key, wav);
  }
  return wav;
}

function tagsOf(options: unknown): string[] {
  const tags = (options as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === "string") : [];
}

/** The transcript's words, revealed one per 250 ms of speech (Update / interim text), all of it when final. */
function transcriptSoFar(voicedMs: number, final: boolean): string {
  const words = DEFAULT_TRANSCRIPT.split(/\s+/);
  if (final) return DEFAULT_TRANSCRIPT;
  return words.slice(0, Math.min(words.length - 1, Math.max(1, Math.floor(voicedMs / 250)))).join(" ");
}

export default class BenchAi extends WorkerEntrypoint<BenchAiEnv> {
  async run(model: string, inputs: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown> {
    const t0 = Date.now();
    const l = (latencies ??= latenciesFromVars(this.env as Record<string, unknown>));
    const profile = this.env.FAKE_PROFILE === "workers-ai";

    if (options?.websocket === true) {
      if (!profile) throw new Error(`5007: ${model} has no WebSocket mode in the fixed-latency fake`);
      return this.liveSocket(model, inputs, tagsOf(options));
    }

    if (model === W.smartTurn.model) {
      if (!profile) throw new Error(`5007: No such model ${model} or task`);
      // Every benchmark sentence is finished: "complete".
      await sleepUntil(t0 + smartTurnCallMs());
      return { is_complete: true, probability: 0.9 };
    }

    if (model.startsWith("@cf/openai/whisper")) {
      // Audio length from the base64 WAV (44-byte header, 16 kHz mono PCM16) without decoding it.
      const b64 = typeof inputs.audio === "string" ? inputs.audio : "";
      const seconds = Math.max(0, (b64.length * 3) / 4 - 44) / 32_000;
      await sleepUntil(t0 + (profile ? whisperMs(seconds) : l.sttMs));
      // Speech over a reply (the session's barge-in calls are tagged stt:<kind>) may be heard as other words than the
      // reply quotes, so that the echo guard lets it interrupt (the phone rows' spoken barge-in).
      const text =
        this.env.FAKE_INTERRUPTION_TRANSCRIPT && tagsOf(options).some((t) => t.startsWith("stt:"))
          ? this.env.FAKE_INTERRUPTION_TRANSCRIPT
          : DEFAULT_TRANSCRIPT;
      return { text, word_count: text.split(/\s+/).length, transcription_info: { language: "en", duration: seconds } };
    }

    if (model.startsWith("@cf/meta/llama")) {
      const messages = inputs.messages as { role: string; content: string }[];
      const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
      const tokens = tokenize(defaultReply(lastUser));
      const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      return pacedReplyStream(tokens, promptTokens, t0, (i) => (profile ? llmTokenDueMs(i) : tokenAtMs(i, l)));
    }

    if (model === "@cf/myshell-ai/melotts") {
      const text = typeof inputs.prompt === "string" ? inputs.prompt : "";
      await sleepUntil(t0 + (profile ? melottsMs(text) : ttsLatencyMs(text, l)));
      return { audio: silentMp3Base64(speechDurationMs(text)) };
    }

    // Aura asked for linear PCM in WAV (the phone path, server/phone/): the same latency as melotts, silence at the rate asked for.
    if (model.startsWith("@cf/deepgram/aura") && inputs.encoding === "linear16" && inputs.container === "wav") {
      const text = typeof inputs.text === "string" ? inputs.text : "";
      await sleepUntil(t0 + (profile ? melottsMs(text) : ttsLatencyMs(text, l)));
      const wav = silentWav(speechDurationMs(text), typeof inputs.sample_rate === "number" ? inputs.sample_rate : 24_000);
      return new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(wav);
          c.close();
        },
      });
    }

    throw new Error(`5007: No such model ${model} or task`);
  }

  private liveSocket(model: string, inputs: Record<string, unknown>, tags: string[]): FakeModelSocket {
    const rtt = W.network.doAiRttMs.value;
    // Warm-up sessions take the median and leave the stratified draws to the measured turns.
    const warm = tags.some((t) => t.startsWith("session:warm"));
    const strata = Number(this.env.FAKE_FLUX_STRATA ?? "0") || 1;
    const flux: FluxFakeOptions = {
      nextTurn: () => {
        const endOfTurnMs = fluxEndOfTurnMs(warm ? 0.5 : stratifiedQuantile(fluxTurns++, strata));
        return { endOfTurnMs, eagerMs: fluxEagerMs(endOfTurnMs) };
      },
      // Like Nova's interim words: the model has caught up with the speech once quiet for the word lag.
      transcript: (voicedMs, final, silenceMs) => transcriptSoFar(voicedMs, final || silenceMs >= W.flux.wordLagMs.value),
      eventDelayMs: rtt,
      updateEveryMs: W.flux.updateEveryMs.value,
    };
    const lag = W.nova.wordLagMs.value;
    const nova: NovaFakeOptions = {
      eventDelayMs: rtt,
      finalizeMs: W.nova.finalizeMs.value,
      words: {
        // The model has caught up with the speech once it has been quiet for the word lag.
        interim: (start, _pos, audio) => {
          const voiced = audio.voicedMsSince(start);
          if (voiced === 0) return "";
          return audio.trailingSilenceMs >= lag ? DEFAULT_TRANSCRIPT : transcriptSoFar(Math.max(0, voiced - lag), false);
        },
        final: (start, _pos, audio) => (audio.voicedMsSince(start) > 0 ? DEFAULT_TRANSCRIPT : ""),
      },
    };
    if (model !== W.flux.model && model !== W.nova.model) throw new Error(`5007: ${model} has no WebSocket mode`);
    return fakeLiveSocket(model, inputs, { flux, nova });
  }
}
