// Deepgram Flux on Workers AI (`@cf/deepgram/flux`): streaming recognition with the end of turn
// decided by the model. WebSocket only; Parley sends 16 kHz linear16 PCM and reads JSON events
// (docs/workers-ai.md, "Streaming recognition"). Events in order: StartOfTurn -> Update ... ->
// [EagerEndOfTurn -> (TurnResumed -> Update ...)*] -> EndOfTurn (same transcript as the eager one).
import { z } from "zod";
import { parseSocketJson, type SocketData } from "../models/model-socket.ts";
import { keytermInput, type LiveEvent, type LiveProtocol } from "./live-recognizer.ts";

export const FLUX_MODEL = "@cf/deepgram/flux";

export interface FluxOptions {
  /** End-of-turn confidence that finishes a turn (0.5-0.9; Deepgram's default 0.7). */
  eotThreshold: number;
  /** Confidence that fires EagerEndOfTurn (0.3-0.9; null turns eager events off). */
  eagerEotThreshold: number | null;
  /** Silence after speech that ends a turn whatever the confidence (500-60000 ms). */
  eotTimeoutMs: number;
  /** Words to boost (names, product terms). */
  keyterms: readonly string[];
}

const FluxEvent = z.looseObject({
  type: z.string().optional(),
  event: z.enum(["Update", "StartOfTurn", "EagerEndOfTurn", "TurnResumed", "EndOfTurn"]).optional(),
  turn_index: z.number().optional(),
  transcript: z.string().optional(),
  end_of_turn_confidence: z.number().optional(),
  description: z.string().optional(),
});

// 20 ms of silence: Flux has no KeepAlive message; audio keeps the socket open.
const SILENCE_FRAME = new Uint8Array(640);
// Deepgram's "semi-manual" turn taking: the model ends the turns it is sure of, the application
// forces the ones it is sure of first; the answer is an EndOfTurn on the words so far.
const FORCE_END_TURN = JSON.stringify({ type: "ForceEndTurn" });

export function fluxProtocol(o: FluxOptions, model = FLUX_MODEL): LiveProtocol {
  return {
    model,
    inputs() {
      // Workers AI takes every Flux parameter as a string.
      const inputs: Record<string, unknown> = {
        encoding: "linear16",
        sample_rate: "16000",
        eot_threshold: String(o.eotThreshold),
        eot_timeout_ms: String(o.eotTimeoutMs),
      };
      if (o.eagerEotThreshold !== null) inputs.eager_eot_threshold = String(o.eagerEotThreshold);
      return { ...inputs, ...keytermInput(o.keyterms) };
    },
    parse: parseFluxMessage,
    keepAlive: () => SILENCE_FRAME.slice(0),
    forceEndMessage: () => FORCE_END_TURN,
  };
}

/** One Flux message -> LiveEvents. Unknown or malformed messages are ignored. */
export function parseFluxMessage(data: SocketData): LiveEvent[] {
  const m = parseSocketJson(data, FluxEvent);
  if (!m) return [];
  if (m.type === "Error" || m.type === "FatalError") return [{ type: "error", message: m.description ?? "Flux reported an error" }];
  const text = (m.transcript ?? "").trim();
  switch (m.event) {
    case "StartOfTurn":
      return [{ type: "start-of-turn" }];
    case "Update":
      return [{ type: "update", text }];
    case "EagerEndOfTurn":
      return [{ type: "eager-end", text }];
    case "TurnResumed":
      return [{ type: "resumed" }];
    case "EndOfTurn":
      return [{ type: "end-of-turn", text }];
    default:
      return [];
  }
}
