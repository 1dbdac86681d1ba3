// The reviewable record of a session: every message with its turn's timings, usage and cost.
import type { HistoryMessage } from "../../shared/protocol.ts";
import type { TurnRecord } from "../storage/conversation-store.ts";

export interface Transcript {
  sessionId: string;
  messages: HistoryMessage[];
  turns: TurnRecord[];
  totals: { turns: number; neurons: number; usd: number; audioInSeconds: number; ttsAudioSeconds: number };
}

export function buildTranscript(sessionId: string, messages: HistoryMessage[], turns: TurnRecord[]): Transcript {
  const totals = { turns: turns.length, neurons: 0, usd: 0, audioInSeconds: 0, ttsAudioSeconds: 0 };
  for (const t of turns) {
    totals.neurons += t.usage.neurons;
    totals.usd += t.usage.usd;
    totals.audioInSeconds += t.usage.audioInSeconds;
    totals.ttsAudioSeconds += t.usage.ttsAudioSeconds;
  }
  return { sessionId, messages, turns, totals };
}
