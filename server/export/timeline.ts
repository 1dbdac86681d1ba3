// When each message of a stored conversation was said, relative to the session's start: the times
// every export shares (cue times of WebVTT and SRT, offsets in Markdown and JSON). Built from what
// the session stores: a voice turn's utterance ends where its end-of-turn wait began and lasts as
// long as the audio sent to speech-to-text; a reply plays from its first segment for its segments'
// length (plus any pause a dismissed barge-in held it for) and stops where a confirmed barge-in
// began. Entries are in time order and never overlap: each ends before the next begins.
import type { HistoryMessage } from "../../shared/protocol.ts";
import type { InterruptionRecord, TurnRecord } from "../storage/conversation-store.ts";
import type { Transcript } from "../transcript/transcript.ts";

/** The shortest entry: a cue shown for less than this cannot be read. */
export const MIN_ENTRY_MS = 500;
/** A typed message (or anything without stored timings) is shown this long, unless the next entry starts sooner. */
export const UNTIMED_ENTRY_MS = 2_000;

export interface TimelineEntry {
  message: HistoryMessage;
  /** The turn the message belongs to, when it is stored. */
  turn: TurnRecord | null;
  /** Offsets from the session's start, whole milliseconds; startMs < endMs, and endMs <= the next entry's startMs. */
  startMs: number;
  endMs: number;
}

export interface Timeline {
  /** Epoch ms of the first thing stored (null: nothing was said yet). */
  startedAt: number | null;
  /** From the start to the end of the last entry (or the last turn's end, whichever is later). */
  durationMs: number;
  entries: TimelineEntry[];
}

interface RawEntry {
  message: HistoryMessage;
  turn: TurnRecord | null;
  start: number;
  end: number;
  order: number;
}

export function buildTimeline(t: Transcript): Timeline {
  const turnsById = new Map(t.turns.map((turn) => [turn.turnId, turn]));
  const turnsByReply = new Map(t.turns.map((turn) => [turn.replyId, turn]));
  const audioByReply = new Map(t.replyAudio.map((a) => [a.replyId, a]));
  const raw: RawEntry[] = t.messages.map((message, order) => {
    const turn =
      (message.turnId !== undefined ? turnsById.get(message.turnId) : undefined) ??
      (message.role === "assistant" && message.replyId ? turnsByReply.get(message.replyId) : undefined) ??
      null;
    const [start, end] =
      message.role === "assistant"
        ? replyTimes(message, audioByReply.get(message.replyId ?? ""), t.interruptions)
        : userTimes(message, turn, t.interruptions);
    return { message, turn, start: Math.round(start), end: Math.round(end), order };
  });
  const anchors = [...raw.map((r) => r.start), ...t.turns.map((turn) => turn.startedAt)];
  if (anchors.length === 0) return { startedAt: null, durationMs: 0, entries: [] };
  const startedAt = Math.min(...anchors);
  raw.sort((a, b) => a.start - b.start || a.order - b.order);

  const entries: TimelineEntry[] = [];
  let previousEnd = 0;
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i]!;
    const startMs = Math.max(r.start - startedAt, previousEnd);
    let endMs = Math.max(r.end - startedAt, startMs + MIN_ENTRY_MS);
    // The next entry starts when it was said, unless that would cut this one shorter than readable.
    const next = raw[i + 1];
    if (next) endMs = Math.max(Math.min(endMs, next.start - startedAt), startMs + MIN_ENTRY_MS);
    entries.push({ message: r.message, turn: r.turn, startMs, endMs });
    previousEnd = endMs;
  }
  const lastTurnEnd = Math.max(0, ...t.turns.map((turn) => (turn.endedAt ?? turn.startedAt) - startedAt));
  return { startedAt, durationMs: Math.max(previousEnd, lastTurnEnd), entries };
}

/** A user message: the utterance (voice), the moment it was sent (typed), or the backchannel's speech. */
function userTimes(m: HistoryMessage, turn: TurnRecord | null, interruptions: InterruptionRecord[]): [number, number] {
  if (m.kind === "backchannel") {
    const candidate = interruptions.find((i) => i.replyId === m.replyId && i.reason === "backchannel" && i.transcript === m.text);
    return candidate
      ? [candidate.openedAt, Math.max(candidate.decidedAt, candidate.openedAt + MIN_ENTRY_MS)]
      : [m.createdAt, m.createdAt + MIN_ENTRY_MS];
  }
  if (turn && m.source === "voice" && turn.usage.audioInSeconds > 0) {
    // The turn starts once the end-of-turn wait is over; the audio sent to speech-to-text ends there.
    const start = turn.startedAt - turn.usage.audioInSeconds * 1000;
    const end = turn.startedAt - turn.metrics.endpointingMs;
    return [start, Math.max(end, start + MIN_ENTRY_MS)];
  }
  const at = turn?.startedAt ?? m.createdAt;
  return [at, at + UNTIMED_ENTRY_MS];
}

/** A reply: from its first audio for as long as it played; one never spoken shows when it was stored. */
function replyTimes(
  m: HistoryMessage,
  audio: { firstSentAt: number; audioMs: number } | undefined,
  interruptions: InterruptionRecord[],
): [number, number] {
  if (!audio) return [m.createdAt, m.createdAt + UNTIMED_ENTRY_MS];
  const mine = interruptions.filter((i) => i.replyId === m.replyId);
  // A barge-in that was dismissed held playback (segment known) while it was decided: the reply played on later.
  const heldMs = mine
    .filter((i) => i.decision === "resumed" && i.segment !== null)
    .reduce((sum, i) => sum + Math.max(0, i.decidedAt - i.openedAt), 0);
  let end = audio.firstSentAt + audio.audioMs + heldMs;
  if (m.status === "interrupted") {
    // What was heard, in proportion to what was planned (the stored cut position is not kept past the turn),
    // and never past the moment a confirmed barge-in began.
    const planned = m.plannedText ?? m.text;
    const share = planned.length > 0 ? Math.min(1, m.text.length / planned.length) : 1;
    end = Math.min(end, audio.firstSentAt + audio.audioMs * share + heldMs);
    const cut = mine.find((i) => i.decision === "confirmed");
    if (cut) end = Math.min(end, cut.openedAt);
  }
  return [audio.firstSentAt, end];
}
