// Strict WebVTT and SRT parsers for tests of the exports. The npm parsers are lenient (srt-parser-2,
// subtitle) or validate syntax only (webvtt-parser: WebVTT allows overlapping cues): these reject
// anything a careful player might misread — malformed timestamps, a missing blank line between
// cues, text that holds a timing arrow, stray markup, empty cues, and cues that go back in time or
// overlap the one before.

export interface ParsedCue {
  id: string;
  startMs: number;
  endMs: number;
  /** The cue text as written (lines joined with \n). */
  raw: string;
  /** WebVTT: the `<v>` voice; SRT: the text before the first `: `. */
  speaker: string | null;
  /** The text with markup removed and character references decoded (WebVTT), the speaker prefix removed (SRT). */
  text: string;
}

export class SubtitleError extends Error {}

function fail(line: number, message: string): never {
  throw new SubtitleError(`line ${line + 1}: ${message}`);
}

function toMs(h: string | undefined, m: string, s: string, frac: string): number {
  return ((h === undefined ? 0 : Number(h)) * 3600 + Number(m) * 60 + Number(s)) * 1000 + Number(frac);
}

function checkOrder(cues: ParsedCue[], cue: ParsedCue, line: number): void {
  if (cue.endMs <= cue.startMs) fail(line, `cue ${cue.id} ends (${cue.endMs} ms) at or before it starts (${cue.startMs} ms)`);
  const prev = cues[cues.length - 1];
  if (prev && cue.startMs < prev.endMs)
    fail(line, `cue ${cue.id} starts at ${cue.startMs} ms, before cue ${prev.id} ends (${prev.endMs} ms)`);
}

/** Split into lines, requiring a final newline (a file cut short ends mid-line). */
function linesOf(text: string): string[] {
  if (text.includes("\r")) throw new SubtitleError("carriage returns: these exports use \\n line ends");
  if (text !== "" && !text.endsWith("\n")) throw new SubtitleError("the file does not end with a newline");
  const lines = text.split("\n");
  lines.pop();
  return lines;
}

const VTT_TIME = String.raw`(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})`;
const VTT_TIMING = new RegExp(`^${VTT_TIME} --> ${VTT_TIME}$`);
const VTT_REFERENCE = /^&(?:amp|lt|gt|nbsp|lrm|rlm|#\d+|#x[0-9a-fA-F]+);/;
const VTT_TAG = /^<(?:\/?(?:c|i|b|u|ruby|rt|v|lang)|v [^>\n]+|lang [^>\n]+|\d{2,}:[0-5]\d:[0-5]\d\.\d{3}|[0-5]\d:[0-5]\d\.\d{3})>/;
const VTT_ENTITIES: Record<string, string> = {
  "&amp;": "&",
  "&lt;": "<",
  "&gt;": ">",
  "&nbsp;": "\u00A0",
  "&lrm;": "\u200E",
  "&rlm;": "\u200F",
};

export function parseVtt(text: string): ParsedCue[] {
  const lines = linesOf(text.startsWith("\uFEFF") ? text.slice(1) : text);
  if (!/^WEBVTT(?:[ \t][^\n]*)?$/.test(lines[0] ?? "") || lines[0]!.includes("-->")) fail(0, "the file does not start with a WEBVTT line");
  if (lines.length > 1 && lines[1] !== "") fail(1, "the header must be followed by a blank line");
  const cues: ParsedCue[] = [];
  let i = 1;
  while (i < lines.length) {
    if (lines[i] === "") {
      i++;
      continue;
    }
    const start = i;
    const block: string[] = [];
    while (i < lines.length && lines[i] !== "") block.push(lines[i++]!);
    if (/^NOTE(?:[ \t]|$)/.test(block[0]!)) {
      if (block.some((l) => l.includes("-->"))) fail(start, "a NOTE block holds -->");
      continue;
    }
    let t = 0;
    let id = "";
    if (!block[0]!.includes("-->")) {
      id = block[0]!;
      t = 1;
    }
    const timing = VTT_TIMING.exec(block[t] ?? "");
    if (!timing) fail(start + t, `not a cue timing line: ${JSON.stringify(block[t] ?? "")}`);
    const body = block.slice(t + 1);
    if (body.length === 0) fail(start + t, "a cue without text");
    body.forEach((l, k) => {
      if (l.includes("-->")) fail(start + t + 1 + k, "cue text holds --> (a missing blank line between cues?)");
    });
    const raw = body.join("\n");
    const { speaker, plain } = decodeVttText(raw, start + t + 1);
    const cue: ParsedCue = {
      id,
      startMs: toMs(timing[1], timing[2]!, timing[3]!, timing[4]!),
      endMs: toMs(timing[5], timing[6]!, timing[7]!, timing[8]!),
      raw,
      speaker,
      text: plain,
    };
    checkOrder(cues, cue, start + t);
    cues.push(cue);
  }
  return cues;
}

/** Cue text: every `&` a known character reference, every `<` a known tag; the first voice is the speaker. */
function decodeVttText(raw: string, line: number): { speaker: string | null; plain: string } {
  let speaker: string | null = null;
  let plain = "";
  for (let i = 0; i < raw.length;) {
    const rest = raw.slice(i);
    if (raw[i] === "&") {
      const ref = VTT_REFERENCE.exec(rest);
      if (!ref) fail(line, `a bare & (write &amp;): ${JSON.stringify(rest.slice(0, 20))}`);
      const r = ref[0];
      plain += VTT_ENTITIES[r] ?? String.fromCodePoint(r.startsWith("&#x") ? parseInt(r.slice(3, -1), 16) : Number(r.slice(2, -1)));
      i += r.length;
    } else if (raw[i] === "<") {
      const tag = VTT_TAG.exec(rest);
      if (!tag) fail(line, `a bare < or an unknown tag (write &lt;): ${JSON.stringify(rest.slice(0, 20))}`);
      if (tag[0].startsWith("<v ") && speaker === null) speaker = tag[0].slice(3, -1).trim();
      i += tag[0].length;
    } else {
      plain += raw[i];
      i++;
    }
  }
  return { speaker, plain };
}

const SRT_TIME = String.raw`(\d{2}):([0-5]\d):([0-5]\d),(\d{3})`;
const SRT_TIMING = new RegExp(`^${SRT_TIME} --> ${SRT_TIME}$`);

export function parseSrt(text: string): ParsedCue[] {
  const lines = linesOf(text);
  const cues: ParsedCue[] = [];
  let i = 0;
  while (i < lines.length) {
    if (i > 0 && lines[i - 1] !== "") fail(i, "cues must be separated by a blank line");
    if (lines[i] === "") fail(i, "more than one blank line between cues");
    const id = lines[i]!;
    if (id !== String(cues.length + 1)) fail(i, `expected cue number ${cues.length + 1}, got ${JSON.stringify(id)}`);
    const timing = SRT_TIMING.exec(lines[i + 1] ?? "");
    if (!timing) fail(i + 1, `not a cue timing line: ${JSON.stringify(lines[i + 1] ?? "")}`);
    const body: string[] = [];
    let j = i + 2;
    while (j < lines.length && lines[j] !== "") {
      if (lines[j]!.includes("-->")) fail(j, "cue text holds --> (a missing blank line between cues?)");
      body.push(lines[j++]!);
    }
    if (body.length === 0) fail(i + 2, "a cue without text");
    if (/<\/?[a-zA-Z]/.test(body.join("\n"))) fail(i + 2, "cue text holds markup a player would read as a tag");
    const raw = body.join("\n");
    const m = /^([^:\n]+): /.exec(raw);
    const cue: ParsedCue = {
      id,
      startMs: toMs(timing[1], timing[2]!, timing[3]!, timing[4]!),
      endMs: toMs(timing[5], timing[6]!, timing[7]!, timing[8]!),
      raw,
      speaker: m ? m[1]! : null,
      text: m ? raw.slice(m[0].length) : raw,
    };
    checkOrder(cues, cue, i + 1);
    cues.push(cue);
    // Past the blank line that ends this cue (the last cue may end at the end of the file).
    i = j + 1;
  }
  return cues;
}
