// The conversation as the user sees it, kept in step with what is known per reply: the server's
// events (history, transcripts, reply text, generation done, what was heard) and the playback's
// (segments starting and ending) update the reply tracker and the conversation view together.
// The final word on a reply is `reply-heard`: its status and heard text replace what `reply-done`
// said while the audio was still playing.
// Pure: the view is reached through the ConversationSurface interface (no DOM here).
import type { HistoryMessage, MessageStatus, SegmentEvent, ServerEvent } from "../../shared/protocol.ts";
import type { PlaybackEvent } from "../audio/ring-buffer.ts";
import { firstAudioLatencyMs } from "./latency-clock.ts";
import type { ReplyTracker, TurnMeta } from "./reply-tracker.ts";

/** What the feed needs of the conversation view. */
export interface ConversationSurface {
  clear(): void;
  /** `older`: messages left out of `ready` (shown as a pointer to the transcript). */
  renderHistory(
    history: HistoryMessage[],
    metaFor: (replyId: string) => TurnMeta | undefined,
    keepReplyId: string | null,
    older?: ServerEvent<"ready">["olderHistory"],
  ): void;
  removePending(): void;
  addUser(turnId: string, text: string, source: "voice" | "text"): void;
  showCaption(text: string): void;
  adoptCaption(turnId: string): boolean;
  clearCaption(): void;
  confirmTyped(turnId: string, text: string): boolean;
  addBackchannel(replyId: string, text: string): void;
  hasAssistant(replyId: string): boolean;
  startAssistant(replyId: string): void;
  appendDelta(replyId: string, delta: string): void;
  markSpoken(replyId: string, segmentText: string): void;
  markAllSpoken(replyId: string): void;
  generationDone(replyId: string, status: MessageStatus, text: string, meta: TurnMeta, audioPlaying: boolean): void;
  showHeard(replyId: string, status: MessageStatus, heardText: string, plannedText: string): void;
  markInterrupted(replyId: string): void;
  setPaused(replyId: string, paused: boolean): void;
  setMeta(replyId: string, meta: TurnMeta): void;
}

export class ConversationFeed {
  private shownPaused: string | null = null;

  constructor(
    private readonly view: ConversationSurface,
    private readonly replies: ReplyTracker,
  ) {}

  /** A new conversation. */
  clear(): void {
    this.view.clear();
    this.replies.clear();
    this.shownPaused = null;
  }

  /** `ready`: the conversation re-rendered from the server's history, with the tags measured here. */
  history(history: HistoryMessage[], activeReplyId: string | null, older?: ServerEvent<"ready">["olderHistory"]): void {
    this.view.renderHistory(history, (id) => this.replies.get(id)?.meta, activeReplyId, older);
    this.view.removePending();
    if (activeReplyId) this.replyStarted(activeReplyId);
    this.shownPaused = null; // re-rendered: the caller shows the hold again if there still is one
  }

  /** Streaming recognition: what the user is saying, live. */
  caption(m: ServerEvent<"user-partial">): void {
    this.view.showCaption(m.text);
  }

  /** The floor went back to listening without a turn: drop a caption left over. */
  captionDone(): void {
    this.view.clearCaption();
  }

  transcript(m: ServerEvent<"transcript">): void {
    if (m.kind === "backchannel" && m.replyId) {
      this.view.clearCaption();
      this.view.addBackchannel(m.replyId, m.text);
    } else if (m.source === "voice") {
      this.view.adoptCaption(m.turnId);
      this.view.addUser(m.turnId, m.text, "voice");
    } else if (!this.view.confirmTyped(m.turnId, m.text)) this.view.addUser(m.turnId, m.text, "text");
  }

  /** A reply is being prepared or spoken: show it (a "Thinking…" placeholder until text comes). */
  replyStarted(replyId: string): void {
    if (!this.view.hasAssistant(replyId)) this.view.startAssistant(replyId);
  }

  /** Reply text; false (and ignored) when the reply was cut here. */
  delta(m: ServerEvent<"reply-delta">): boolean {
    if (this.replies.isCut(m.replyId)) return false;
    this.view.appendDelta(m.replyId, m.text);
    return true;
  }

  /** A segment header arrived; false (its audio is not to be played) when the reply was cut here. */
  segment(h: SegmentEvent): boolean {
    if (this.replies.isCut(h.replyId)) return false;
    const r = this.replies.ensure(h.replyId);
    r.segmentTexts.set(h.index, h.text);
    r.stats.expectedMs += h.durationMs;
    r.stats.segmentsReceived++;
    this.replyStarted(h.replyId);
    return true;
  }

  /** A playback event, heard at `heardAtMs` (audio clock). */
  playback(ev: PlaybackEvent, heardAtMs: number): void {
    switch (ev.type) {
      case "segment-start": {
        const r = this.replies.ensure(ev.replyId);
        const text = r.segmentTexts.get(ev.segment);
        if (text) this.view.markSpoken(ev.replyId, text);
        if (!ev.firstOfReply) break;
        const end = this.replies.takeTurnEnd(ev.replyId);
        if (end === null) break;
        r.stats.clientFirstAudioMs = firstAudioLatencyMs(end, heardAtMs);
        r.meta = { ...r.meta, clientFirstAudioMs: r.stats.clientFirstAudioMs };
        this.view.setMeta(ev.replyId, r.meta);
        break;
      }
      case "segment-end": {
        const stats = this.replies.ensure(ev.replyId).stats;
        stats.playedMs += ev.playedMs;
        stats.segmentsPlayed++;
        break;
      }
      case "stopped":
        this.replies.ensure(ev.replyId).stats.playedMs += ev.playedMs;
        break;
      case "underrun":
        this.replies.ensure(ev.replyId).stats.underruns++;
        break;
      case "finished":
        this.view.markAllSpoken(ev.replyId);
        break;
      case "starved":
      case "paused":
      case "resumed":
        break;
    }
  }

  /** Generation of the reply ended (its audio may still be playing: `audioPlaying`). */
  replyDone(m: ServerEvent<"reply-done">, audioPlaying: boolean): void {
    const r = this.replies.ensure(m.replyId);
    const tags = { serverFirstAudioMs: m.metrics.firstAudioMs, usd: m.usage.usd, neurons: m.usage.neurons, backend: m.backend };
    Object.assign(r.stats, { serverFirstAudioMs: m.metrics.firstAudioMs, backend: m.backend, usd: m.usage.usd });
    if (r.heard) {
      r.meta = { ...r.meta, ...tags };
      this.view.setMeta(m.replyId, r.meta);
      return;
    }
    // Cut here (Stop, a confirmed interruption) after the server had finished generating. Provisional
    // until `reply-heard`.
    const status = m.status === "complete" && r.cut ? "interrupted" : m.status;
    r.meta = { ...r.meta, ...tags, status, endReason: m.endReason };
    r.stats.status = status;
    if (r.cut && m.status === "complete") {
      // Its whole text is not what was heard; that comes with `reply-heard`.
      this.view.markInterrupted(m.replyId);
      this.view.setMeta(m.replyId, r.meta);
    } else {
      this.view.generationDone(m.replyId, status, m.text, r.meta, audioPlaying && !r.cut && r.segmentTexts.size > 0);
    }
    // A reply with no audio at all (failed, or cut before speaking): its turn's clock stops here.
    if (r.segmentTexts.size === 0) this.replies.takeTurnEnd(m.replyId);
  }

  /** Playback of the reply is over: what was heard, and the status the server stored, are final. */
  replyHeard(m: ServerEvent<"reply-heard">): void {
    const r = this.replies.ensure(m.replyId);
    r.heard = true;
    r.stats.status = m.status;
    r.meta = { ...r.meta, status: m.status, endReason: m.endReason };
    this.view.showHeard(m.replyId, m.status, m.text, m.plannedText);
    this.view.setMeta(m.replyId, r.meta);
  }

  /** Cut here (Stop, push-to-talk, typed text, a confirmed interruption): late text and audio are ignored. */
  cut(replyId: string): void {
    this.replies.cut(replyId);
    this.view.markInterrupted(replyId);
  }

  /** Show this reply as held for an interruption (null: none is). */
  showPaused(replyId: string | null): void {
    if (replyId === this.shownPaused) return;
    if (this.shownPaused) this.view.setPaused(this.shownPaused, false);
    if (replyId) this.view.setPaused(replyId, true);
    this.shownPaused = replyId;
  }
}
