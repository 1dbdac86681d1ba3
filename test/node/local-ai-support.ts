// Shared helpers for the local-ai tests (not a test file itself).
import { Flite } from "../../local-ai/engines/flite.ts";
import { base64ToBytes, bytesToBase64 } from "../../server/audio/base64.ts";
import { SseDecoder } from "../../server/reply/sse-parser.ts";

let flite: Flite | undefined;

/** A user utterance spoken by flite (16 kHz mono PCM16 WAV). */
export async function speak(text: string, voice = "rms"): Promise<Uint8Array> {
  flite ??= new Flite();
  return flite.synthesize(text, voice);
}

export async function callModel(base: string, model: string, inputs: unknown): Promise<Response> {
  return fetch(`${base}/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, inputs }) });
}

/** The `data:` payloads of an SSE body. */
export async function ssePayloads(res: Response): Promise<string[]> {
  const p = new SseDecoder();
  return [...p.push(await res.text()), ...p.end()];
}

export const b64 = bytesToBase64;
export const unb64 = base64ToBytes;
