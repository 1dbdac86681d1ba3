// What the user actually heard of a spoken reply, from the playback position the client reports.
// The conversation (and so the LLM's next context) keeps only this; the full planned text is kept
// beside it for review.

export interface SpokenSegment {
  text: string;
  durationMs: number;
}

export interface PlaybackPosition {
  /** Index of the segment playing when playback stopped. */
  segment: number;
  /** Milliseconds of that segment that were played. */
  playedMs: number;
}

/**
 * Segments before `segment` were heard whole; of the segment playing, the words whose share of its
 * characters fits in the played share of its duration (speech is roughly uniform in characters per
 * second, and cutting at a word boundary never keeps a half word). Segments never sent are not heard.
 */
export function heardText(segments: readonly SpokenSegment[], at: PlaybackPosition): string {
  const parts: string[] = [];
  const last = Math.min(at.segment, segments.length);
  for (let i = 0; i < last; i++) parts.push(segments[i]!.text);
  const current = segments[at.segment];
  if (current && at.playedMs > 0) {
    const share = current.durationMs > 0 ? Math.min(1, at.playedMs / current.durationMs) : 1;
    parts.push(share >= 1 ? current.text : wordsWithin(current.text, share * current.text.length));
  }
  return parts.filter((p) => p.length > 0).join(" ");
}

/** The leading whole words of `text` that end within `chars` characters. */
function wordsWithin(text: string, chars: number): string {
  let end = 0;
  for (const m of text.matchAll(/\S+/g)) {
    const wordEnd = m.index + m[0].length;
    if (wordEnd > chars) break;
    end = wordEnd;
  }
  return text.slice(0, end);
}

/**
 * Without a report from the client (it disconnected, or never sent one), assume playback ran
 * continuously from the first segment's arrival until `elapsedMs` later.
 */
export function positionAfter(segments: readonly SpokenSegment[], elapsedMs: number): PlaybackPosition {
  let remaining = Math.max(0, elapsedMs);
  for (let i = 0; i < segments.length; i++) {
    const d = segments[i]!.durationMs;
    if (remaining < d) return { segment: i, playedMs: remaining };
    remaining -= d;
  }
  return { segment: segments.length, playedMs: 0 };
}

export interface PlaybackReport extends PlaybackPosition {
  /** "paused": held by a barge-in candidate (the position does not advance until it resumes). */
  state: "playing" | "stopped" | "finished" | "paused";
  /** When the server received the report. */
  at: number;
}

/**
 * Where playback of a reply that ended early stands now: the client's "stopped" report if there is
 * one; a "playing" report advanced by the time since it came; or, with no report at all, continuous
 * playback since the first segment was sent.
 */
export function currentPosition(
  segments: readonly SpokenSegment[],
  firstSentAt: number | null,
  report: PlaybackReport | undefined,
  now: number,
): PlaybackPosition {
  const end = { segment: segments.length, playedMs: 0 };
  if (report?.state === "stopped" || report?.state === "paused") return { segment: report.segment, playedMs: report.playedMs };
  if (report?.state === "finished") return end;
  if (report) {
    let offset = report.playedMs;
    for (let i = 0; i < Math.min(report.segment, segments.length); i++) offset += segments[i]!.durationMs;
    return positionAfter(segments, offset + Math.max(0, now - report.at));
  }
  return firstSentAt === null ? { segment: 0, playedMs: 0 } : positionAfter(segments, now - firstSentAt);
}

/**
 * The words being played around `at`: those whose share of their segment's duration (the same
 * uniform-characters model as heardText) falls between `lookbackMs` before and `lookaheadMs` after
 * the position. Used to recognise the assistant's own voice in a transcript (echo).
 */
export function wordsPlayedAround(
  segments: readonly SpokenSegment[],
  at: PlaybackPosition,
  lookbackMs: number,
  lookaheadMs: number,
): string {
  let atMs = at.playedMs;
  for (let i = 0; i < Math.min(at.segment, segments.length); i++) atMs += segments[i]!.durationMs;
  const from = atMs - lookbackMs;
  const to = atMs + lookaheadMs;
  const words: string[] = [];
  let start = 0;
  for (const seg of segments) {
    const chars = Math.max(1, seg.text.length);
    for (const m of seg.text.matchAll(/\S+/g)) {
      const t0 = start + (m.index / chars) * seg.durationMs;
      const t1 = start + ((m.index + m[0].length) / chars) * seg.durationMs;
      if (t1 >= from && t0 <= to) words.push(m[0]);
    }
    start += seg.durationMs;
    if (start > to) break;
  }
  return words.join(" ");
}
