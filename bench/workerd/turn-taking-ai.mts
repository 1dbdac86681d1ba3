// Fake Workers AI of the turn-taking benchmark (`npm run bench:turns`), bound to Parley as `AI`.
// Unlike the other fakes it answers with real content, from the Node side of the benchmark (the
// ORACLE service binding, bench/turn-taking/oracle-service.ts):
// - whisper-large-v3-turbo: the STT oracle's words for the exact audio sent (found in the session's
//   recorded microphone stream via the `session:<id>` request tag);
// - melotts: real speech (flite WAV) of the sentence;
// - llama: the scripted long reply, streamed as Workers AI streams it.
// Each call takes the time bench/turn-taking/latency-profile.ts says, measured from the request
// (the oracle's own time is included, not added).
import { WorkerEntrypoint } from "cloudflare:workers";
import { sttLatencyMs, tokenDueMs, ttsLatencyMs } from "../turn-taking/latency-profile.ts";
import { replyTokens } from "../turn-taking/reply-script.ts";
import { pacedReplyStream, sleepUntil } from "./paced-reply.mts";

interface TurnTakingAiEnv {
  ORACLE: Fetcher;
}



export default class TurnTakingAi extends WorkerEntrypoint<TurnTakingAiEnv> {
  async run(model: string, inputs: Record<string, unknown>, options?: { tags?: string[] }): Promise<unknown> {
    const t0 = Date.now();
    const tags = options?.tags ?? [];

    if (model === "@cf/openai/whisper-large-v3-turbo") {
      const res = await this.oracle("/stt", { audio: String(inputs.audio ?? ""), tags });
      const { text, audioSeconds } = (await res.json()) as { text: string; audioSeconds: number };
      await sleepUntil(t0 + sttLatencyMs(audioSeconds));
      return { text, word_count: text.split(/\s+/).filter(Boolean).length, transcription_info: { language: "en", duration: audioSeconds } };
    }

    if (model.startsWith("@cf/meta/llama")) {
      const messages = (inputs.messages ?? []) as { role: string; content: string }[];
      const tokens = replyTokens();
      const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      return pacedReplyStream(tokens, promptTokens, t0, tokenDueMs);
    }

    if (model === "@cf/myshell-ai/melotts") {
      const text = String(inputs.prompt ?? "");
      const res = await this.oracle("/tts", { text });
      const { audio } = (await res.json()) as { audio: string };
      await sleepUntil(t0 + ttsLatencyMs(text));
      return { audio };
    }

    throw new Error(`5007: No such model ${model} or task (the turn-taking fake answers whisper-large-v3-turbo, llama and melotts)`);
  }

  private async oracle(path: string, body: unknown): Promise<Response> {
    const res = await this.env.ORACLE.fetch(`http://oracle${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`3043: turn-taking oracle ${path} failed: ${res.status} ${await res.text()}`);
    return res;
  }
}
