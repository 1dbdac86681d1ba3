// The engine server's live transcription socket (GET /live, Deepgram's live protocol as Workers AI
// proxies it for @cf/deepgram/nova-3) with a real PocketSphinx decoder: interim results while the
// audio arrives, finals from the decoder's own end-of-utterance detection and on Finalize, the
// idle timeout, bad inputs, several streams at once.
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WhisperTurboOutput } from "../../../shared/workers-ai/speech-to-text.ts";
import { startEngineServer, type EngineServer, type HealthReport } from "../../../local-ai/engine-server.ts";
import { parseLiveParams, resultsMessage } from "../../../local-ai/live-transcription.ts";
import { wordErrorRate } from "../../../local-ai/wer.ts";
import { b64, callModel, joinFinals, LiveClient, liveUrl, NOVA_INPUTS, pcmBytes, speak, transcriptOf } from "./local-ai-support.ts";
import { concatArrays } from "../../../shared/typed-arrays.ts";

const IDLE_MS = 2500;
let server: EngineServer;
const open: LiveClient[] = [];

beforeAll(async () => {
  server = await startEngineServer({ port: 0, env: { LOCAL_AI_LIVE_IDLE_MS: String(IDLE_MS), LOCAL_AI_LIVE_MAX: "2" } });
  await server.ready;
}, 60_000);
afterAll(async () => {
  for (const c of open) c.ws.terminate();
  await server?.close();
});

async function connect(inputs: Record<string, string> = NOVA_INPUTS, model?: string): Promise<LiveClient> {
  const c = new LiveClient(liveUrl(server.url, inputs, model));
  open.push(c);
  await c.opened;
  return c;
}

/** A WebSocket upgrade request that is expected to be refused: its status and body. */
function upgradeRefusal(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("upgrade", () => reject(new Error("the upgrade was accepted")));
    req.on("error", reject);
    req.end();
  });
}

/** Wait until the server has given back all but `n` live decoders. */
async function liveStreamsOpen(n: number, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (server.health().engines.stt.live.open !== n) {
    if (Date.now() > deadline) throw new Error(`${server.health().engines.stt.live.open} live streams still open, expected ${n}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const silence = (ms: number) => new Uint8Array(Math.round((ms / 1000) * 16000) * 2);
const concat = (...parts: Uint8Array[]) => concatArrays(Uint8Array, parts);

describe("live transcription socket (/live, nova-3 protocol)", () => {
  it("sends interim results while the audio arrives, and the final on Finalize matches batch transcription", async () => {
    const sentence = "what is the weather in paris tomorrow";
    const wav = await speak(sentence);
    const batch = WhisperTurboOutput.parse(
      await (await callModel(server.url, "@cf/openai/whisper-large-v3-turbo", { audio: b64(wav) })).json(),
    ).text;

    const c = await connect();
    const pcm = pcmBytes(wav);
    const frames = Math.ceil(pcm.length / 640);
    await c.sendAudio(pcm, { realtime: true });
    const finalizeAt = c.received.length;
    const askedAt = performance.now();
    c.sendJson({ type: "Finalize" });
    const final = await c.waitFor((m) => m.type === "Results" && m.from_finalize === true, 5000, finalizeAt);
    const finalMs = performance.now() - askedAt;

    // SpeechStarted first, then interim results while the audio was still being sent.
    const types = c.messages().map((m) => m.type);
    expect(types[0]).toBe("SpeechStarted");
    expect(c.messages("SpeechStarted")[0]!.timestamp).toBeLessThan(0.5);
    const interims = c.received.filter((r) => r.msg.type === "Results" && r.msg.is_final === false);
    const early = interims.filter((r) => r.framesSent < frames);
    expect(early.length).toBeGreaterThanOrEqual(4);
    expect(early.some((r) => transcriptOf(r.msg).length > 0)).toBe(true);
    // Each interim covers the whole segment so far, about every 260 ms of audio.
    for (const r of interims)
      expect(r.msg).toMatchObject({
        channel_index: [0, 1],
        start: 0,
        is_final: false,
        speech_final: false,
        engine: "pocketsphinx/generic",
      });
    const durations = interims.map((r) => r.msg.duration!);
    for (let i = 1; i < durations.length; i++) expect(durations[i]! - durations[i - 1]!).toBeCloseTo(0.26, 1);

    // The final: from Finalize, the whole segment, words close to the batch transcript.
    expect(final).toMatchObject({
      type: "Results",
      is_final: true,
      speech_final: false,
      from_finalize: true,
      start: 0,
      engine: "pocketsphinx/generic",
    });
    expect(final.duration).toBeCloseTo(pcm.length / 32000, 1);
    const text = joinFinals(c.finals());
    expect(text[0]).toBe(text[0]!.toUpperCase()); // smart_format: capitalised like the batch stand-in
    expect(wordErrorRate(batch, text)).toBeLessThanOrEqual(0.3);
    expect(wordErrorRate(sentence, text)).toBeLessThanOrEqual(0.3);
    const alt = final.channel!.alternatives[0]!;
    expect(alt.confidence).toBeGreaterThan(0);
    expect(alt.confidence).toBeLessThanOrEqual(1);
    for (const w of alt.words) {
      expect(w.end).toBeGreaterThan(w.start);
      expect(w.end).toBeLessThanOrEqual(final.duration! + 0.05);
      expect(w.confidence).toBeGreaterThanOrEqual(0);
      expect(w.confidence).toBeLessThanOrEqual(1);
    }
    // Decoding kept up with the audio: the final is ready soon after Finalize.
    expect(finalMs).toBeLessThan(1500);
    c.close();
  }, 30_000);

  it("Finalize on silence answers at once with an empty from_finalize final; no interim results without speech", async () => {
    const c = await connect();
    await c.sendAudio(silence(600));
    c.sendJson({ type: "Finalize" });
    const final = await c.waitFor((m) => m.from_finalize === true, 5000);
    expect(transcriptOf(final)).toBe("");
    expect(final).toMatchObject({ is_final: true, start: 0 });
    expect(final.duration).toBeCloseTo(0.6, 2);
    expect(c.messages("SpeechStarted")).toEqual([]);
    expect(c.results().filter((m) => !m.is_final)).toEqual([]);
    // A second Finalize right away is answered too (the client never waits for nothing).
    c.sendJson({ type: "Finalize" });
    await c.waitFor((m) => m.from_finalize === true, 5000, c.received.indexOf(c.received.find((r) => r.msg === final)!) + 1);
    c.close();
  }, 15_000);

  it("ends a segment on PocketSphinx's own end of utterance; segments tile the audio; flags are honoured", async () => {
    const first = pcmBytes(await speak("tell me a joke"));
    const second = pcmBytes(await speak("what time is it"));
    const c = await connect({
      ...NOVA_INPUTS,
      interim_results: "false",
      vad_events: "false",
      punctuate: "false",
      smart_format: "false",
      endpointing: "300",
    });
    await c.sendAudio(concat(first, silence(1200), second)); // as fast as it goes
    c.sendJson({ type: "Finalize" });
    await c.waitFor((m) => m.from_finalize === true, 10_000);
    const finals = c.finals();
    expect(c.results().every((m) => m.is_final)).toBe(true); // interim_results=false
    expect(c.messages("SpeechStarted")).toEqual([]); // vad_events=false
    const vadEnded = finals.filter((m) => !m.from_finalize);
    expect(vadEnded.length).toBeGreaterThanOrEqual(1);
    expect(transcriptOf(vadEnded[0]!)).toMatch(/joke/);
    expect(transcriptOf(vadEnded[0]!)).toBe(transcriptOf(vadEnded[0]!).toLowerCase()); // no formatting asked for
    expect(vadEnded[0]!.speech_final).toBe(true); // endpointing on: the VAD's end is an endpoint
    expect(transcriptOf(finals.at(-1)!)).toMatch(/time/);
    for (let i = 1; i < finals.length; i++) expect(finals[i]!.start).toBeCloseTo(finals[i - 1]!.start! + finals[i - 1]!.duration!, 3);
    const total = (first.length + second.length + silence(1200).length) / 32000;
    expect(finals.at(-1)!.start! + finals.at(-1)!.duration!).toBeCloseTo(total, 2);
    c.close();
  }, 20_000);

  it("CloseStream flushes the final result, sends Metadata and closes with 1000", async () => {
    const pcm = pcmBytes(await speak("tell me a joke"));
    const c = await connect();
    await c.sendAudio(pcm);
    c.sendJson({ type: "CloseStream" });
    const closed = await c.closed;
    expect(closed.code).toBe(1000);
    const types = c.messages().map((m) => m.type);
    expect(types.at(-1)).toBe("Metadata");
    expect(types.at(-2)).toBe("Results");
    expect(joinFinals(c.finals())).toMatch(/joke/i);
    const meta = c.messages("Metadata")[0]!;
    expect(meta.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.duration).toBeCloseTo(pcm.length / 32000, 3);
    expect(meta.engine).toBe("pocketsphinx/generic");
  }, 15_000);

  it("closes an idle socket with 1011; KeepAlive keeps it open", async () => {
    const c = await connect();
    await c.sendAudio(silence(100));
    const started = performance.now();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, IDLE_MS / 2));
      c.sendJson({ type: "KeepAlive" });
    }
    expect(c.ws.readyState).toBe(c.ws.OPEN); // 1.5 idle timeouts' worth of time, kept alive
    const closed = await c.closed;
    const idleFor = performance.now() - started - 1.5 * IDLE_MS;
    expect(closed.code).toBe(1011);
    expect(closed.reason).toMatch(/NET-0001/);
    expect(idleFor).toBeGreaterThan(IDLE_MS - 200);
    expect(idleFor).toBeLessThan(IDLE_MS + 1500);
  }, 20_000);

  it("refuses inputs it cannot serve with an Error message, then a close that says why", async () => {
    const cases: [Record<string, string>, number, RegExp, string?][] = [
      [{ ...NOVA_INPUTS, encoding: "opus" }, 1003, /^8001: .*encoding must be "linear16".*got "opus"/],
      [{ ...NOVA_INPUTS, sample_rate: "48000" }, 1003, /^8001: .*sample_rate must be 16000.*got "48000"/],
      [{ ...NOVA_INPUTS, language: "fr" }, 1003, /^8001: .*language "fr" is not available offline/],
      [{ ...NOVA_INPUTS, interim_results: "yes" }, 1003, /^8001: .*interim_results must be "true" or "false"/],
      [NOVA_INPUTS, 1003, /^5007: @cf\/deepgram\/flux has no live .*supported: @cf\/deepgram\/nova-3/, "@cf/deepgram/flux"],
    ];
    for (const [inputs, code, description, model] of cases) {
      const c = await connect(inputs, model);
      const closed = await c.closed;
      expect(c.messages()).toHaveLength(1);
      expect(c.messages()[0]).toMatchObject({ type: "Error" });
      expect(c.messages()[0]!.description).toMatch(description);
      expect(closed.code).toBe(code);
      expect(closed.reason).toMatch(/^(8001|5007): /);
    }
  }, 20_000);

  it("serves several streams at once, each with its own decoder; past LOCAL_AI_LIVE_MAX the upgrade gets 429 (3040)", async () => {
    const a = await connect();
    const b = await connect();
    const [joke, time] = [pcmBytes(await speak("tell me a joke")), pcmBytes(await speak("what time is it"))];
    await Promise.all([a.sendAudio(joke, { realtime: true }), b.sendAudio(time, { realtime: true })]);
    a.sendJson({ type: "Finalize" });
    b.sendJson({ type: "Finalize" });
    await Promise.all([a.waitFor((m) => m.from_finalize === true), b.waitFor((m) => m.from_finalize === true)]);
    expect(joinFinals(a.finals())).toMatch(/joke/i);
    expect(joinFinals(b.finals())).toMatch(/time/i);
    const h = (await (await fetch(`${server.url}/health`)).json()) as HealthReport;
    expect(h.engines.stt.live).toMatchObject({ open: 2, max: 2 });

    const third = new LiveClient(liveUrl(server.url));
    await expect(third.opened).rejects.toThrow("HTTP 429");
    const refused = await upgradeRefusal(`${server.url}/live?model=@cf/deepgram/nova-3`);
    expect(refused.status).toBe(429);
    expect((JSON.parse(refused.body) as { error: string }).error).toMatch(/^3040: Capacity: 2 live transcription streams are open/);

    a.close();
    await a.closed;
    await liveStreamsOpen(1);
    const again = await connect();
    expect(again.ws.readyState).toBe(again.ws.OPEN);
    again.close();
    b.close();
    await Promise.all([again.closed, b.closed]);
    await liveStreamsOpen(0);
  }, 30_000);

  it("a decoder that dies ends its stream with an Error and 1011; the next stream gets a new one", async () => {
    const c = await connect();
    await c.sendAudio(pcmBytes(await speak("tell me a joke")));
    await c.waitFor((m) => m.type === "SpeechStarted");
    for (const pid of server.engines.live.pids) process.kill(pid, "SIGKILL");
    const closed = await c.closed;
    expect(closed.code).toBe(1011);
    expect(c.messages("Error")[0]!.description).toMatch(/^3043: PocketSphinx \(live\) exited \(SIGKILL\)/);
    await liveStreamsOpen(0);
    const again = await connect();
    await again.sendAudio(pcmBytes(await speak("what time is it")));
    again.sendJson({ type: "Finalize" });
    await again.waitFor((m) => m.from_finalize === true, 10_000);
    expect(joinFinals(again.finals())).toMatch(/time/i);
    again.close();
    await again.closed;
  }, 30_000);

  it("batch transcription keeps working while a live stream is open", async () => {
    const live = await connect();
    await live.sendAudio(pcmBytes(await speak("tell me a joke")));
    const out = WhisperTurboOutput.parse(
      await (await callModel(server.url, "@cf/openai/whisper-large-v3-turbo", { audio: b64(await speak("what time is it")) })).json(),
    );
    expect(out.text.toLowerCase()).toContain("time");
    live.sendJson({ type: "Finalize" });
    await live.waitFor((m) => m.from_finalize === true);
    expect(joinFinals(live.finals())).toMatch(/joke/i);
    live.close();
  }, 20_000);
});

describe("live protocol pieces", () => {
  it("reads the inputs Parley sends, every value a string", () => {
    const r = parseLiveParams(new URLSearchParams({ model: "@cf/deepgram/nova-3", ...NOVA_INPUTS, keyterm: "Parley" }));
    expect(r).toEqual({
      ok: true,
      params: { interimResults: true, vadEvents: true, format: true, endpointing: false, ignored: ["keyterm"] },
    });
    const missing = parseLiveParams(new URLSearchParams({ model: "@cf/deepgram/nova-3" }));
    expect(missing.ok === false && missing.description).toMatch(/encoding must be "linear16".*got none/);
  });

  it("writes Deepgram Results: interim without from_finalize, words with punctuated_word when formatting", () => {
    const hyp = {
      start: 1.5,
      end: 2.75,
      text: "i think so",
      words: [
        { word: "i", start: 1.6, end: 1.7, confidence: 0.5 },
        { word: "think", start: 1.7, end: 2, confidence: 1 },
      ],
    };
    expect(resultsMessage(hyp, { isFinal: false, speechFinal: false, format: true })).toEqual({
      type: "Results",
      channel_index: [0, 1],
      duration: 1.25,
      start: 1.5,
      is_final: false,
      speech_final: false,
      channel: {
        alternatives: [
          {
            transcript: "I think so",
            confidence: 0.75,
            words: [
              { word: "i", start: 1.6, end: 1.7, confidence: 0.5, punctuated_word: "I" },
              { word: "think", start: 1.7, end: 2, confidence: 1, punctuated_word: "think" },
            ],
          },
        ],
      },
    });
    expect(
      resultsMessage({ ...hyp, words: [], text: "" }, { isFinal: true, speechFinal: false, fromFinalize: true, format: false }),
    ).toMatchObject({
      is_final: true,
      from_finalize: true,
      channel: { alternatives: [{ transcript: "", confidence: 0, words: [] }] },
    });
  });
});
