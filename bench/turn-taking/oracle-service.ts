// The Node side of the turn-taking fake Workers AI (bench/workerd/turn-taking-ai.mts), reached from
// workerd through a miniflare service binding: speech synthesis with flite (cached per text, so the
// reply's sentences are synthesized once per run) and the STT oracle over each session's tape.
//
//   POST /tts         {"text": "..."}                               -> {"audio": base64 WAV}
//   POST /stt         {"audio": base64 WAV, "tags": [...]}           -> {"text": "...", "audioSeconds": n}
//   POST /smart-turn  {"audio": base64 float32 PCM, "tags": [...]}   -> {"complete": bool, "audioSeconds": n}
//   POST /words       {"tags": [...]}                                -> {"words": [{word, at, end}]} (session samples)
import { Response as MiniflareResponse, type Request as MiniflareRequest } from "miniflare";
import { parseWav } from "../../shared/audio/wav.ts";
import type { Flite } from "../../local-ai/engines/flite.ts";
import type { SessionTape } from "./session-tape.ts";
import { transcribeFromTape } from "./stt-oracle.ts";

/** The assistant's voice: the local stand-in's default, so both systems speak the same audio. */
export const ASSISTANT_VOICE = "slt";

export interface OracleStats {
  sttCalls: number;
  /** Calls tagged `stt:partial` (the server transcribing a candidate early). */
  partialCalls: number;
  /** Calls for a session with no tape (e.g. after its trial ended). */
  unknownSessions: number;
  /** Utterance samples not found in the session's recording (should stay 0). */
  unmatchedSamples: number;
  /** smart-turn questions, and those whose audio was not found in the session's recording (should stay 0). */
  smartTurnCalls: number;
  smartTurnUnlocated: number;
  /** Word lists handed to the streaming recognizer (Nova-3 live). */
  wordLists: number;
  ttsCalls: number;
  /** TTS texts synthesized during the trials rather than ahead of them. */
  ttsCacheMisses: number;
}

export class OracleService {
  readonly stats: OracleStats = {
    sttCalls: 0,
    partialCalls: 0,
    unknownSessions: 0,
    unmatchedSamples: 0,
    smartTurnCalls: 0,
    smartTurnUnlocated: 0,
    wordLists: 0,
    ttsCalls: 0,
    ttsCacheMisses: 0,
  };
  private readonly flite: Flite;
  private readonly tapes = new Map<string, SessionTape>();
  private readonly tts = new Map<string, Promise<string>>();

  constructor(flite: Flite) {
    this.flite = flite;
  }

  register(tape: SessionTape): void {
    this.tapes.set(tape.sessionId, tape);
  }

  unregister(sessionId: string): void {
    this.tapes.delete(sessionId);
  }

  /** Synthesize ahead of the trials (flite blocks the event loop for tens of ms per sentence); returns the total duration, ms. */
  async warm(texts: readonly string[]): Promise<number> {
    let ms = 0;
    for (const t of texts) ms += parseWav(new Uint8Array(Buffer.from(await this.speech(t), "base64"))).durationMs;
    return ms;
  }

  private speech(text: string): Promise<string> {
    let b64 = this.tts.get(text);
    if (!b64) {
      b64 = this.flite.synthesize(text, ASSISTANT_VOICE).then((wav) => Buffer.from(wav).toString("base64"));
      this.tts.set(text, b64);
    }
    return b64;
  }

  /** The service binding's fetch handler. */
  readonly handle = async (request: MiniflareRequest): Promise<MiniflareResponse> => {
    const path = new URL(request.url).pathname;
    try {
      if (path === "/tts") {
        const { text } = (await request.json()) as { text: string };
        this.stats.ttsCalls++;
        if (!this.tts.has(text)) this.stats.ttsCacheMisses++;
        return MiniflareResponse.json({ audio: await this.speech(text) });
      }
      if (path === "/stt") {
        const { audio, tags } = (await request.json()) as { audio: string; tags: string[] };
        return MiniflareResponse.json(this.transcribe(audio, tags));
      }
      if (path === "/smart-turn") {
        const { audio, tags } = (await request.json()) as { audio: string; tags: string[] };
        return MiniflareResponse.json(this.smartTurn(audio, tags));
      }
      if (path === "/words") {
        const { tags } = (await request.json()) as { tags: string[] };
        this.stats.wordLists++;
        return MiniflareResponse.json({ words: this.tapeOf(tags)?.spokenWords() ?? [] });
      }
      return new MiniflareResponse("not found", { status: 404 });
    } catch (e) {
      return MiniflareResponse.json({ error: (e as Error).message }, { status: 500 });
    }
  };

  private tapeOf(tags: string[]): SessionTape | undefined {
    const sessionId = tags.find((t) => t.startsWith("session:"))?.slice("session:".length);
    return sessionId === undefined ? undefined : this.tapes.get(sessionId);
  }

  /** smart-turn's question: is the utterance (float32 PCM, as Parley sends it) a finished turn? */
  private smartTurn(audioBase64: string, tags: string[]): { complete: boolean; audioSeconds: number } {
    this.stats.smartTurnCalls++;
    const bytes = Buffer.from(audioBase64, "base64");
    const n = Math.floor(bytes.byteLength / 4);
    const f32 = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n * 4));
    // Parley sends pcm / 32768 as float32, which is exact: the PCM16 samples come back unchanged.
    const pcm = Int16Array.from(f32, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
    const tape = this.tapeOf(tags);
    if (!tape) {
      this.stats.unknownSessions++;
      return { complete: true, audioSeconds: pcm.length / 16_000 };
    }
    const verdict = tape.judgeEnd(pcm);
    if (!verdict.located) this.stats.smartTurnUnlocated++;
    return { complete: verdict.complete, audioSeconds: pcm.length / 16_000 };
  }

  private transcribe(audioBase64: string, tags: string[]): { text: string; audioSeconds: number } {
    this.stats.sttCalls++;
    if (tags.includes("stt:partial")) this.stats.partialCalls++;
    const wav = parseWav(new Uint8Array(Buffer.from(audioBase64, "base64")));
    const audioSeconds = wav.pcm.length / wav.sampleRate;
    const sessionId = tags.find((t) => t.startsWith("session:"))?.slice("session:".length);
    const tape = sessionId === undefined ? undefined : this.tapes.get(sessionId);
    if (!tape) {
      this.stats.unknownSessions++;
      return { text: "", audioSeconds };
    }
    const heard = transcribeFromTape(tape, wav.pcm);
    this.stats.unmatchedSamples += heard.unmatchedSamples;
    return { text: heard.text, audioSeconds };
  }
}
