// The reviewable record of a session: every message with its turn's timings, usage and cost, every
// barge-in candidate with its decision, and the session totals (turns plus candidate transcription).
// Its wire shape is shared/protocol.ts's SessionTranscript: the compiler holds the stored records to it.
import type { HistoryMessage, SessionTranscript } from "../../shared/protocol.ts";
import type { InterruptionRecord, ReplyAudio, TurnRecord } from "../storage/conversation-store.ts";
import type { BudgetView } from "../budget/budget-messages.ts";

/** Which recordings of a turn exist (server/recordings/). */
export interface TurnRecordings {
  user: boolean;
  reply: boolean;
}

export interface Transcript extends SessionTranscript {
  turns: (TurnRecord & { recordings: TurnRecordings })[];
  interruptions: InterruptionRecord[];
  replyAudio: ReplyAudio[];
  /** Added by the session when it answers: its spending against its limit, and the day's (owner only). */
  budget?: BudgetView;
}

export function buildTranscript(
  sessionId: string,
  messages: HistoryMessage[],
  turns: TurnRecord[],
  interruptions: InterruptionRecord[],
  owner: string | null,
  replyAudio: ReplyAudio[] = [],
  recordings: ReadonlyMap<string, TurnRecordings> = new Map(),
): Transcript {
  const totals = {
    turns: turns.length,
    neurons: 0,
    usd: 0,
    audioInSeconds: 0,
    ttsAudioSeconds: 0,
    interruptionsConfirmed: 0,
    interruptionsResumed: 0,
  };
  for (const t of turns) {
    totals.neurons += t.usage.neurons;
    totals.usd += t.usage.usd;
    totals.audioInSeconds += t.usage.audioInSeconds;
    totals.ttsAudioSeconds += t.usage.ttsAudioSeconds;
  }
  for (const i of interruptions) {
    totals.neurons += i.neurons;
    totals.usd += i.usd;
    totals.audioInSeconds += i.audioInSeconds;
    if (i.decision === "confirmed") totals.interruptionsConfirmed++;
    else totals.interruptionsResumed++;
  }
  const withRecordings = turns.map((t) => ({ ...t, recordings: recordings.get(t.turnId) ?? { user: false, reply: false } }));
  return { sessionId, owner, messages, turns: withRecordings, interruptions, replyAudio, totals };
}
