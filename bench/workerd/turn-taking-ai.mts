// Fake Workers AI of the turn-taking benchmark (`npm run bench:turns`), bound to Parley as `AI`.
// Unlike the other fakes it answers with real content, from the Node side of the benchmark (the
// ORACLE service binding, bench/turn-taking/oracle-service.ts):
// - whisper-large-v3-turbo: the STT oracle's words for the exact audio sent (found in the session's
//   recorded microphone stream via the `session:<id>` request tag);
// - smart-turn-v2: an ideal classifier that knows the scenario: the audio it is given is located in the
//   session's recording, and it is "complete" when it ends on a finished sentence, "incomplete" when it
//   ends on the first part of one (before a pause);
// - Nova-3 live (`websocket: true`): interim results of the user's words as they become known (a word
//   a fixed lag after it ends, by its position in the session's audio), a final one on Finalize;
// - melotts: real speech (flite WAV) of the sentence;
// - llama: the scripted long reply, streamed as Workers AI streams it.
// Each call takes the time bench/turn-taking/latency-profile.ts (bench/profiles/workers-ai.ts) says,
// measured from the request (the oracle's own time is included, not added).
import { WorkerEntrypoint } from "cloudflare:workers";
import { LATENCY_PROFILE, sttLatencyMs, tokenDueMs, ttsLatencyMs } from "../turn-taking/latency-profile.ts";
import { replyTokens } from "../turn-taking/reply-script.ts";
import { fakeLiveSocket, type NovaWords } from "./live-fakes.mts";
import type { FakeModelSocket } from "../../test/fake-ai/fake-model-socket.ts";
import { pacedReplyStream, sleepUntil } from "./paced-reply.mts";

interface TurnTakingAiEnv {
  ORACLE: Fetcher;
}

interface SpokenWord {
  word: string;
  /** Session samples: the word's middle, and just after it. */
  at: number;
  end: number;
}

const SMART_TURN = "@cf/pipecat-ai/smart-turn-v2";
const NOVA = "@cf/deepgram/nova-3";

export default class TurnTakingAi extends WorkerEntrypoint<TurnTakingAiEnv> {
  async run(model: string, inputs: Record<string, unknown>, options?: { tags?: string[]; websocket?: boolean }): Promise<unknown> {
    const t0 = Date.now();
    const tags = options?.tags ?? [];

    if (options?.websocket === true) {
      if (model !== NOVA) throw new Error(`5007: ${model} has no WebSocket mode in the turn-taking fake (it answers ${NOVA})`);
      return this.novaSocket(inputs, tags);
    }

    if (model === "@cf/openai/whisper-large-v3-turbo") {
      const res = await this.oracle("/stt", { audio: typeof inputs.audio === "string" ? inputs.audio : "", tags });
      const { text, audioSeconds } = (await res.json()) as { text: string; audioSeconds: number };
      await sleepUntil(t0 + sttLatencyMs(audioSeconds));
      return { text, word_count: text.split(/\s+/).filter(Boolean).length, transcription_info: { language: "en", duration: audioSeconds } };
    }

    if (model === SMART_TURN) {
      const res = await this.oracle("/smart-turn", { audio: typeof inputs.audio === "string" ? inputs.audio : "", tags });
      const { complete } = (await res.json()) as { complete: boolean };
      await sleepUntil(t0 + LATENCY_PROFILE.smartTurnMs);
      return { is_complete: complete, probability: complete ? 0.9 : 0.1 };
    }

    if (model.startsWith("@cf/meta/llama")) {
      const messages = (inputs.messages ?? []) as { role: string; content: string }[];
      const tokens = replyTokens();
      const promptTokens = Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 4);
      return pacedReplyStream(tokens, promptTokens, t0, tokenDueMs);
    }

    if (model === "@cf/myshell-ai/melotts") {
      const text = typeof inputs.prompt === "string" ? inputs.prompt : "";
      const res = await this.oracle("/tts", { text });
      const { audio } = (await res.json()) as { audio: string };
      await sleepUntil(t0 + ttsLatencyMs(text));
      return { audio };
    }

    throw new Error(
      `5007: No such model ${model} or task (the turn-taking fake answers whisper-large-v3-turbo, smart-turn-v2, nova-3 live, llama and melotts)`,
    );
  }

  /**
   * Nova-3 live over the session's words: the socket's audio is the session's microphone stream from its
   * first sample (Parley forwards every frame, the first ones once the socket is open), so a position in
   * it is a session sample. The word list is fetched when the socket opens and whenever speech begins.
   */
  private novaSocket(inputs: Record<string, unknown>, tags: string[]): FakeModelSocket {
    const lagSamples = (LATENCY_PROFILE.novaWordLagMs * 16_000) / 1000;
    let words: SpokenWord[] = [];
    const refresh = () => {
      void this.oracle("/words", { tags })
        .then((r) => r.json() as Promise<{ words: SpokenWord[] }>)
        .then((w) => {
          words = w.words;
        })
        .catch(() => {});
    };
    refresh();
    const join = (list: SpokenWord[]) => list.map((w) => w.word).join(" ");
    const source: NovaWords = {
      onSpeech: refresh,
      interim: (start, pos) => join(words.filter((w) => w.at >= start && w.end + lagSamples <= pos)),
      final: (start, pos) => join(words.filter((w) => w.at >= start && w.at < pos)),
    };
    return fakeLiveSocket(NOVA, inputs, {
      nova: { words: source, eventDelayMs: LATENCY_PROFILE.doAiRttMs, finalizeMs: LATENCY_PROFILE.novaFinalizeMs },
    });
  }

  private async oracle(path: string, body: unknown): Promise<Response> {
    const res = await this.env.ORACLE.fetch(`http://oracle${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`3043: turn-taking oracle ${path} failed: ${res.status} ${await res.text()}`);
    return res;
  }
}
