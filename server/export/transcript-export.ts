// Exports of a stored conversation: JSON (the full record, versioned), Markdown, WebVTT and SRT.
// Each is a body, a content type and a download name; the session renders them from its transcript.
import type { Transcript } from "../transcript/transcript.ts";
import { conversationTitle, renderMarkdown } from "./markdown-export.ts";
import { cuesOf, renderSrt, renderVtt } from "./subtitles.ts";
import { buildTimeline, type Timeline } from "./timeline.ts";
import { CONTENT_TYPES, JSON_EXPORT_FORMAT, exportFileName, type ExportFormat, type RenderedExport } from "./export-formats.ts";

export function renderExport(t: Transcript, format: ExportFormat, now: number): RenderedExport {
  const timeline = buildTimeline(t);
  const body =
    format === "json"
      ? JSON.stringify(jsonExport(t, timeline, now), null, 2)
      : format === "md"
        ? renderMarkdown(t, timeline)
        : format === "vtt"
          ? renderVtt(cuesOf(timeline), t.sessionId)
          : renderSrt(cuesOf(timeline));
  return { body, contentType: CONTENT_TYPES[format], fileName: exportFileName(t.sessionId, timeline.startedAt, format, now) };
}

/**
 * The full record: every message with what was heard (`text`) and what was planned (`plannedText`,
 * the same when nothing was cut), its offsets from the session's start, each turn's metrics and usage,
 * every barge-in candidate, and the totals.
 */
export function jsonExport(t: Transcript, timeline: Timeline, now: number) {
  const times = new Map(timeline.entries.map((e) => [e.message, e]));
  return {
    format: JSON_EXPORT_FORMAT,
    exportedAt: new Date(now).toISOString(),
    session: {
      id: t.sessionId,
      title: conversationTitle(t),
      owner: t.owner,
      startedAt: timeline.startedAt === null ? null : new Date(timeline.startedAt).toISOString(),
      durationMs: timeline.durationMs,
      backends: [...new Set(t.turns.map((turn) => turn.backend).filter((b): b is string => !!b))],
      models: [...new Map(t.turns.map((turn) => [`${turn.models.stt}|${turn.models.llm}|${turn.models.tts}`, turn.models])).values()],
    },
    totals: t.totals,
    messages: t.messages.map((m) => {
      const at = times.get(m);
      return { ...m, plannedText: m.plannedText ?? m.text, startMs: at?.startMs ?? null, endMs: at?.endMs ?? null };
    }),
    turns: t.turns,
    interruptions: t.interruptions,
    replyAudio: t.replyAudio,
  };
}
