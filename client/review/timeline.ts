// What the review page lists, in order: the stored messages, and failed turns that left no reply
// message (speech-to-text failed before the user's words were kept), placed by when they started.
// Pure: no DOM.
import type { HistoryMessage, TranscriptTurn } from "../../shared/protocol.ts";

export type TimelineItem = { kind: "message"; message: HistoryMessage } | { kind: "failed-turn"; turn: TranscriptTurn };

export function reviewTimeline(messages: readonly HistoryMessage[], turns: readonly TranscriptTurn[]): TimelineItem[] {
  const replied = new Set(messages.filter((m) => m.role === "assistant" && m.replyId).map((m) => m.replyId));
  const orphans = turns.filter((t) => t.status === "failed" && !replied.has(t.replyId)).sort((a, b) => a.startedAt - b.startedAt);
  const items: TimelineItem[] = [];
  let next = 0;
  for (const message of messages) {
    while (next < orphans.length && orphans[next]!.startedAt < message.createdAt)
      items.push({ kind: "failed-turn", turn: orphans[next++]! });
    items.push({ kind: "message", message });
  }
  while (next < orphans.length) items.push({ kind: "failed-turn", turn: orphans[next++]! });
  return items;
}
