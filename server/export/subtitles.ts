// WebVTT and SRT: one cue per message that has words (user and assistant), times from the shared
// timeline (relative to the session's start, in order, never overlapping). An interrupted reply's
// cue holds what the user heard, never the unheard rest. Speakers: a WebVTT voice span (`<v User>`),
// an `User:` prefix in SRT.
import type { HistoryMessage } from "../../shared/protocol.ts";
import type { Timeline } from "./timeline.ts";

export interface Cue {
  startMs: number;
  endMs: number;
  speaker: "User" | "Assistant";
  text: string;
}

/** The cues of a timeline: messages with no words (a reply cut before it was heard) have none. */
export function cuesOf(timeline: Timeline): Cue[] {
  const cues: Cue[] = [];
  for (const e of timeline.entries) {
    const text = cueText(e.message);
    if (text === "") continue;
    cues.push({ startMs: e.startMs, endMs: e.endMs, speaker: e.message.role === "user" ? "User" : "Assistant", text });
  }
  return cues;
}

/** What the user heard (or said), on lines without blank ones: a blank line would end the cue. */
function cueText(m: HistoryMessage): string {
  return m.text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/\s+/g, " ").trim())
    .filter((line) => line !== "")
    .join("\n");
}

/** `HH:MM:SS.mmm` (WebVTT) or `HH:MM:SS,mmm` (SRT). */
export function timestamp(ms: number, separator: "." | ","): string {
  const whole = Math.max(0, Math.round(ms));
  const h = Math.floor(whole / 3_600_000);
  const m = Math.floor((whole % 3_600_000) / 60_000);
  const s = Math.floor((whole % 60_000) / 1000);
  const frac = whole % 1000;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}${separator}${String(frac).padStart(3, "0")}`;
}

/** WebVTT cue text: `&`, `<` and `>` as character references (so `-->` never appears in a cue). */
export function escapeVtt(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * SRT has no escapes, and players read `<i>`-style tags and stop a cue at `-->`: a `<` and the `>` of
 * `-->` become their full-width forms (＜, ＞), which read the same. `&` stays as it is (players show
 * SRT text literally, so `&amp;` would be shown as such).
 */
export function escapeSrt(text: string): string {
  return text.replace(/</g, "\uFF1C").replace(/-->/g, "--\uFF1E");
}

export function renderVtt(cues: Cue[], sessionId: string): string {
  const out = ["WEBVTT", "", `NOTE Parley conversation ${sessionId}; times from the start of the session`, ""];
  cues.forEach((c, i) => {
    out.push(String(i + 1), `${timestamp(c.startMs, ".")} --> ${timestamp(c.endMs, ".")}`, `<v ${c.speaker}>${escapeVtt(c.text)}</v>`, "");
  });
  return out.join("\n");
}

export function renderSrt(cues: Cue[]): string {
  const out: string[] = [];
  cues.forEach((c, i) => {
    out.push(String(i + 1), `${timestamp(c.startMs, ",")} --> ${timestamp(c.endMs, ",")}`);
    const lines = escapeSrt(c.text).split("\n");
    out.push(`${c.speaker}: ${lines[0]}`, ...lines.slice(1), "");
  });
  return out.join("\n");
}
