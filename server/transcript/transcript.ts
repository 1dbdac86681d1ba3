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
  // What interruptions spent (the speech that confirmed or dismissed them) counts with the turns', summed in that order.
  const spent = (ofTurn: (t: TurnRecord) => number, ofInterruption: (i: InterruptionRecord) => number): number =>
    [...turns.map(ofTurn), ...interruptions.map(ofInterruption)].reduce((sum, x) => sum + x, 0);
  const confirmed = interruptions.filter((i) => i.decision === "confirmed").length;
  const totals = {
    turns: turns.length,
    neurons: spent(
      (t) => t.usage.neurons,
      (i) => i.neurons,
    ),
    usd: spent(
      (t) => t.usage.usd,
      (i) => i.usd,
    ),
    audioInSeconds: spent(
      (t) => t.usage.audioInSeconds,
      (i) => i.audioInSeconds,
    ),
    ttsAudioSeconds: spent(
      (t) => t.usage.ttsAudioSeconds,
      () => 0,
    ),
    interruptionsConfirmed: confirmed,
    interruptionsResumed: interruptions.length - confirmed,
  };
  const withRecordings = turns.map((t) => ({ ...t, recordings: recordings.get(t.turnId) ?? { user: false, reply: false } }));
  return { sessionId, owner, messages, turns: withRecordings, interruptions, replyAudio, totals };
}
