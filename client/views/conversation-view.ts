// The conversation: user and assistant bubbles. Assistant text streams in as it is generated and
// is shown "spoken" (full colour) as each segment starts playing, unspoken text dimmed. When
// playback is over, the reply shows what the user heard, then the planned words they did not hear
// (struck through if it was cut): the live conversation and a reopened session render this through
// the same path (showHeard). A reply held for an interruption looks paused; backchannels ("uh-huh"
// said over a reply) are small notes on that reply, not turns. Each assistant turn carries a meta
// line: time to first audio (client and server), cost, and which backend answered.
import type { HistoryMessage, MessageStatus, ReplyMeta, ServerEvent } from "../../shared/protocol.ts";
import type { TurnMeta } from "../session/reply-tracker.ts";
import { el } from "./dom.ts";
import { backendKind, backendLabel, formatMs, formatUsd } from "./format.ts";
import { splitHeard } from "./heard-split.ts";

interface AssistantTurn {
  root: HTMLElement;
  spoken: HTMLSpanElement;
  unspoken: HTMLSpanElement;
  notes: HTMLElement;
  meta: HTMLElement;
  /** Extra detail under the reply (the review page's latency waterfall). */
  details: HTMLElement;
  text: string;
  spokenEnd: number;
  data: TurnMeta;
}

export type OlderHistory = NonNullable<ServerEvent<"ready">["olderHistory"]>;

/** The tags a stored reply carries (history `meta`), as shown. */
function storedMeta(meta: ReplyMeta | undefined): TurnMeta {
  if (!meta) return {};
  return {
    serverFirstAudioMs: meta.firstAudioMs,
    ...(meta.clientFirstAudioMs !== undefined ? { clientFirstAudioMs: meta.clientFirstAudioMs } : {}),
    usd: meta.usd,
    neurons: meta.neurons,
    backend: meta.backend,
    endReason: meta.endReason,
    ...(meta.errorCode !== undefined ? { errorCode: meta.errorCode } : {}),
  };
}

/** The live caption's key among the user bubbles (never a server turn id, which starts with "t-"). */
const CAPTION_ID = "live-caption";

export class ConversationView {
  private readonly assistants = new Map<string, AssistantTurn>();
  private readonly users = new Map<string, HTMLElement>();

  constructor(
    private readonly container: HTMLElement,
    private readonly empty: HTMLElement,
  ) {}

  clear(): void {
    this.assistants.clear();
    this.users.clear();
    this.container.replaceChildren(this.empty);
    this.empty.hidden = false;
  }

  /** Re-render from the server's history (after connect / reconnect), keeping the tags measured here. */
  renderHistory(
    history: HistoryMessage[],
    metaFor: (replyId: string) => TurnMeta | undefined,
    keepReplyId: string | null,
    older?: OlderHistory,
  ): void {
    const kept = keepReplyId ? this.assistants.get(keepReplyId) : undefined;
    this.clear();
    if (older) {
      // `ready` carries only the newest messages: the rest are one click away, in the transcript.
      const link = el("a", { text: "open the transcript", attrs: { href: older.transcriptPath, target: "_blank", rel: "noopener" } });
      const count = `${older.messages} older message${older.messages === 1 ? "" : "s"}`;
      this.append(
        el("div", { className: "older-history", attrs: { "data-testid": "older-history" } }, [document.createTextNode(`${count}: `), link]),
      );
    }
    for (const m of history) this.renderMessage(m, metaFor);
    if (kept && keepReplyId && !this.assistants.has(keepReplyId)) {
      this.container.append(kept.root);
      this.assistants.set(keepReplyId, kept);
      this.empty.hidden = true;
    }
    this.scrollToEnd(true);
  }

  /**
   * One stored message, as the live page and the review page both show it: a user turn, a backchannel
   * note on its reply, or a finished reply (heard text, the unheard rest struck) with its stored tags
   * (and any measured here, from `metaFor`). Returns the reply id of an assistant message.
   */
  renderMessage(m: HistoryMessage, metaFor: (replyId: string) => TurnMeta | undefined = () => undefined): string | null {
    if (m.role === "user" && m.kind === "backchannel" && m.replyId) {
      this.addBackchannel(m.replyId, m.text);
      return null;
    }
    if (m.role === "user") {
      this.addUser(`h${m.id}`, m.text, m.source);
      return null;
    }
    const id = m.replyId ?? `h${m.id}`;
    this.showHeard(id, m.status, m.text, m.plannedText ?? m.text);
    this.setMeta(id, { ...storedMeta(m.meta), ...metaFor(id), status: m.status });
    return id;
  }

  /** A turn that failed before anything of it was kept (no reply message): its error, where it happened. */
  addFailedTurn(replyId: string, errorCode: string | null): void {
    this.showHeard(replyId, "failed", "", "");
    this.setMeta(replyId, { status: "failed", ...(errorCode ? { errorCode } : {}) });
  }

  /** Show `node` under the reply (replacing what was there). */
  setDetails(replyId: string, node: Node): void {
    const turn = this.assistants.get(replyId);
    if (!turn) return;
    turn.details.replaceChildren(node);
    turn.details.hidden = false;
  }

  /** A user turn (spoken or typed). The same turnId again updates its text. */
  addUser(turnId: string, text: string, source: "voice" | "text", pending = false): HTMLElement {
    let root = this.users.get(turnId);
    if (!root) {
      root = el("div", { className: "turn user", attrs: { "data-testid": "user-message", "data-source": source } }, [
        el("div", { className: "bubble" }),
        el("div", { className: "voice-source", text: source === "voice" ? "spoken" : "typed" }),
      ]);
      this.users.set(turnId, root);
      // A reply placeholder ("Thinking…") may already be shown: the user's words go above it.
      const last = this.container.lastElementChild as HTMLElement | null;
      if (
        last?.classList.contains("assistant") &&
        last.classList.contains("streaming") &&
        !last.textContent?.replace("Thinking…", "").trim()
      ) {
        last.before(root);
      } else {
        this.append(root);
      }
    }
    root.classList.toggle("pending", pending);
    root.querySelector(".bubble")!.textContent = text;
    this.scrollToEnd();
    return root;
  }

  /** Live caption of what the user is saying (streaming recognition): one bubble, updated in place. */
  showCaption(text: string): void {
    const root = this.addUser(CAPTION_ID, text, "voice");
    root.classList.add("caption");
    // Not a message yet: only the turn's transcript makes it one.
    root.dataset.testid = "user-caption";
  }

  /** The spoken turn's transcript arrived: the caption bubble becomes its message (false if there was none). */
  adoptCaption(turnId: string): boolean {
    const root = this.users.get(CAPTION_ID);
    if (!root) return false;
    this.users.delete(CAPTION_ID);
    this.users.set(turnId, root);
    root.classList.remove("caption");
    root.dataset.testid = "user-message";
    return true;
  }

  /** What was captioned did not become a turn (noise, a backchannel, a cancelled utterance). */
  clearCaption(): void {
    this.users.get(CAPTION_ID)?.remove();
    this.users.delete(CAPTION_ID);
  }

  /** Replace the oldest pending typed bubble with the server's transcript of it. */
  confirmTyped(turnId: string, text: string): boolean {
    for (const [id, root] of this.users) {
      if (root.classList.contains("pending")) {
        this.users.delete(id);
        this.users.set(turnId, root);
        root.classList.remove("pending");
        root.querySelector(".bubble")!.textContent = text;
        return true;
      }
    }
    return false;
  }

  removePending(): void {
    for (const [id, root] of this.users) {
      if (root.classList.contains("pending")) {
        root.remove();
        this.users.delete(id);
      }
    }
  }

  hasAssistant(replyId: string): boolean {
    return this.assistants.has(replyId);
  }

  /** Show that a reply is being prepared (before any text). */
  startAssistant(replyId: string): void {
    const turn = this.ensureAssistant(replyId);
    turn.root.setAttribute("aria-busy", "true");
    if (!turn.text) turn.root.classList.add("thinking-only");
    turn.root.classList.add("streaming");
    this.render(turn);
  }

  appendDelta(replyId: string, delta: string): void {
    const turn = this.ensureAssistant(replyId);
    turn.root.classList.remove("thinking-only");
    turn.root.classList.add("streaming");
    // Screen readers announce the reply once it is complete, not word by word.
    turn.root.setAttribute("aria-busy", "true");
    turn.text += delta;
    this.render(turn);
    this.scrollToEnd();
  }

  /** A segment with this text started playing: mark it spoken. */
  markSpoken(replyId: string, segmentText: string): void {
    const turn = this.assistants.get(replyId);
    if (!turn) return;
    const needle = segmentText.trim();
    if (!needle) return;
    let at = turn.text.indexOf(needle, Math.max(0, turn.spokenEnd - 1));
    if (at < 0) at = turn.text.indexOf(needle);
    if (at >= 0) turn.spokenEnd = Math.max(turn.spokenEnd, at + needle.length);
    else turn.spokenEnd = Math.min(turn.text.length, turn.spokenEnd + needle.length + 1); // text differs slightly
    this.render(turn);
  }

  /** All of the reply has been heard. */
  markAllSpoken(replyId: string): void {
    const turn = this.assistants.get(replyId);
    if (!turn) return;
    turn.spokenEnd = turn.text.length;
    this.render(turn);
  }

  /**
   * Generation of the reply ended. Complete: its whole text (the spoken highlight keeps following
   * playback while `audioPlaying`). Cut or failed: `text` is what the server kept so far.
   */
  generationDone(replyId: string, status: MessageStatus, text: string, meta: TurnMeta, audioPlaying: boolean): void {
    const turn = this.ensureAssistant(replyId);
    turn.root.removeAttribute("aria-busy");
    turn.root.classList.remove("streaming", "thinking-only");
    if (status === "complete") {
      if (text) turn.text = text;
      if (!audioPlaying) turn.spokenEnd = turn.text.length;
      this.render(turn);
      this.setMeta(replyId, { ...meta, status });
    } else {
      // `text` is the planned reply, not what was heard: until `reply-heard` says that, the words
      // playback reached stay spoken and the rest is shown unheard (struck when cut, dimmed when failed).
      if (text) turn.text = text;
      turn.root.classList.remove("paused");
      turn.root.classList.toggle("interrupted", status === "interrupted");
      turn.root.classList.toggle("failed", status === "failed");
      turn.root.dataset.status = status;
      if (!turn.text && status === "failed") turn.text = "(no reply)";
      this.render(turn);
      this.setMeta(replyId, { ...meta, status, paused: false });
    }
  }

  /**
   * What the user heard of a reply whose playback is over, and the planned words they did not hear
   * (struck through when it was cut). The one rendering of a finished reply: live (`reply-heard`,
   * `reply-done`) and reopened (history) alike.
   */
  showHeard(replyId: string, status: MessageStatus, heardText: string, plannedText: string): void {
    const turn = this.ensureAssistant(replyId);
    const split = splitHeard(heardText, plannedText);
    turn.text = split.heard + split.unheard;
    turn.spokenEnd = split.heard.length;
    if (!turn.text && status === "failed") turn.text = "(no reply)";
    turn.root.removeAttribute("aria-busy");
    turn.root.classList.remove("streaming", "thinking-only", "paused");
    turn.root.classList.toggle("interrupted", status === "interrupted");
    turn.root.classList.toggle("failed", status === "failed");
    turn.root.dataset.status = status;
    this.render(turn);
    this.setMeta(replyId, { status, paused: false });
  }

  /** Cut here (Stop, push-to-talk, typed text, a confirmed interruption) before the server says what was heard. */
  markInterrupted(replyId: string): void {
    const turn = this.assistants.get(replyId);
    if (!turn) return;
    turn.root.removeAttribute("aria-busy");
    turn.root.classList.remove("streaming", "thinking-only", "paused");
    turn.root.classList.add("interrupted");
    this.render(turn);
    this.setMeta(replyId, { status: "interrupted", paused: false });
  }

  /** Playback of the reply is held while an interruption is decided (or plays on again). */
  setPaused(replyId: string, paused: boolean): void {
    const turn = this.assistants.get(replyId);
    if (!turn) return;
    turn.root.classList.toggle("paused", paused);
    this.setMeta(replyId, { paused });
  }

  /** "Uh-huh" said over a reply: a small note on that reply, not a turn of its own. */
  addBackchannel(replyId: string, text: string): void {
    const turn = this.ensureAssistant(replyId);
    const note = el("span", {
      className: "backchannel",
      text: `You: ${text}`,
      attrs: { "data-testid": "backchannel", title: "Said while Parley was talking (kept, not answered)" },
    });
    turn.notes.append(note);
    turn.notes.hidden = false;
    this.scrollToEnd();
  }

  setMeta(replyId: string, meta: TurnMeta): void {
    const turn = this.assistants.get(replyId);
    if (!turn) return;
    turn.data = { ...turn.data, ...meta };
    const d = turn.data;
    const parts: Node[] = [];
    if (d.clientFirstAudioMs !== undefined || d.serverFirstAudioMs !== undefined) {
      const first = d.clientFirstAudioMs ?? d.serverFirstAudioMs;
      const tag = el(
        "span",
        {
          className: "tag",
          attrs: { "data-testid": "first-audio", title: "Time from the end of your turn to the first audio of the reply" },
        },
        [document.createTextNode(`First audio ${formatMs(first)}`)],
      );
      if (d.clientFirstAudioMs !== undefined && d.clientFirstAudioMs !== null)
        tag.dataset.clientMs = String(Math.round(d.clientFirstAudioMs));
      if (d.serverFirstAudioMs !== undefined && d.serverFirstAudioMs !== null) {
        tag.dataset.serverMs = String(Math.round(d.serverFirstAudioMs));
        if (d.clientFirstAudioMs !== undefined && d.clientFirstAudioMs !== null) tag.append(` (server ${formatMs(d.serverFirstAudioMs)})`);
      }
      parts.push(tag);
    }
    if (d.usd !== undefined) {
      parts.push(
        el("span", {
          className: "tag",
          text: `${formatUsd(d.usd)}${d.neurons !== undefined ? ` · ${Math.round(d.neurons).toLocaleString("en-US")} neurons` : ""}`,
          attrs: { "data-testid": "turn-cost", title: "Workers AI cost of this turn" },
        }),
      );
    }
    if (d.backend) {
      parts.push(
        el("span", {
          className: "tag badge",
          text: backendLabel(d.backend),
          attrs: { "data-testid": "turn-backend", "data-backend": backendKind(d.backend), title: `Answered by ${d.backend}` },
        }),
      );
    }
    if (d.paused) parts.push(el("span", { className: "tag status-note paused", text: "Paused", attrs: { "data-testid": "paused-note" } }));
    if (d.status === "interrupted")
      parts.push(el("span", { className: "tag status-note", text: d.endReason === "cancel" ? "Stopped" : "Interrupted" }));
    if (d.status === "failed") {
      const attrs: Record<string, string> = { "data-testid": "turn-failed", title: "This turn failed; the code says where" };
      if (d.errorCode) attrs["data-error-code"] = d.errorCode;
      parts.push(el("span", { className: "tag status-note failed", text: d.errorCode ? `Failed · ${d.errorCode}` : "Failed", attrs }));
    }
    turn.meta.replaceChildren(...parts);
    turn.meta.hidden = parts.length === 0;
  }

  private ensureAssistant(replyId: string): AssistantTurn {
    let turn = this.assistants.get(replyId);
    if (turn) return turn;
    const spoken = el("span", { className: "spoken" });
    const unspoken = el("span", { className: "unspoken" });
    const notes = el("div", { className: "backchannels" });
    notes.hidden = true;
    const meta = el("div", { className: "turn-meta", attrs: { "data-testid": "turn-meta" } });
    meta.hidden = true;
    const details = el("div", { className: "turn-details" });
    details.hidden = true;
    const root = el("div", { className: "turn assistant", attrs: { "data-testid": "assistant-message", "data-reply-id": replyId } }, [
      el("div", { className: "bubble" }, [spoken, unspoken]),
      notes,
      meta,
      details,
    ]);
    turn = { root, spoken, unspoken, notes, meta, details, text: "", spokenEnd: 0, data: {} };
    this.assistants.set(replyId, turn);
    this.append(root);
    return turn;
  }

  private render(turn: AssistantTurn): void {
    if (!turn.text && turn.root.classList.contains("thinking-only")) {
      turn.spoken.textContent = "";
      turn.unspoken.textContent = "Thinking…";
      return;
    }
    const end = Math.min(turn.spokenEnd, turn.text.length);
    turn.spoken.textContent = turn.text.slice(0, end);
    turn.unspoken.textContent = turn.text.slice(end);
  }

  private append(node: HTMLElement): void {
    this.empty.hidden = true;
    if (this.empty.parentElement === this.container && this.container.lastElementChild === this.empty) this.empty.remove();
    this.container.append(node);
  }

  private scrollToEnd(force = false): void {
    const c = this.container;
    const nearBottom = c.scrollHeight - c.scrollTop - c.clientHeight < 160;
    if (force || nearBottom) c.scrollTop = c.scrollHeight;
  }
}
