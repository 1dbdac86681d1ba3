// The conversation and the per-reply records follow the server's events and the playback together;
// `reply-heard` has the last word on a reply.
import { describe, expect, it } from "vitest";
import type { HistoryMessage, ServerEvent } from "../../../../shared/protocol.ts";
import { ConversationFeed, type ConversationSurface } from "../../../../client/session/conversation-feed.ts";
import { ReplyTracker, type TurnMeta } from "../../../../client/session/reply-tracker.ts";

/** Records what the feed asks of the view (method name and arguments). */
function surface() {
  const calls: [string, ...unknown[]][] = [];
  const assistants = new Set<string>();
  const record =
    (name: string) =>
    (...args: unknown[]) => {
      calls.push([name, ...args]);
    };
  const view: ConversationSurface = {
    clear: record("clear"),
    renderHistory: (history: HistoryMessage[], metaFor: (id: string) => TurnMeta | undefined, keep: string | null, older?: unknown) => {
      calls.push(["renderHistory", history.length, keep, metaFor("r1"), ...(older ? [older] : [])]);
    },
    removePending: record("removePending"),
    addUser: record("addUser"),
    showCaption: record("showCaption"),
    adoptCaption: (...args: unknown[]) => {
      calls.push(["adoptCaption", ...args]);
      return true;
    },
    clearCaption: record("clearCaption"),
    confirmTyped: (...args: unknown[]) => {
      calls.push(["confirmTyped", ...args]);
      return false;
    },
    addBackchannel: record("addBackchannel"),
    hasAssistant: (id: string) => assistants.has(id),
    startAssistant: (id: string) => {
      assistants.add(id);
      calls.push(["startAssistant", id]);
    },
    appendDelta: record("appendDelta"),
    markSpoken: record("markSpoken"),
    markAllSpoken: record("markAllSpoken"),
    generationDone: record("generationDone"),
    showHeard: record("showHeard"),
    markInterrupted: record("markInterrupted"),
    setPaused: record("setPaused"),
    setMeta: record("setMeta"),
  };
  const named = (name: string) => calls.filter((c) => c[0] === name).map((c) => c.slice(1));
  return { view, calls, named };
}

const segment = (replyId: string, index: number, text: string, durationMs = 1_000): ServerEvent<"segment"> => ({
  type: "segment",
  replyId,
  index,
  text,
  container: "wav",
  codec: "pcm_s16le",
  sampleRate: 16_000,
  channels: 1,
  durationMs,
  bytes: 2,
});

const done = (replyId: string, status: "complete" | "interrupted" | "failed", text: string): ServerEvent<"reply-done"> => ({
  type: "reply-done",
  replyId,
  status,
  text,
  metrics: { endpointingMs: 500, sttMs: 20, llmFirstTokenMs: 30, firstAudioMs: 240, ttsMs: 20, totalMs: 900, retries: 0 },
  usage: { audioInSeconds: 1, promptTokens: 10, completionTokens: 20, ttsCharacters: 50, ttsAudioSeconds: 3, neurons: 12, usd: 0.0001 },
  backend: "fake",
  endReason: status === "complete" ? "completed" : "barge-in",
});

const heard = (replyId: string, status: "complete" | "interrupted", text: string, plannedText: string): ServerEvent<"reply-heard"> => ({
  type: "reply-heard",
  replyId,
  status,
  text,
  plannedText,
  endReason: status === "complete" ? "completed" : "barge-in",
});

describe("ConversationFeed", () => {
  it("a reply whose generation completed but whose playback was cut ends up `interrupted`, from reply-heard", () => {
    const s = surface();
    const replies = new ReplyTracker();
    const feed = new ConversationFeed(s.view, replies);
    feed.segment(segment("r1", 0, "First."));
    feed.replyDone(done("r1", "complete", "First. Second."), true);
    expect(replies.get("r1")!.stats.status).toBe("complete"); // provisional
    feed.replyHeard(heard("r1", "interrupted", "First.", "First. Second."));
    expect(replies.get("r1")!.stats.status).toBe("interrupted");
    expect(replies.get("r1")!.meta).toMatchObject({ status: "interrupted", endReason: "barge-in", backend: "fake", usd: 0.0001 });
    expect(s.named("showHeard")).toEqual([["r1", "interrupted", "First.", "First. Second."]]);
  });

  it("a reply-done that comes after reply-heard adds the tags but keeps the final status and text", () => {
    const s = surface();
    const replies = new ReplyTracker();
    const feed = new ConversationFeed(s.view, replies);
    feed.segment(segment("r1", 0, "First."));
    feed.replyHeard(heard("r1", "interrupted", "First.", "First. Second."));
    feed.replyDone(done("r1", "complete", "First. Second."), false);
    expect(replies.get("r1")!.stats.status).toBe("interrupted");
    expect(replies.get("r1")!.meta).toMatchObject({ status: "interrupted", serverFirstAudioMs: 240 });
    expect(s.named("generationDone")).toEqual([]);
  });

  it("a reply cut here is shown interrupted at reply-done (not as its whole text), and its late text and audio are ignored", () => {
    const s = surface();
    const replies = new ReplyTracker();
    const feed = new ConversationFeed(s.view, replies);
    feed.segment(segment("r1", 0, "First."));
    feed.cut("r1");
    expect(feed.delta({ type: "reply-delta", replyId: "r1", text: " more" })).toBe(false);
    expect(feed.segment(segment("r1", 1, "Second."))).toBe(false);
    feed.replyDone(done("r1", "complete", "First. Second."), true);
    expect(replies.get("r1")!.stats.status).toBe("interrupted");
    expect(s.named("markInterrupted")).toEqual([["r1"], ["r1"]]);
    expect(s.named("generationDone")).toEqual([]);
    expect(s.named("appendDelta")).toEqual([]);
    expect(replies.get("r1")!.stats.segmentsReceived).toBe(1);
  });

  it("a complete reply still playing keeps its spoken highlight following playback", () => {
    const s = surface();
    const feed = new ConversationFeed(s.view, new ReplyTracker());
    feed.segment(segment("r1", 0, "First."));
    feed.replyDone(done("r1", "complete", "First."), true);
    expect(s.named("generationDone")[0]!.slice(0, 3)).toEqual(["r1", "complete", "First."]);
    expect(s.named("generationDone")[0]![4]).toBe(true);
  });

  it("times the first audio of a reply from the end of the turn it answers, once", () => {
    const s = surface();
    const replies = new ReplyTracker();
    const feed = new ConversationFeed(s.view, replies);
    replies.turnEnded("r1", 10_000);
    feed.segment(segment("r1", 0, "Hello there."));
    feed.playback({ type: "segment-start", replyId: "r1", segment: 0, offset: 0, firstOfReply: true }, 10_850);
    expect(replies.get("r1")!.stats.clientFirstAudioMs).toBe(850);
    expect(s.named("setMeta")).toEqual([["r1", { clientFirstAudioMs: 850 }]]);
    expect(s.named("markSpoken")).toEqual([["r1", "Hello there."]]);
    feed.playback({ type: "segment-end", replyId: "r1", segment: 0, playedMs: 1_000, offset: 0 }, 11_850);
    feed.playback({ type: "finished", replyId: "r1", segment: 0, playedMs: 1_000, offset: 0 }, 11_850);
    expect(replies.get("r1")!.stats).toMatchObject({ playedMs: 1_000, segmentsPlayed: 1, expectedMs: 1_000 });
    expect(s.named("markAllSpoken")).toEqual([["r1"]]);
  });

  it("a reply with no audio stops its turn's clock: the next reply is not timed from that turn", () => {
    const replies = new ReplyTracker();
    const feed = new ConversationFeed(surface().view, replies);
    replies.turnEnded(undefined, 10_000);
    feed.replyDone(done("r1", "failed", ""), false);
    feed.segment(segment("r2", 0, "Later."));
    feed.playback({ type: "segment-start", replyId: "r2", segment: 0, offset: 0, firstOfReply: true }, 30_000);
    expect(replies.get("r2")!.stats.clientFirstAudioMs).toBeNull();
  });

  it("live captions update one bubble that the spoken turn's transcript then takes over; a backchannel drops it", () => {
    const s = surface();
    const feed = new ConversationFeed(s.view, new ReplyTracker());
    feed.caption({ type: "user-partial", text: "set a" });
    feed.caption({ type: "user-partial", text: "set a timer" });
    feed.transcript({ type: "transcript", turnId: "t1", text: "Set a timer.", source: "voice", kind: "turn" });
    expect(s.named("showCaption")).toEqual([["set a"], ["set a timer"]]);
    expect(s.named("adoptCaption")).toEqual([["t1"]]);
    expect(s.named("addUser")).toEqual([["t1", "Set a timer.", "voice"]]);
    feed.caption({ type: "user-partial", text: "uh huh" });
    feed.transcript({ type: "transcript", turnId: "t2", text: "Uh-huh.", source: "voice", kind: "backchannel", replyId: "r1" });
    expect(s.named("clearCaption")).toHaveLength(1);
  });

  it("a backchannel goes on its reply as a note; a turn is a user message", () => {
    const s = surface();
    const feed = new ConversationFeed(s.view, new ReplyTracker());
    feed.transcript({ type: "transcript", turnId: "t2", text: "Uh-huh.", source: "voice", kind: "backchannel", replyId: "r1" });
    feed.transcript({ type: "transcript", turnId: "t3", text: "Stop there.", source: "voice", kind: "turn" });
    expect(s.named("addBackchannel")).toEqual([["r1", "Uh-huh."]]);
    expect(s.named("addUser")).toEqual([["t3", "Stop there.", "voice"]]);
  });

  it("history is rendered with the tags measured here, and the live reply is shown", () => {
    const s = surface();
    const replies = new ReplyTracker();
    const feed = new ConversationFeed(s.view, replies);
    replies.ensure("r1").meta = { clientFirstAudioMs: 700 };
    feed.history([], "r2");
    expect(s.named("renderHistory")).toEqual([[0, "r2", { clientFirstAudioMs: 700 }]]);
    expect(s.named("startAssistant")).toEqual([["r2"]]);
  });

  it("a history cut to ready's budget passes its marker on, so the view can point at the transcript", () => {
    const s = surface();
    const feed = new ConversationFeed(s.view, new ReplyTracker());
    const older = { messages: 42, transcriptPath: "/api/sessions/abc" };
    feed.history([], null, older);
    expect(s.named("renderHistory")).toEqual([[0, null, undefined, older]]);
  });

  it("shows one reply paused at a time, and un-pauses it when the hold ends", () => {
    const s = surface();
    const feed = new ConversationFeed(s.view, new ReplyTracker());
    feed.showPaused("r1");
    feed.showPaused("r1");
    feed.showPaused(null);
    feed.showPaused("r2");
    expect(s.named("setPaused")).toEqual([
      ["r1", true],
      ["r1", false],
      ["r2", true],
    ]);
    feed.history([], null); // re-rendered: nothing is shown paused any more
    feed.showPaused("r2");
    expect(s.named("setPaused").at(-1)).toEqual(["r2", true]);
  });
});
