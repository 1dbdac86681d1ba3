// Benchmark variant of the fake Workers AI (test/fake-ai/worker.ts), bound as the `AI` service binding
// of both the Parley Worker and the naive baseline. Same model ids, output shapes, transcript and reply
// text as the test fake, but built for measuring:
// - latencies are fixed and known (bench/harness/latency-model.ts), read from FAKE_* vars;
// - LLM tokens are scheduled at absolute deadlines from the request, so timer lateness under load
//   does not pile up over a reply (the harness subtracts the nominal schedule);
// - TTS latency is per sentence of the request, so synthesizing a whole reply costs what its
//   sentences would (the naive baseline's single call is not made artificially cheap);
// - no call log, no scenarios, audio cached per duration: as little CPU as possible in the shared workerd.
import { WorkerEntrypoint } from "cloudflare:workers";
import { bytesToBase64 } from "../../server/audio/base64.ts";
import { makeSilentMp3 } from "../../server/audio/mp3.ts";
import { DEFAULT_TRANSCRIPT, defaultReply, tokenize } from "../../test/fake-ai/replies.ts";
import { pacedReplyStream, sleepUntil } from "./paced-reply.mts";
import { latenciesFromVars, speechDurationMs, tokenAtMs, ttsLatencyMs, type FakeLatencies } from "../harness/latency-model.ts";

interface BenchAiEnv {
  FAKE_STT_MS?: string;
  FAKE_LLM_FIRST_TOKEN_MS?: string;
  FAKE_LLM_TOKEN_MS?: string;
  FAKE_TTS_MS?: string;
}

const audioCache = new Map<number, string>();
let latencies: FakeLatencies | undefined;


function silentMp3Base64(durationMs: number): string {
  let b64 = audioCache.get(durationMs);
  if (b64 === undefined) {
    b64 = bytesToBase64(makeSilentMp3(durationMs));
    if (audioCache.size < 1000) audioCache.set(durationMs, b64);
  }
  return b64;
}

export default class BenchAi extends WorkerEntrypoint<BenchAiEnv> {
  async run(model: string, inputs: Record<string, unknown>): Promise<unknown> {
    const t0 = Date.now();
    const l = (latencies ??= latenciesFromVars(this.env as Record<string, unknown>));

    if (model.startsWith("@cf/openai/whisper")) {
      // Audio length from the base64 WAV (44-byte header, 16 kHz mono PCM16) without decoding it.
      const b64 = typeof inputs.audio === "string" ? inputs.audio : "";
      const seconds = Math.max(0, (b64.length * 3) / 4 - 44) / 32_000;
      await sleepUntil(t0 + l.sttMs);
      const text = DEFAULT_TRANSCRIPT;
      return { text, word_count: text.split(/\s+/).length, transcription_info: { language: "en", duration: seconds } };
    }

    if (model.startsWith("@cf/meta/llama")) {
      const messages = inputs.messages as { role: string; content: string }[];
      const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content ?? "";
      const tokens = tokenize(defaultReply(lastUser));
      const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      return pacedReplyStream(tokens, promptTokens, t0, (i) => tokenAtMs(i, l));
    }

    if (model === "@cf/myshell-ai/melotts") {
      const text = String(inputs.prompt ?? "");
      await sleepUntil(t0 + ttsLatencyMs(text, l));
      return { audio: silentMp3Base64(speechDurationMs(text)) };
    }

    throw new Error(`5007: No such model ${model} or task`);
  }
}
