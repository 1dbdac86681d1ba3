// Deepgram Nova-3 live recognition on Workers AI (`@cf/deepgram/nova-3` with `websocket: true`): interim
// and final results, no end of turn of its own (Parley endpoints, then sends Finalize). It is the
// streaming option for languages Flux does not cover, and what the offline stand-in speaks
// (PocketSphinx decoding while the user talks). Deepgram's live protocol: docs/workers-ai.md.
import { z } from "zod";
import { parseSocketJson, type SocketData } from "../models/model-socket.ts";
import { keytermInput, type LiveEvent, type LiveProtocol } from "./live-recognizer.ts";

export const NOVA_MODEL = "@cf/deepgram/nova-3";

const NovaMessage = z.looseObject({
  type: z.string(),
  is_final: z.boolean().optional(),
  from_finalize: z.boolean().optional(),
  channel: z.looseObject({ alternatives: z.array(z.looseObject({ transcript: z.string().optional() })).optional() }).optional(),
  description: z.string().optional(),
  /** Only the offline stand-in sends this. */
  engine: z.string().optional(),
});

/** What Parley opens a Nova-3 live socket with (as Cloudflare's own voice agents send them: every option a string). */
export function novaLiveInputs(o: { language: string; keyterms: readonly string[] }): Record<string, string | string[]> {
  return {
    encoding: "linear16",
    sample_rate: "16000",
    language: o.language,
    interim_results: "true",
    punctuate: "true",
    smart_format: "true",
    vad_events: "true",
    endpointing: "false",
    ...keytermInput(o.keyterms),
  };
}

export function novaLiveProtocol(o: { language: string; keyterms: readonly string[] }, model = NOVA_MODEL): LiveProtocol {
  return {
    model,
    inputs: () => novaLiveInputs(o),
    parse: parseNovaMessage,
    keepAlive: () => JSON.stringify({ type: "KeepAlive" }),
    finalizeMessage: () => JSON.stringify({ type: "Finalize" }),
  };
}

export function parseNovaMessage(data: SocketData): LiveEvent[] {
  const m = parseSocketJson(data, NovaMessage);
  if (!m) return [];
  const out: LiveEvent[] = m.engine ? [{ type: "engine", name: m.engine }] : [];
  switch (m.type) {
    case "Results": {
      const text = (m.channel?.alternatives?.[0]?.transcript ?? "").trim();
      out.push(m.is_final ? { type: "final", text, fromFinalize: m.from_finalize === true } : { type: "update", text });
      break;
    }
    case "SpeechStarted":
      out.push({ type: "start-of-turn" });
      break;
    case "Error":
      out.push({ type: "error", message: m.description ?? "Nova-3 reported an error" });
      break;
  }
  return out;
}
