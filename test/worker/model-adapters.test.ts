// Each model family's adapter speaks that model's exact shape; checked against the fake, which
// parses what it is sent the way the real models do (e.g. a malformed WAV is rejected).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AiCallContext } from "../../server/models/ai-binding.ts";
import { startReplyStream } from "../../server/reply/llm.ts";
import { readLlmStream } from "../../server/reply/llm-stream-reader.ts";
import { sttInputs, transcribe } from "../../server/speech-to-text/whisper.ts";
import { synthesize } from "../../server/text-to-speech/tts.ts";
import { fakeAi, newSessionId, utterance } from "./support/session-client.ts";

function ctx(session: string): AiCallContext {
  return { ai: env.AI, tags: ["parley", `session:${session}`], signal: new AbortController().signal };
}

describe("model adapters", () => {
  it("whisper-large-v3-turbo gets base64 WAV, whisper and whisper-tiny-en get byte arrays", async () => {
    const pcm = utterance(500, 100);
    const turbo = sttInputs("@cf/openai/whisper-large-v3-turbo", pcm, "en") as { audio: string; language: string };
    expect(typeof turbo.audio).toBe("string");
    expect(atob(turbo.audio.slice(0, 8)).startsWith("RIFF")).toBe(true);
    expect(turbo.language).toBe("en");
    const classic = sttInputs("@cf/openai/whisper", pcm, "en") as { audio: number[] };
    expect(classic.audio.slice(0, 4)).toEqual([82, 73, 70, 70]); // "RIFF"
    expect(classic.audio.length).toBe(44 + pcm.length * 2);

    const id = newSessionId();
    await fakeAi.configure(id, { stt: { transcripts: ["one", "two", "three"] } });
    for (const [model, text] of [
      ["@cf/openai/whisper-large-v3-turbo", "one"],
      ["@cf/openai/whisper", "two"],
      ["@cf/openai/whisper-tiny-en", "three"],
    ] as const) {
      const t = await transcribe(ctx(id), model, pcm, "en");
      expect(t.text).toBe(text);
      expect(t.audioSeconds).toBeCloseTo(pcm.length / 16_000, 6);
    }
  });

  it("melotts answers base64 MP3 and aura a byte stream; both come back as sniffed audio", async () => {
    const id = newSessionId();
    const mel = await synthesize(ctx(id), "@cf/myshell-ai/melotts", "Hello there, friend.", { language: "en" });
    expect(mel.container).toBe("mp3");
    expect(mel.durationMs).toBeGreaterThan(500);
    await fakeAi.configure(id, { tts: { container: "wav" } });
    const aura = await synthesize(ctx(id), "@cf/deepgram/aura-1", "Hello there, friend.", { language: "en", speaker: "asteria" });
    expect(aura.container).toBe("wav");
    expect(aura.codec).toBe("pcm_s16le");
    expect(aura.sampleRate).toBe(16_000);
    // configure() starts a fresh call log, so only the Aura call is in it.
    const calls = await fakeAi.calls(id);
    expect(calls.map((c) => [c.model, c.input])).toEqual([["@cf/deepgram/aura-1", "Hello there, friend."]]);
  });

  it("the LLM stream parses in both the native and the OpenAI chunk format", async () => {
    for (const format of ["native", "openai"] as const) {
      const id = newSessionId();
      await fakeAi.configure(id, { llm: { reply: "One two. Three four.", format } });
      const stream = await startReplyStream(ctx(id), "@cf/meta/llama-3.1-8b-instruct-fp8", [{ role: "user", content: "hi" }], {
        maxTokens: 64,
        temperature: 0.6,
      });
      let text = "";
      let sawDone = false;
      let usage = 0;
      for await (const ev of readLlmStream(stream)) {
        if (ev.type === "delta") text += ev.text;
        if (ev.type === "usage") usage = ev.completionTokens;
        if (ev.type === "end") sawDone = ev.sawDone;
      }
      expect(text).toBe("One two. Three four.");
      expect(usage).toBe(4);
      expect(sawDone).toBe(true);
    }
  });
});
