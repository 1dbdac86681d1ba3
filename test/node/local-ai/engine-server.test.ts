// The offline stand-in's engine server with the real engines (PocketSphinx, flite, offline
// responder): every model answers in the shape of shared/workers-ai/, plus the full
// round trip speech -> text -> reply -> speech.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WhisperOutput, WhisperTurboOutput } from "../../../shared/workers-ai/speech-to-text.ts";
import { LlmOutput, LlmStreamChunk } from "../../../shared/workers-ai/llm.ts";
import { MelottsOutput } from "../../../shared/workers-ai/text-to-speech.ts";
import { StandInMarker } from "../../../shared/workers-ai/stand-in.ts";
import { sniffAudio } from "../../../shared/audio/audio-container.ts";
import { float32ToInt16 } from "../../../shared/audio/pcm.ts";
import { encodeWav } from "../../../shared/audio/wav.ts";
import { decodeWav } from "../../../local-ai/audio.ts";
import { Resampler } from "../../../shared/audio/resampler.ts";
import { startEngineServer, type EngineServer, type HealthReport } from "../../../local-ai/engine-server.ts";
import { wordErrorRate } from "../../../local-ai/wer.ts";
import { b64, callModel, speak, ssePayloads, unb64 } from "./local-ai-support.ts";

const TURBO = "@cf/openai/whisper-large-v3-turbo";
const LLM = "@cf/meta/llama-3.1-8b-instruct-fp8";

let server: EngineServer;
beforeAll(async () => {
  server = await startEngineServer({ port: 0, env: { LOCAL_AI_FIRST_TOKEN_MS: "20", LOCAL_AI_TOKEN_MS: "2" } });
  await server.ready;
}, 60_000);
afterAll(async () => {
  await server?.close();
});

const json = async <T = Record<string, unknown>>(res: Response): Promise<T> => {
  expect(res.headers.get("content-type")).toMatch(/application\/json/);
  return (await res.json()) as T;
};

describe("engine server", () => {
  it("reports its engines on /health", async () => {
    const h = (await (await fetch(`${server.url}/health`)).json()) as HealthReport;
    expect(h).toMatchObject({
      service: "parley-local-ai",
      ready: true,
      engines: {
        stt: { label: "pocketsphinx/generic", state: "ready" },
        tts: { label: "flite/slt", state: "ready" },
        reply: { label: "offline-responder" },
      },
    });
  });

  it("whisper-large-v3-turbo: base64 WAV -> text, word_count, transcription_info", async () => {
    const wav = await speak("what is the weather in paris tomorrow");
    const out = await json(await callModel(server.url, TURBO, { audio: b64(wav), language: "en" }));
    const parsed = WhisperTurboOutput.parse(out);
    expect(StandInMarker.parse(out).engine).toBe("pocketsphinx/generic");
    expect(parsed.text.toLowerCase()).toContain("weather");
    expect(parsed.text.toLowerCase()).toContain("paris");
    expect(wordErrorRate("what is the weather in paris tomorrow", parsed.text)).toBeLessThanOrEqual(0.3);
    expect(parsed.word_count).toBe(parsed.text.split(" ").length);
    const d = decodeWav(wav);
    expect(parsed.transcription_info?.duration).toBeCloseTo(d.samples.length / d.sampleRate, 2);
  }, 30_000);

  it("whisper and whisper-tiny-en: byte array of a 48 kHz stereo WAV -> text, word_count", async () => {
    const mono16k = decodeWav(await speak("set a timer for ten minutes"));
    const up = float32ToInt16(Resampler.convert(mono16k.samples, 16000, 48000));
    const stereo = new Int16Array(up.length * 2);
    for (let i = 0; i < up.length; i++) stereo[2 * i] = stereo[2 * i + 1] = up[i]!;
    const wav = encodeWav(stereo, 48000, 2);
    for (const model of ["@cf/openai/whisper", "@cf/openai/whisper-tiny-en"]) {
      const out = await json(await callModel(server.url, model, { audio: Array.from(wav) }));
      const parsed = WhisperOutput.parse(out);
      expect(StandInMarker.parse(out).engine).toBe("pocketsphinx/generic");
      expect(parsed.text.toLowerCase()).toMatch(/timer/);
      expect(parsed.text.toLowerCase()).toMatch(/minutes/);
      expect(wordErrorRate("set a timer for ten minutes", parsed.text)).toBeLessThanOrEqual(0.34);
      expect(parsed.words?.map((w) => w.word)).toContain("timer");
    }
  }, 30_000);

  it("transcribes silence as empty text", async () => {
    const out = await json(await callModel(server.url, TURBO, { audio: b64(encodeWav(new Int16Array(16000), 16000)) }));
    expect(WhisperTurboOutput.parse(out)).toMatchObject({ text: "", word_count: 0 });
  }, 30_000);

  it("llama, not streamed: {response, usage, engine}", async () => {
    const out = await json(
      await callModel(server.url, LLM, {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "tell me a joke" },
        ],
      }),
    );
    const parsed = LlmOutput.parse(out);
    expect(parsed.response).toMatch(/scarecrow/);
    expect(parsed.usage?.completion_tokens).toBeGreaterThan(0);
    expect(StandInMarker.parse(out).engine).toBe("offline-responder");
    // any @cf/meta/llama-* model id answers
    expect(
      LlmOutput.parse(await json(await callModel(server.url, "@cf/meta/llama-3.2-3b-instruct", { prompt: "what time is it" }))).response,
    ).toMatch(/^It's \d/);
  });

  it("llama, streamed: Workers AI SSE with engine first, usage last, then [DONE]", async () => {
    const res = await callModel(server.url, LLM, { messages: [{ role: "user", content: "set a timer for five minutes" }], stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const payloads = await ssePayloads(res);
    expect(payloads.at(-1)).toBe("[DONE]");
    const events = payloads.slice(0, -1).map((p) => LlmStreamChunk.parse(JSON.parse(p)));
    expect(StandInMarker.parse(events[0]).engine).toBe("offline-responder");
    expect(events.slice(1).every((e) => !("engine" in e))).toBe(true);
    const text = events.map((e) => e.response ?? "").join("");
    expect(text).toBe("Okay, a timer for 5 minutes. It's only simulated: I'm Parley's offline stand-in, so nothing will ring.");
    const last = events.at(-1)!;
    expect(last.response).toBe("");
    expect(last.usage).toMatchObject({ completion_tokens: events.length - 1 });
  });

  it("melotts: {prompt} -> {audio: base64 WAV} that the server's audio sniffer accepts", async () => {
    const out = await json(
      await callModel(server.url, "@cf/myshell-ai/melotts", { prompt: "Hello from the offline stand-in.", lang: "en" }),
    );
    const parsed = MelottsOutput.parse(out);
    expect(StandInMarker.parse(out).engine).toBe("flite/slt");
    const bytes = unb64(parsed.audio);
    expect(sniffAudio(bytes)).toMatchObject({ container: "wav", codec: "pcm_s16le", sampleRate: 16000, channels: 1 });
    expect(sniffAudio(bytes).durationMs).toBeGreaterThan(1000);
  });

  it("aura-1 and aura-2-en: a byte stream of WAV, honouring linear16/mulaw, container and sample_rate", async () => {
    for (const model of ["@cf/deepgram/aura-1", "@cf/deepgram/aura-2-en"]) {
      const res = await callModel(server.url, model, { text: "Good morning.", speaker: "luna" });
      expect(res.headers.get("content-type")).toBe("audio/wav");
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(sniffAudio(bytes)).toMatchObject({ container: "wav", sampleRate: 16000, channels: 1 });
    }
    const wav16k = decodeWav(
      new Uint8Array(await (await callModel(server.url, "@cf/deepgram/aura-1", { text: "Good morning." })).arrayBuffer()),
    );
    const seconds = wav16k.samples.length / 16000;

    const raw = await callModel(server.url, "@cf/deepgram/aura-1", {
      text: "Good morning.",
      encoding: "linear16",
      container: "none",
      sample_rate: 24000,
    });
    expect(raw.headers.get("content-type")).toBe("audio/l16; rate=24000");
    expect((await raw.arrayBuffer()).byteLength).toBeCloseTo(seconds * 24000 * 2, -2);

    const mulaw = decodeWav(
      new Uint8Array(
        await (
          await callModel(server.url, "@cf/deepgram/aura-2-en", { text: "Good morning.", encoding: "mulaw", container: "wav" })
        ).arrayBuffer(),
      ),
    );
    expect(mulaw.sampleRate).toBe(8000);
    expect(mulaw.samples.length / 8000).toBeCloseTo(seconds, 2);
  });

  it("fails like Workers AI: 5007 for an unknown model, 8001 for bad input, 5004 for audio it cannot read", async () => {
    const unknown = await callModel(server.url, "@cf/acme/no-such-model", { prompt: "hi" });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toBe("5007: No such model @cf/acme/no-such-model or task");

    const bad = await callModel(server.url, LLM, { messages: [] });
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /^8001: Invalid input for @cf\/meta\/llama-3.1-8b-instruct-fp8: messages/,
    );

    const mp3 = await callModel(server.url, TURBO, { audio: b64(new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0, 0, 0])) });
    expect(((await mp3.json()) as { error: string }).error).toMatch(/^5004: Invalid audio: expected a WAV .* got MP3/);

    const notB64 = await callModel(server.url, TURBO, { audio: "%%% not base64 %%%" });
    expect(((await notB64.json()) as { error: string }).error).toMatch(/^5004: Invalid data type for base64 input/);
  });

  it("rejects what the published Aura input type does not allow: a voice of another model, an unknown encoding", async () => {
    const aura2Voice = await callModel(server.url, "@cf/deepgram/aura-1", { text: "Hi.", speaker: "thalia" });
    expect(aura2Voice.status).toBe(400);
    expect(((await aura2Voice.json()) as { error: string }).error).toMatch(/^8001: Invalid input for @cf\/deepgram\/aura-1: speaker/);
    const ownVoice = await callModel(server.url, "@cf/deepgram/aura-2-en", { text: "Hi.", speaker: "thalia" });
    expect(ownVoice.status).toBe(200);
    await ownVoice.arrayBuffer();
    const wma = await callModel(server.url, "@cf/deepgram/aura-2-en", { text: "Hi.", encoding: "wma" });
    expect(((await wma.json()) as { error: string }).error).toMatch(/^8001: Invalid input for @cf\/deepgram\/aura-2-en: encoding/);
  });

  it("restarts the decoder when it dies", async () => {
    const stt = server.engines.stt;
    const before = stt.pid!;
    process.kill(before, "SIGKILL");
    await new Promise((r) => setTimeout(r, 100));
    const out = await json(await callModel(server.url, TURBO, { audio: b64(await speak("tell me a joke")) }));
    expect(WhisperTurboOutput.parse(out).text.toLowerCase()).toContain("joke");
    expect(stt.pid).toBeDefined();
    expect(stt.pid).not.toBe(before);
  }, 30_000);

  it("round trip: flite speaks, the stand-in STT hears it, the reply comes back as audio", async () => {
    const sentence = "what is the weather in paris tomorrow";
    const heard = WhisperTurboOutput.parse(
      await json(await callModel(server.url, TURBO, { audio: b64(await speak(sentence, "slt")) })),
    ).text;
    for (const w of ["weather", "paris", "tomorrow"]) expect(heard.toLowerCase()).toContain(w);
    expect(wordErrorRate(sentence, heard)).toBeLessThanOrEqual(0.3);

    const payloads = await ssePayloads(await callModel(server.url, LLM, { messages: [{ role: "user", content: heard }], stream: true }));
    const reply = payloads
      .slice(0, -1)
      .map((p) => LlmStreamChunk.parse(JSON.parse(p)).response ?? "")
      .join("");
    expect(reply).toMatch(/offline stand-in/);
    expect(reply.toLowerCase()).toContain("i heard: what is the weather in paris");

    const { audio } = MelottsOutput.parse(await json(await callModel(server.url, "@cf/myshell-ai/melotts", { prompt: reply })));
    const wav = decodeWav(unb64(audio));
    expect(wav.sampleRate).toBe(16000);
    expect(wav.samples.length / 16000).toBeGreaterThan(2);
    // and it is speech the recognizer can hear again
    const again = WhisperTurboOutput.parse(await json(await callModel(server.url, TURBO, { audio })));
    expect(again.text.toLowerCase()).toMatch(/offline|language|model|weather|paris/);
  }, 60_000);
});
