// A conversation as Markdown: a title (the first thing the user said), the session's facts, then each
// message with its time offset and speaker. An interrupted reply shows what was heard, then the
// unheard rest of what was planned struck through; backchannels, failed turns and errors (with
// their codes) are marked, and each reply carries its turn's tags (first audio, cost, backend).
import type { Transcript } from "../transcript/transcript.ts";
import type { Timeline, TimelineEntry } from "./timeline.ts";

/** The conversation's title: its first user words, shortened. */
export function conversationTitle(t: Transcript, maxChars = 80): string {
  const first = t.messages.find((m) => m.role === "user" && m.kind !== "backchannel" && m.text.trim() !== "");
  if (!first) return "Parley conversation";
  const text = first.text.replace(/\s+/g, " ").trim();
  return text.length > maxChars ? `${text.slice(0, maxChars - 1).trimEnd()}…` : text;
}

/**
 * Text as literal Markdown on one line: the characters that act inline (emphasis, code, links, HTML,
 * tables, strike-through, entities) are escaped. It never starts a line, so block syntax cannot apply.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`);
}

/** `m:ss.s` under an hour, `h:mm:ss` past it. */
export function offset(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}:${String(m).padStart(2, "0")}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
  return `${m}:${(s % 60).toFixed(1).padStart(4, "0")}`;
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

const usd = (v: number) => `$${v.toFixed(v > 0 && v < 0.01 ? 6 : 4)}`;
const neurons = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} neurons`;

export function renderMarkdown(t: Transcript, timeline: Timeline): string {
  const out: string[] = [`# ${escapeMarkdown(conversationTitle(t))}`, ""];
  const failed = t.turns.filter((turn) => turn.status === "failed").length;
  const interrupted = t.turns.filter((turn) => turn.status === "interrupted").length;
  const backends = [...new Set(t.turns.map((turn) => turn.backend).filter((b): b is string => !!b))];
  const models = [...new Set(t.turns.map((turn) => `${turn.models.llm} · ${turn.models.stt} · ${turn.models.tts}`))];
  out.push(`- Session: \`${t.sessionId}\``);
  out.push(`- Started: ${timeline.startedAt === null ? "nothing said yet" : new Date(timeline.startedAt).toISOString()}`);
  out.push(`- Duration: ${duration(timeline.durationMs)}`);
  out.push(`- Turns: ${t.totals.turns}${interrupted || failed ? ` (${interrupted} interrupted, ${failed} failed)` : ""}`);
  out.push(`- Barge-ins: ${t.totals.interruptionsConfirmed} confirmed, ${t.totals.interruptionsResumed} dismissed`);
  out.push(`- Cost: ${neurons(t.totals.neurons)} (${usd(t.totals.usd)})`);
  if (backends.length > 0) out.push(`- Backend: ${backends.map(escapeMarkdown).join(", ")}`);
  if (models.length > 0) out.push(`- Models (LLM · STT · TTS): ${models.map(escapeMarkdown).join("; ")}`);
  out.push("", "## Conversation", "");
  const items = timeline.entries.map((e) => ({ atMs: e.startMs, line: entryLine(e) }));
  // A turn that failed before anything of it was stored (speech-to-text, say) still belongs in the record.
  for (const turn of t.turns) {
    if (turn.status !== "failed" || t.messages.some((m) => m.turnId === turn.turnId)) continue;
    const atMs = timeline.startedAt === null ? 0 : turn.startedAt - timeline.startedAt;
    items.push({ atMs, line: `**[${offset(atMs)}] Turn failed** before anything was stored — error \`${turn.errorCode ?? "unknown"}\`` });
  }
  items.sort((a, b) => a.atMs - b.atMs);
  if (items.length === 0) out.push("_Nothing was said in this conversation._", "");
  for (const item of items) out.push(item.line, "");
  return out.join("\n");
}

function entryLine(e: TimelineEntry): string {
  const m = e.message;
  const at = `[${offset(e.startMs)}]`;
  if (m.role === "user") {
    if (m.kind === "backchannel") return `_${at} User (backchannel, over the reply):_ ${escapeMarkdown(m.text)}`;
    return `**${at} User${m.source === "text" ? " (typed)" : ""}:** ${escapeMarkdown(m.text)}`;
  }
  let body = escapeMarkdown(m.text);
  const notes: string[] = [];
  if (m.status === "interrupted") {
    const planned = m.plannedText ?? m.text;
    if (planned.startsWith(m.text) && planned.length > m.text.length) {
      const rest = escapeMarkdown(planned.slice(m.text.length));
      body = body === "" ? `~~${rest}~~` : `${body} ~~${rest}~~`;
      notes.push("interrupted: the struck-through rest was planned but not heard");
    } else if (planned !== m.text) {
      notes.push(`interrupted; planned: “${escapeMarkdown(planned)}”`);
    } else notes.push("interrupted");
    if (m.meta?.endReason && m.meta.endReason !== "completed") notes.push(`by ${m.meta.endReason}`);
  }
  if (m.status === "failed") notes.push(`failed${e.turn?.errorCode ? ` — error \`${e.turn.errorCode}\`` : ""}`);
  const tags: string[] = [];
  if (m.meta?.firstAudioMs !== null && m.meta?.firstAudioMs !== undefined) tags.push(`first audio ${Math.round(m.meta.firstAudioMs)} ms`);
  if (m.meta) tags.push(`${neurons(m.meta.neurons)} (${usd(m.meta.usd)})`);
  if (m.meta?.backend) tags.push(escapeMarkdown(m.meta.backend));
  const lines = [`**${at} Assistant:** ${body === "" ? "_(nothing heard)_" : body}`];
  if (notes.length > 0) lines.push(`_(${notes.join("; ")})_`);
  if (tags.length > 0) lines.push(`_${tags.join(" · ")}_`);
  return lines.join("  \n");
}
