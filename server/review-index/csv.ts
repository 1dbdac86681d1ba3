// The conversations list as CSV (GET /api/conversations.csv): RFC 4180 (CRLF line ends, fields with a
// comma, quote or line break quoted, quotes doubled), UTF-8. Text a spreadsheet would run as a formula
// (starting with = + - @ or a tab) is prefixed with ' (OWASP's CSV-injection advice). Pure.
import type { ConversationSummary } from "../../shared/review.ts";

export const CSV_COLUMNS = [
  "id",
  "title",
  "started_at",
  "duration_ms",
  "turns",
  "interruptions",
  "neurons",
  "usd",
  "backend",
  "mode",
  "owner",
  "path",
  "match",
] as const;

function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** User or model text, kept from being read as a formula. */
function text(value: string | null): string {
  if (value === null) return "";
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

export function csvRow(values: readonly string[]): string {
  return `${values.map(field).join(",")}\r\n`;
}

export function csvHeader(): string {
  return csvRow(CSV_COLUMNS);
}

export function conversationCsvRow(c: ConversationSummary): string {
  return csvRow([
    c.id,
    text(c.title),
    new Date(c.startedAt).toISOString(),
    String(Math.round(c.durationMs)),
    String(c.turns),
    String(c.interruptions),
    String(Math.round(c.neurons * 100) / 100),
    c.usd.toFixed(6),
    text(c.backend),
    text(c.mode),
    text(c.owner),
    `/s/${c.id}`,
    text(c.snippet ? c.snippet.parts.map((p) => p.text).join("") : null),
  ]);
}

/** `parley-conversations-YYYY-MM-DD.csv`, the UTC day of `now`. */
export function csvFileName(now: number): string {
  return `parley-conversations-${new Date(now).toISOString().slice(0, 10)}.csv`;
}
