// The exports of a stored conversation: JSON (full record), Markdown, WebVTT and SRT, from a
// transcript with every kind of message — voice and typed turns, a reply cut by a barge-in, a
// backchannel over a reply, failed turns, text with markup — checked by strict subtitle parsers.
import { describe, expect, it } from "vitest";
import type { HistoryMessage } from "../../../../shared/protocol.ts";
import type { InterruptionRecord, ReplyAudio, TurnRecord } from "../../../../server/storage/conversation-store.ts";
import { buildTranscript, type Transcript } from "../../../../server/transcript/transcript.ts";
import { buildTimeline, MIN_ENTRY_MS } from "../../../../server/export/timeline.ts";
import { renderExport } from "../../../../server/export/transcript-export.ts";
import { CONTENT_TYPES, JSON_EXPORT_FORMAT, exportFileName, isExportFormat } from "../../../../server/export/export-formats.ts";
import { escapeMarkdown } from "../../../../server/export/markdown-export.ts";
import { cuesOf, renderSrt, renderVtt, timestamp } from "../../../../server/export/subtitles.ts";
import { SubtitleError, parseSrt, parseVtt } from "../../../support/subtitle-parser.ts";

const T0 = Date.UTC(2026, 10, 20, 9, 30, 0);
const ID = "abcdefghijklmnopqrstuvwxyz";
const CUT_REPLY_PLANNED = "The capital of France is Paris. It has been the capital for centuries and more.";
const CUT_REPLY_HEARD = "The capital of France is Paris.";

function turn(o: Partial<TurnRecord> & Pick<TurnRecord, "turnId" | "replyId" | "startedAt">): TurnRecord {
  return {
    source: "voice",
    status: "complete",
    endReason: "completed",
    endedAt: o.startedAt + 3_000,
    errorCode: null,
    models: { stt: "@cf/openai/whisper", llm: "@cf/meta/llama", tts: "@cf/deepgram/aura" },
    backend: "workers-ai",
    clientFirstAudioMs: null,
    metrics: { endpointingMs: 600, sttMs: 200, llmFirstTokenMs: 300, firstAudioMs: 800, ttsMs: 400, totalMs: 2_000, retries: 0 },
    usage: {
      audioInSeconds: 2.5,
      promptTokens: 50,
      completionTokens: 20,
      ttsCharacters: 80,
      ttsAudioSeconds: 4,
      neurons: 12,
      usd: 0.00013,
    },
    ...o,
  };
}

let nextId = 1;
function message(o: Partial<HistoryMessage> & Pick<HistoryMessage, "role" | "text" | "createdAt">): HistoryMessage {
  return { id: nextId++, status: "complete", source: "voice", ...o };
}

/** A conversation of six turns; times are what the session would have stored. */
function conversation(): Transcript {
  const turns: TurnRecord[] = [
    // 1: a voice turn; the user spoke 1.9 s, the reply played 3 s from +1.2 s after the turn started.
    turn({ turnId: "t-1", replyId: "r-1", startedAt: T0 + 2_500 }),
    // 2: a voice turn whose reply was cut by a barge-in at +7.5 s (into the reply).
    turn({ turnId: "t-2", replyId: "r-2", startedAt: T0 + 9_000, status: "interrupted", endReason: "barge-in" }),
    // 3: the barge-in's turn, which asked something over a reply that a backchannel did not stop.
    turn({
      turnId: "t-3",
      replyId: "r-3",
      startedAt: T0 + 17_000,
      usage: { audioInSeconds: 2, promptTokens: 0, completionTokens: 0, ttsCharacters: 0, ttsAudioSeconds: 3, neurons: 10, usd: 0.0001 },
    }),
    // 4: a typed turn whose reply failed before any audio.
    turn({
      turnId: "t-4",
      replyId: "r-4",
      startedAt: T0 + 30_000,
      source: "text",
      status: "failed",
      endReason: "failed",
      errorCode: "llm_failed",
      metrics: { endpointingMs: 0, sttMs: 0, llmFirstTokenMs: null, firstAudioMs: null, ttsMs: 0, totalMs: 900, retries: 2 },
      usage: { audioInSeconds: 0, promptTokens: 10, completionTokens: 0, ttsCharacters: 0, ttsAudioSeconds: 0, neurons: 1, usd: 0.00001 },
    }),
    // 5: a voice turn whose speech-to-text failed: nothing stored but the turn.
    turn({ turnId: "t-5", replyId: "r-5", startedAt: T0 + 40_000, status: "failed", endReason: "failed", errorCode: "stt_failed" }),
    // 6: a typed turn with markup in both texts.
    turn({ turnId: "t-6", replyId: "r-6", startedAt: T0 + 50_000, source: "text" }),
  ];
  const messages: HistoryMessage[] = [
    message({ role: "user", text: "What is the capital of France?", turnId: "t-1", createdAt: T0 + 2_700 }),
    message({ role: "assistant", text: "Paris is the capital.", turnId: "t-1", replyId: "r-1", createdAt: T0 + 4_000 }),
    message({ role: "user", text: "Tell me more about it.", turnId: "t-2", createdAt: T0 + 9_200 }),
    message({
      role: "assistant",
      text: CUT_REPLY_HEARD,
      plannedText: CUT_REPLY_PLANNED,
      status: "interrupted",
      turnId: "t-2",
      replyId: "r-2",
      createdAt: T0 + 12_000,
    }),
    message({ role: "user", text: "Wait, how old is it?", turnId: "t-3", createdAt: T0 + 17_200 }),
    message({ role: "user", text: "uh-huh", kind: "backchannel", turnId: "t-3", replyId: "r-3", createdAt: T0 + 19_500 }),
    message({ role: "assistant", text: "It is over two thousand years old.", turnId: "t-3", replyId: "r-3", createdAt: T0 + 19_000 }),
    message({ role: "user", text: "And the weather?", source: "text", turnId: "t-4", createdAt: T0 + 30_000 }),
    message({ role: "assistant", text: "", plannedText: "", status: "failed", turnId: "t-4", replyId: "r-4", createdAt: T0 + 30_900 }),
    message({ role: "user", text: "Is a --> b & <b>bold</b>?", source: "text", turnId: "t-6", createdAt: T0 + 50_000 }),
    message({
      role: "assistant",
      text: "Yes: x < y && y > z --> done.\n\nNew paragraph.",
      turnId: "t-6",
      replyId: "r-6",
      createdAt: T0 + 51_000,
    }),
  ];
  const interruptions: InterruptionRecord[] = [
    {
      replyId: "r-2",
      turnId: "t-2",
      source: "client",
      openedAt: T0 + 11_500,
      decidedAt: T0 + 11_900,
      decision: "confirmed",
      reason: "speech",
      transcript: "Wait",
      segment: 1,
      playedMs: 300,
      sttCalls: 1,
      audioInSeconds: 0.5,
      neurons: 0.5,
      usd: 0.000005,
    },
    {
      replyId: "r-3",
      turnId: "t-3",
      source: "client",
      openedAt: T0 + 19_200,
      decidedAt: T0 + 19_600,
      decision: "resumed",
      reason: "backchannel",
      transcript: "uh-huh",
      segment: 0,
      playedMs: 500,
      sttCalls: 1,
      audioInSeconds: 0.4,
      neurons: 0.4,
      usd: 0.000004,
    },
  ];
  const replyAudio: ReplyAudio[] = [
    { replyId: "r-1", firstSentAt: T0 + 3_300, audioMs: 3_000, segments: 1 },
    { replyId: "r-2", firstSentAt: T0 + 10_000, audioMs: 6_000, segments: 2 },
    { replyId: "r-3", firstSentAt: T0 + 18_000, audioMs: 3_000, segments: 1 },
    { replyId: "r-6", firstSentAt: T0 + 50_600, audioMs: 2_500, segments: 2 },
  ];
  return buildTranscript(ID, messages, turns, interruptions, null, replyAudio);
}

describe("the export timeline", () => {
  it("puts every message in time order, each ending no later than the next begins, from the session's start", () => {
    const tl = buildTimeline(conversation());
    expect(tl.startedAt).toBe(T0 + 2_500 - 2_500); // turn 1's utterance began 2.5 s before its turn
    expect(tl.entries).toHaveLength(11);
    for (const [i, e] of tl.entries.entries()) {
      expect(e.endMs - e.startMs).toBeGreaterThanOrEqual(MIN_ENTRY_MS);
      if (i > 0) expect(e.startMs).toBeGreaterThanOrEqual(tl.entries[i - 1]!.endMs);
    }
    expect(tl.entries[0]).toMatchObject({ startMs: 0, endMs: 1_900 }); // the utterance, less the end-of-turn wait
    expect(tl.entries[1]).toMatchObject({ startMs: 3_300, endMs: 6_300 }); // the reply's audio
  });

  it("a reply cut by a barge-in ends where the barge-in began, and the backchannel sits inside the reply it was said over", () => {
    const tl = buildTimeline(conversation());
    const cut = tl.entries.find((e) => e.message.replyId === "r-2" && e.message.role === "assistant")!;
    expect(cut.startMs).toBe(10_000);
    // Heard 31 of 79 planned characters of 6 s of audio (to 12.35 s), but the barge-in began at 11.5 s.
    expect(cut.endMs).toBe(11_500);
    const order = tl.entries.map((e) => e.message.text);
    expect(order.indexOf("uh-huh")).toBe(order.indexOf("It is over two thousand years old.") + 1);
    const backchannel = tl.entries.find((e) => e.message.kind === "backchannel")!;
    expect(backchannel.startMs).toBe(19_200);
  });

  it("a reply stopped without a barge-in (the stop button) lasts the heard share of its audio", () => {
    const t = conversation();
    t.interruptions = t.interruptions.filter((i) => i.decision !== "confirmed");
    const cut = buildTimeline(t).entries.find((e) => e.message.replyId === "r-2" && e.message.role === "assistant")!;
    expect(cut.endMs).toBe(10_000 + Math.round((6_000 * CUT_REPLY_HEARD.length) / CUT_REPLY_PLANNED.length));
  });

  it("a session with nothing said has no start and no entries", () => {
    const tl = buildTimeline(buildTranscript(ID, [], [], [], null, []));
    expect(tl).toEqual({ startedAt: null, durationMs: 0, entries: [] });
  });
});

/** Who speaks each subtitle cue of conversation(): the failed reply had no words, so it has no cue; every other message has one. */
const CUE_SPEAKERS = ["User", "Assistant", "User", "Assistant", "User", "Assistant", "User", "User", "User", "Assistant"];

describe("WebVTT export", () => {
  it("passes the strict parser: one cue per message with words, voice spans, times monotonic and never overlapping", () => {
    const { body, contentType, fileName } = renderExport(conversation(), "vtt", T0 + 3_600_000);
    expect(contentType).toBe("text/vtt; charset=utf-8");
    expect(fileName).toBe("parley-abcdefgh-2026-11-20.vtt");
    const cues = parseVtt(body);
    expect(cues.map((c) => c.speaker)).toEqual(CUE_SPEAKERS);
    for (let i = 1; i < cues.length; i++) expect(cues[i]!.startMs).toBeGreaterThanOrEqual(cues[i - 1]!.endMs);
    expect(cues[0]).toMatchObject({ startMs: 0, endMs: 1_900, text: "What is the capital of France?" });
  });

  it("an interrupted reply's cue holds only what was heard", () => {
    const cues = parseVtt(renderExport(conversation(), "vtt", T0).body);
    expect(cues[3]!.text).toBe(CUT_REPLY_HEARD);
    expect(cues.some((c) => c.text.includes("centuries"))).toBe(false);
  });

  it("escapes &, < and > (so no cue text holds -->) and keeps paragraphs inside one cue", () => {
    const body = renderExport(conversation(), "vtt", T0).body;
    expect(body).toContain("<v User>Is a --&gt; b &amp; &lt;b&gt;bold&lt;/b&gt;?</v>");
    const cues = parseVtt(body);
    expect(cues[8]!.text).toBe("Is a --> b & <b>bold</b>?");
    expect(cues[9]!.text).toBe("Yes: x < y && y > z --> done.\nNew paragraph.");
  });

  it("an empty conversation is a valid file with no cues", () => {
    expect(parseVtt(renderVtt([], ID))).toEqual([]);
  });
});

describe("SRT export", () => {
  it("passes the strict parser: numbered cues, comma timestamps, speaker prefixes, monotonic times", () => {
    const { body, contentType, fileName } = renderExport(conversation(), "srt", T0);
    expect(contentType).toBe(CONTENT_TYPES.srt);
    expect(fileName.endsWith(".srt")).toBe(true);
    const cues = parseSrt(body);
    expect(cues.map((c) => c.id)).toEqual(cues.map((_, i) => String(i + 1)));
    expect(cues.map((c) => c.speaker)).toEqual(CUE_SPEAKERS);
    expect(body).toContain("00:00:00,000 --> 00:00:01,900\nUser: What is the capital of France?");
    const vtt = parseVtt(renderExport(conversation(), "vtt", T0).body);
    expect(cues.map((c) => [c.startMs, c.endMs])).toEqual(vtt.map((c) => [c.startMs, c.endMs]));
  });

  it("an interrupted reply's cue holds only what was heard; markup and arrows cannot be read as tags or timings", () => {
    const cues = parseSrt(renderExport(conversation(), "srt", T0).body);
    expect(cues[3]!.text).toBe(CUT_REPLY_HEARD);
    expect(cues[8]!.text).toBe("Is a --\uFF1E b & \uFF1Cb>bold\uFF1C/b>?");
  });
});

describe("Markdown export", () => {
  const md = () => renderExport(conversation(), "md", T0).body;

  it("opens with the title and the session's facts: start, duration, turns, cost in neurons and dollars, backend and models", () => {
    const text = md();
    expect(text.startsWith("# What is the capital of France?\n")).toBe(true);
    expect(text).toContain(`- Started: ${new Date(T0).toISOString()}`);
    expect(text).toContain("- Duration: 53 s");
    expect(text).toContain("- Turns: 6 (1 interrupted, 2 failed)");
    expect(text).toContain("- Cost: 59.9 neurons ($0.000639)");
    expect(text).toContain("- Backend: workers-ai");
    expect(text).toContain("@cf/meta/llama · @cf/openai/whisper · @cf/deepgram/aura");
  });

  it("an interrupted reply shows the heard text and the unheard planned rest struck through", () => {
    expect(md()).toContain(`**[0:10.0] Assistant:** The capital of France is Paris. ~~It has been the capital for centuries and more.~~`);
  });

  it("marks backchannels, typed turns, failed turns with their error codes, and escapes markup", () => {
    const text = md();
    expect(text).toContain("_[0:19.2] User (backchannel, over the reply):_ uh-huh");
    expect(text).toContain("**[0:30.0] User (typed):** And the weather?");
    expect(text).toContain("failed — error `llm_failed`");
    expect(text).toContain("**[0:40.0] Turn failed** before anything was stored — error `stt_failed`");
    expect(text).toContain("Is a --\\> b \\& \\<b\\>bold\\</b\\>?");
    expect(escapeMarkdown("*a* _b_ `c` [d](e) ~~f~~ |g|")).toBe("\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) \\~\\~f\\~\\~ \\|g\\|");
  });
});

describe("JSON export", () => {
  it("is the versioned full record: heard and planned text, offsets, per-turn metrics and usage, totals", () => {
    const { body, contentType } = renderExport(conversation(), "json", T0 + 60_000);
    expect(contentType).toBe("application/json");
    const doc = JSON.parse(body);
    expect(doc.format).toBe(JSON_EXPORT_FORMAT);
    expect(doc.session).toMatchObject({
      id: ID,
      title: "What is the capital of France?",
      startedAt: new Date(T0).toISOString(),
      backends: ["workers-ai"],
    });
    const cut = doc.messages.find((m: HistoryMessage) => m.replyId === "r-2" && m.role === "assistant");
    expect(cut).toMatchObject({ text: CUT_REPLY_HEARD, plannedText: CUT_REPLY_PLANNED, status: "interrupted", startMs: 10_000 });
    expect(doc.messages.find((m: HistoryMessage) => m.replyId === "r-1" && m.role === "assistant").plannedText).toBe(
      "Paris is the capital.",
    );
    expect(doc.turns).toHaveLength(6);
    expect(doc.turns[3]).toMatchObject({ errorCode: "llm_failed", metrics: { retries: 2 } });
    expect(doc.totals).toMatchObject({ turns: 6, interruptionsConfirmed: 1, interruptionsResumed: 1 });
    expect(doc.totals.neurons).toBeCloseTo(59.9, 6);
  });
});

describe("formats and names", () => {
  it("knows exactly the four formats and names files parley-<id prefix>-<date>.<ext>", () => {
    expect(["json", "md", "vtt", "srt"].every(isExportFormat)).toBe(true);
    for (const bad of ["JSON", "txt", "", null, "vtt "]) expect(isExportFormat(bad)).toBe(false);
    expect(exportFileName(ID, null, "md", Date.UTC(2027, 0, 2))).toBe("parley-abcdefgh-2027-01-02.md");
  });

  it("timestamps carry hours, minutes, seconds and milliseconds", () => {
    expect(timestamp(3_723_004, ".")).toBe("01:02:03.004");
    expect(timestamp(59_999, ",")).toBe("00:00:59,999");
  });
});

describe("the strict subtitle parsers", () => {
  const cue = (n: number, a: string, b: string, text: string, sep = ",") =>
    `${n}\n${a.replace(".", sep)} --> ${b.replace(".", sep)}\n${text}\n`;

  it("reject malformed timestamps", () => {
    expect(() => parseSrt(cue(1, "00:00:01.5", "00:00:02.000", "x"))).toThrow(SubtitleError);
    expect(() => parseSrt(cue(1, "00:00:61.000", "00:01:02.000", "x"))).toThrow(SubtitleError);
    expect(() => parseVtt(`WEBVTT\n\n00:00:01,000 --> 00:00:02.000\nx\n`)).toThrow(SubtitleError);
    expect(() => parseVtt(`WEBVTT\n\n0:00:01.000 --> 00:00:02.000\nx\n`)).toThrow(SubtitleError);
  });

  it("reject overlapping, backwards and empty-length cues", () => {
    expect(() => parseSrt(cue(1, "00:00:01.000", "00:00:03.000", "a") + "\n" + cue(2, "00:00:02.000", "00:00:04.000", "b"))).toThrow(
      /before cue 1 ends/,
    );
    expect(() => parseSrt(cue(1, "00:00:05.000", "00:00:06.000", "a") + "\n" + cue(2, "00:00:01.000", "00:00:02.000", "b"))).toThrow(
      SubtitleError,
    );
    expect(() => parseVtt(`WEBVTT\n\n00:00:02.000 --> 00:00:02.000\nx\n`)).toThrow(/at or before it starts/);
  });

  it("reject a missing blank line between cues, a missing header and bare markup", () => {
    expect(() => parseSrt(cue(1, "00:00:01.000", "00:00:02.000", "a") + cue(2, "00:00:03.000", "00:00:04.000", "b"))).toThrow(/-->/);
    expect(() => parseVtt(`WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na\n00:00:03.000 --> 00:00:04.000\nb\n`)).toThrow(/missing blank line/);
    expect(() => parseVtt(`00:00:01.000 --> 00:00:02.000\na\n`)).toThrow(/WEBVTT/);
    expect(() => parseVtt(`WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na & b\n`)).toThrow(/bare &/);
    expect(() => parseVtt(`WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na < b\n`)).toThrow(/bare </);
    expect(() => parseSrt(cue(1, "00:00:01.000", "00:00:02.000", "<i>a</i>"))).toThrow(/tag/);
  });

  it("accept well-formed files", () => {
    expect(parseSrt(cue(1, "00:00:01.000", "00:00:02.000", "User: a") + "\n" + cue(2, "00:00:02.000", "00:00:04.000", "b"))).toHaveLength(
      2,
    );
    expect(parseVtt(`WEBVTT\n\nNOTE hi\n\nid\n00:01.000 --> 00:02.000\n<v User>a &amp; b</v>\n`)[0]).toMatchObject({
      id: "id",
      speaker: "User",
      text: "a & b",
      startMs: 1000,
    });
    expect(renderSrt([])).toBe("");
    expect(cuesOf({ startedAt: null, durationMs: 0, entries: [] })).toEqual([]);
  });
});
