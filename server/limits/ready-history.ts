// The history `ready` carries: the newest messages whose JSON fits a byte budget, so the first message a
// client gets stays well under the 1 MiB a WebSocket message may be, however long the conversation.
import type { HistoryMessage } from "../../shared/protocol.ts";

const encoder = new TextEncoder();

/**
 * The newest messages of `history` (oldest first) whose JSON, as sent, fits `maxBytes`; `omitted` counts
 * the older ones left out. The kept messages are contiguous: one message too large to fit ends the run.
 */
export function newestWithin(history: readonly HistoryMessage[], maxBytes: number): { kept: HistoryMessage[]; omitted: number } {
  let bytes = 2; // the array's brackets
  let first = history.length;
  for (let i = history.length - 1; i >= 0; i--) {
    // The element as UTF-8, and the comma before it.
    const size = encoder.encode(JSON.stringify(history[i])).byteLength + 1;
    if (bytes + size > maxBytes) break;
    bytes += size;
    first = i;
  }
  return { kept: history.slice(first), omitted: first };
}
