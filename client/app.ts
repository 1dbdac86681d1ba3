// The app: wiring. It connects the session connection, the audio engine (capture, local speech
// detection, playback) and the views to the domain modules that decide things: the reply tracker
// (what is known per reply), push-to-talk, the latency clock (end of turn -> first audio heard),
// the barge-in controller (pause, confirm, resume) and the shown status. It also exposes the test
// hooks on window.__parley for the end-to-end tests.
import type { HistoryMessage, SegmentEvent, ServerEvent, ServerMessage, SessionMode, SessionState } from "../shared/protocol.ts";
import { AudioEngine } from "./audio/audio-engine.ts";
import { MicError } from "./audio/mic-error.ts";
import { LevelMeter } from "./audio/level-meter.ts";
import type { PlaybackEvent, PlaybackPosition, PlaybackStats } from "./audio/ring-buffer.ts";
import { SpeechDetector, type SpeechEvent } from "./audio/speech-detector.ts";
import type { CaptureToMain } from "./audio/worklet-messages.ts";
import type { ConnectionStatus } from "./connection/connection-status.ts";
import { SessionConnection } from "./connection/session-connection.ts";
import {
  forgetOwnerKey,
  forgetOwnerToken,
  ownerKeyFor,
  rememberOwnerKey,
  rememberOwnerToken,
  storedOperatorKey,
  storedOwnerToken,
} from "./connection/key-store.ts";
import {
  createSession,
  deleteSession,
  exportSession,
  recording,
  review,
  reviewKey,
  transcript,
  type ExportChoice,
} from "./connection/session-api.ts";
import { isReviewPath, reviewKeyFromFragment, reviewPath, sessionFromPath, sessionPath, shareLink } from "./connection/session-url.ts";
import { RecordingPlayer } from "./review/recording-player.ts";
import { renderReview } from "./review/review-page.ts";
import { BargeInController } from "./session/barge-in.ts";
import { ConversationFeed } from "./session/conversation-feed.ts";
import { LatencyClock } from "./session/latency-clock.ts";
import { PushToTalk } from "./session/push-to-talk.ts";
import { ReplyTracker } from "./session/reply-tracker.ts";
import { createTestHooks, type ParleyTestHooks } from "./test-hooks.ts";
import { ConversationView } from "./views/conversation-view.ts";
import { Controls } from "./views/controls.ts";
import { saveFile } from "./views/download.ts";
import { errorBanner, micErrorBanner } from "./views/error-banner.ts";
import { shownStatus, type MicUiState } from "./views/shown-status.ts";
import { Banners, StatusView } from "./views/status.ts";

/** Report playback progress to the server at most this often while playing. */
const PROGRESS_REPORT_MS = 500;
const PING_MS = 25_000;
/** Capture frames are 20 ms. */
const FRAME_MS = 20;
const MODE_KEY = "parley.mode";

declare global {
  interface Window {
    __parley?: ParleyTestHooks;
  }
}

export class App {
  private sessionId: string | null = null;
  /** The owner key of the open session; null when it is open read-only (a share link). */
  private ownerKey: string | null = null;
  private readOnly = false;
  /** The review page is open (read-only, whether by share link or by the owner). */
  private reviewing = false;
  /** The review page's player of turn recordings (with the key the page was opened with). */
  private recordings: RecordingPlayer | null = null;
  /** The review key a share link opened the session with (exports use it). */
  private shareKey: string | null = null;
  /** The review page was opened with the operator key (which must never go into a share link). */
  private operatorRead = false;
  /** Bumped on every navigation, so a slow create or transcript answer cannot open a session the user left. */
  private navigation = 0;
  /** The key was checked over HTTP after the socket kept failing (once per session). */
  private keyChecked = false;
  private mode: SessionMode;
  private connection: SessionConnection | null = null;
  private connStatus: ConnectionStatus = "connecting";
  private notFound = false;
  private serverState: SessionState = "listening";
  private micState: MicUiState = "off";
  private muted = false;
  /** The reply being generated or played. */
  private activeReplyId: string | null = null;
  private lastProgressReport = 0;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  /** The microphone was on when the server closed the idle session: turned on again on resume. */
  private micOnBeforeSleep = false;
  /** Typed while asleep: sent once the session is ready again. */
  private textAfterResume: string | null = null;
  private readonly audio: AudioEngine;
  private readonly detector = new SpeechDetector({ minSpeechMs: 80, silenceMs: 500 });
  private readonly meter = new LevelMeter();
  private readonly replies = new ReplyTracker();
  private readonly feed: ConversationFeed;
  private readonly latency = new LatencyClock();
  private readonly ptt: PushToTalk;
  private readonly bargeIn: BargeInController;
  private readonly view: ConversationView;
  private readonly status: StatusView;
  private readonly banners: Banners;
  private readonly controls: Controls;
  private readonly hooks: ParleyTestHooks;

  constructor() {
    const byId = (id: string) => document.getElementById(id)!;
    this.view = new ConversationView(byId("conversation"), byId("empty"));
    this.feed = new ConversationFeed(this.view, this.replies);
    this.status = new StatusView(byId("state"), byId("models"));
    this.banners = new Banners(byId("banners"));
    const saved = localStorage.getItem(MODE_KEY);
    this.mode = saved === "push-to-talk" ? "push-to-talk" : "hands-free";
    this.controls = new Controls({
      startMic: () => this.inBackground("start the microphone", this.startMic()),
      toggleMute: () => this.setMuted(!this.muted),
      pttDown: () => this.pttDown(),
      pttUp: () => this.pttUp(),
      stop: () => this.inBackground("stop the reply", this.interrupt("stop")),
      setMode: (mode) => this.setMode(mode),
      sendText: (text) => this.sendText(text),
      pickMic: (id) => this.inBackground("switch the microphone", this.startMic(id)),
      newConversation: () => this.newConversation(),
      share: () => this.inBackground("share the conversation", this.share()),
      exportAs: (format) => this.inBackground("export the conversation", this.exportAs(format)),
      deleteConversation: () => this.confirmDelete(),
    });
    this.controls.setMode(this.mode);
    this.controls.setMicState("off");
    this.audio = new AudioEngine({
      event: (ev, at) => this.onPlaybackEvent(ev, at),
      progress: (pos, stats, active) => this.onPlaybackProgress(pos, stats, active),
      decodeError: (h, err) => {
        this.logLine(`decode ${h.replyId}#${h.index} failed: ${String(err)}`);
        this.banners.show("decode", {
          kind: "error",
          title: "Couldn't play part of the reply",
          body: `The ${h.container} audio could not be decoded.`,
        });
      },
      frame: (f) => this.onFrame(f),
      micEnded: () => {
        this.setMicState("blocked");
        this.banners.show("mic", {
          kind: "error",
          title: "The microphone was disconnected",
          actions: [{ label: "Retry", run: () => this.inBackground("start the microphone", this.startMic()) }],
        });
      },
      contextStateChanged: () => this.refresh(),
      log: (line) => this.logLine(line),
    });
    const timers = {
      now: () => performance.now(),
      setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
      clearTimeout: (h: unknown) => clearTimeout(h as number),
    };
    this.ptt = new PushToTalk(
      {
        sendAudio: (pcm) => this.sendFrame(pcm),
        commit: () => !!this.connection?.send({ type: "commit" }),
        committed: (pressedAtMs, releasedAtMs) => this.latency.pushToTalkCommitted(pressedAtMs, releasedAtMs),
      },
      timers,
    );
    this.bargeIn = new BargeInController(
      {
        pause: () => this.pausePlayback(),
        resume: (rewindMs) => this.audio.playback?.resume(rewindMs),
        stop: (replyId) => this.inBackground("stop the interrupted reply", this.stopConfirmed(replyId)),
        send: (report) => {
          this.logLine(
            `barge-in ${report.event} ${report.replyId}#${report.segment} ${report.playedMs.toFixed(0)} ms, speech ${report.speechMs} ms, playing ${report.playingMs} ms`,
          );
          this.connection?.send({ type: "barge-in", ...report });
        },
        learnEcho: () => this.detector.learnEcho(),
        changed: (why) => {
          this.logLine(why);
          this.feed.showPaused(this.bargeIn.pausedReplyId);
          this.refresh();
        },
      },
      timers,
    );
    this.hooks = createTestHooks({
      state: () => this.status.state,
      connection: () => this.connStatus,
      interruptions: this.bargeIn.stats,
      turns: () => this.replies.all().map((r) => r.stats),
      dropConnection: () => this.connection?.dropForTest(),
    });
    window.__parley = this.hooks;
  }

  start(): void {
    window.addEventListener("popstate", () => this.openFromUrl());
    window.addEventListener("hashchange", () => this.openFromUrl());
    // Browsers start audio only after a user gesture: resume on the first one. unlock() fails only when
    // creating the audio failed, which ensure() below reports once.
    const unlock = () => void this.audio.unlock().catch(() => undefined);
    window.addEventListener("pointerdown", unlock, { capture: true });
    window.addEventListener("keydown", unlock, { capture: true });
    navigator.mediaDevices?.addEventListener?.("devicechange", () => this.inBackground("list the microphones", this.refreshDevices()));
    this.audio.ensure().then(
      () => (this.hooks.stats.contextSampleRate = this.audio.sampleRate),
      (err: unknown) => {
        this.logLine(`audio init failed: ${String(err)}`);
        this.banners.show("audio", { kind: "error", title: "Audio is not available in this browser", body: String(err) });
      },
    );
    this.openFromUrl();
    this.refresh();
  }

  // ------------------------------------------------------------------------------------------
  // Session and connection

  private openFromUrl(): void {
    const parsed = sessionFromPath(location.pathname);
    if (parsed.kind === "none") {
      this.inBackground("start a conversation", this.startNewSession("replace"));
      return;
    }
    if (parsed.kind === "invalid") {
      this.navigation++;
      this.closeSession();
      this.view.clear();
      this.showNotFound(`“${parsed.raw.slice(0, 60)}” is not a valid conversation link.`);
      return;
    }
    const shared = reviewKeyFromFragment(location.hash);
    if (shared) {
      this.inBackground("open the conversation", this.openReview(parsed.id, shared, true));
      return;
    }
    const key = ownerKeyFor(localStorage, parsed.id);
    if (key && isReviewPath(location.pathname)) {
      this.inBackground("open the conversation", this.openReview(parsed.id, key, false));
      return;
    }
    // The operator key typed on the conversations page (this tab only) reads any session, phone calls included.
    const operator = storedOperatorKey(sessionStorage);
    if (!key && operator && isReviewPath(location.pathname)) {
      this.inBackground("open the conversation", this.openReview(parsed.id, operator, true, true));
      return;
    }
    if (parsed.id === this.sessionId && !this.readOnly && !this.reviewing) return;
    this.navigation++;
    if (key) return this.openSession(parsed.id, key);
    this.closeSession();
    this.view.clear();
    this.showNotFound(
      "This conversation was started in another browser. Open it there, or ask its owner for a share link.",
      "No access to this conversation",
    );
  }

  /** The server mints the session and its owner key; the key stays in this browser. */
  private async startNewSession(history_: "replace" | "push"): Promise<void> {
    const navigation = ++this.navigation;
    this.closeSession();
    this.feed.clear();
    let created = await createSession(storedOwnerToken(localStorage));
    if (!created.ok && created.code === "bad_owner_token") {
      // A token of another deployment (or an older secret): start a new owner for this browser.
      forgetOwnerToken(localStorage);
      created = await createSession();
    }
    if (navigation !== this.navigation) return;
    if (!created.ok) {
      this.logLine(`create session failed: ${created.code} ${created.message}`);
      this.banners.show("create", {
        kind: "error",
        title: created.code === "rate_limited" ? "Too many new conversations — wait a minute" : "Couldn't start a conversation",
        body: created.message,
        dismissible: false,
        actions: [{ label: "Try again", run: () => this.inBackground("start a conversation", this.startNewSession(history_)) }],
      });
      return;
    }
    this.banners.hide("create");
    const { id, ownerKey } = created.value;
    rememberOwnerKey(localStorage, id, ownerKey);
    rememberOwnerToken(localStorage, created.value.ownerToken);
    const path = sessionPath(id) + location.search;
    if (history_ === "replace") history.replaceState(null, "", path);
    else history.pushState(null, "", path);
    this.openSession(id, ownerKey);
  }

  private openSession(id: string, key: string): void {
    this.closeSession();
    this.notFound = false;
    this.banners.hide("not-found");
    this.sessionId = id;
    this.ownerKey = key;
    this.keyChecked = false;
    this.hooks.sessionId = id;
    this.hooks.sessionKey = key;
    this.feed.clear();
    this.bargeIn.reset();
    this.latency.forget();
    this.activeReplyId = null;
    this.serverState = "listening";
    this.audio.playback?.reset();
    const language = new URLSearchParams(location.search).get("lang") ?? undefined;
    this.connection = new SessionConnection(
      {
        host: location.host,
        sessionId: id,
        key,
        mode: this.mode,
        ...(language && /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/.test(language) ? { language } : {}),
      },
      {
        status: (s, detail) => this.onConnectionStatus(s, detail?.code, detail?.reason, detail?.attempt),
        message: (m) => this.onServerMessage(m),
        segment: (h, audio) => this.onSegment(h, audio),
        protocolError: (d) => this.logLine(`protocol: ${d}`),
      },
    );
    this.connStatus = "connecting";
    this.pingTimer = setInterval(() => this.connection?.send({ type: "ping", t: Date.now() }), PING_MS);
    document.title = "Parley — voice assistant";
    const link = document.getElementById("review-link") as HTMLAnchorElement;
    link.href = reviewPath(id);
    link.hidden = false;
    this.refresh();
  }

  /**
   * The review page (/s/<id>/review): timeline, latency waterfalls and summary, from the stored
   * transcript; no live connection, no microphone, no typing. `shared`: opened by a share link (a
   * review key), read-only; otherwise by the owner, with the owner key kept in this browser.
   * `asOperator`: `key` is the operator key (read-only like a share link, and never put in one).
   */
  private async openReview(id: string, key: string, shared: boolean, asOperator = false): Promise<void> {
    const navigation = ++this.navigation;
    this.closeSession();
    this.notFound = false;
    this.banners.hide("not-found");
    this.readOnly = true;
    this.reviewing = true;
    this.shareKey = shared ? key : null;
    this.operatorRead = asOperator;
    // The owner's review page may delete; a share link may not.
    this.controls.setCanDelete(!shared);
    this.sessionId = id;
    this.ownerKey = shared ? null : key;
    this.hooks.sessionId = id;
    this.feed.clear();
    document.getElementById("dock")!.hidden = true;
    document.title = "Parley — conversation review";
    this.refresh();
    const record = await review(id, key);
    if (navigation !== this.navigation) return;
    if (!record.ok) {
      const why =
        record.code === "key_revoked"
          ? "Its owner revoked this share link."
          : record.code === "bad_key"
            ? "This share link is not valid."
            : record.code === "not_found"
              ? "Its owner deleted this conversation."
              : `The server answered: ${record.message}`;
      this.showNotFound(why, "Can't open this shared conversation");
      return;
    }
    this.recordings = new RecordingPlayer((turnId, kind) => recording(id, key, turnId, kind), document.body);
    renderReview(
      record.value,
      this.view,
      document.getElementById("review-summary")!,
      { live: shared ? null : sessionPath(id) },
      this.recordings,
    );
    if (shared)
      this.banners.show("read-only", {
        kind: "info",
        title: asOperator ? "Read with the operator key (read-only)" : "A shared conversation (read-only)",
        body: asOperator ? "You can read it and export it, not join it or delete it." : "You can read it, not join it.",
        dismissible: false,
        actions: [{ label: "Start your own", run: () => this.newConversation() }],
      });
    this.refresh();
  }

  private closeSession(): void {
    if (this.audio.playback?.active) this.inBackground("stop playback", this.audio.playback.stop());
    this.recordings?.dispose();
    this.recordings = null;
    this.connection?.close();
    this.connection = null;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.sessionId = null;
    this.ownerKey = null;
    this.readOnly = false;
    this.reviewing = false;
    this.shareKey = null;
    this.operatorRead = false;
    this.controls.setCanDelete(true);
    this.banners.hide("read-only");
    this.banners.hide("delete");
    document.getElementById("dock")!.hidden = false;
    document.getElementById("review-summary")!.hidden = true;
    (document.getElementById("review-link") as HTMLAnchorElement).hidden = true;
  }

  private newConversation(): void {
    this.inBackground("start a conversation", this.startNewSession("push"));
    this.controls.focusInput();
  }

  private showNotFound(body: string, title = "Session not found"): void {
    this.notFound = true;
    document.getElementById("empty")!.hidden = true;
    this.banners.show("not-found", {
      kind: "error",
      title,
      body,
      dismissible: false,
      actions: [{ label: "New conversation", run: () => this.newConversation() }],
    });
    this.refresh();
  }

  /**
   * A socket that keeps failing may be refused (the key no longer accepted, e.g. the server's secret
   * changed): a browser cannot see why, so ask the HTTP API once with the same key.
   */
  private async checkKey(): Promise<void> {
    const id = this.sessionId;
    const key = this.ownerKey;
    if (!id || !key || this.keyChecked) return;
    this.keyChecked = true;
    const res = await transcript(id, key);
    if (res.ok || this.sessionId !== id) return;
    this.logLine(`session key check: ${res.code} ${res.message}`);
    if (res.code === "not_found") {
      this.closeSession();
      this.showNotFound("This conversation was deleted. Start a new one.");
    } else if (
      res.code === "bad_key" ||
      res.code === "key_required" ||
      res.code === "key_revoked" ||
      res.code === "origin_forbidden" ||
      res.code === "access_denied"
    ) {
      this.closeSession();
      this.showNotFound(
        `The server no longer accepts this browser's key for the conversation (${res.message}).`,
        "No access to this conversation",
      );
    }
  }

  private onConnectionStatus(status: ConnectionStatus, code?: number, reason?: string, attempt = 0): void {
    const was = this.connStatus;
    this.connStatus = status;
    this.logLine(`connection ${status}${code ? ` (${code}${reason ? ` ${reason}` : ""})` : ""}`);
    if (status === "not-found") {
      this.showNotFound("This conversation does not exist (or it was deleted). Start a new one.");
    } else if (status === "reconnecting") {
      this.ptt.cancel();
      this.resetDetector();
      this.bargeIn.connectionLost();
      this.banners.show("connection", {
        kind: "info",
        title: "Connection lost — reconnecting…",
        body: "Your microphone is not being sent until the connection is back.",
        dismissible: false,
      });
    } else if (status === "asleep") {
      this.ptt.cancel();
      this.resetDetector();
      this.bargeIn.connectionLost();
      // Nothing is sent while asleep: release the microphone too.
      this.micOnBeforeSleep = this.audio.micRunning;
      if (this.micOnBeforeSleep) {
        this.audio.stopMic();
        this.setMicState("off");
      }
      this.banners.show("connection", {
        kind: "info",
        title: "Paused — nobody spoke for a while",
        body: "The connection was closed so that an open tab costs nothing. The conversation is kept; talking, typing or Resume picks it up again.",
        dismissible: false,
        actions: [{ label: "Resume", run: () => this.resume() }],
      });
    } else if (status === "ready") {
      this.banners.hide("connection");
      if (was === "reconnecting") this.logLine("reconnected");
      const text = this.textAfterResume;
      this.textAfterResume = null;
      if (text !== null) this.sendText(text);
    } else if (status === "connecting" && was === "connecting" && this.connection && this.connection.status === "connecting") {
      if (attempt >= 2) this.inBackground("check the session key", this.checkKey());
      this.banners.show("connection", { kind: "info", title: "Can't reach the server yet — retrying…", dismissible: false });
    }
    this.refresh();
  }

  /** Connect again after the server closed the idle session; the microphone comes back if it was on. */
  private resume(): void {
    if (this.connStatus !== "asleep") return;
    this.banners.hide("connection");
    this.connection?.resume();
    if (this.micOnBeforeSleep) this.inBackground("start the microphone", this.startMic());
  }

  private onServerMessage(m: ServerMessage): void {
    switch (m.type) {
      case "ready":
        this.onReady(m);
        break;
      case "state":
        if (m.state === "listening") this.feed.captionDone();
        this.onState(m.state, m.replyId);
        break;
      case "transcript":
        this.feed.transcript(m);
        break;
      case "user-partial":
        this.feed.caption(m);
        break;
      case "reply-delta":
        if (this.feed.delta(m)) this.activeReplyId = m.replyId;
        break;
      case "reply-done":
        this.onReplyDone(m);
        break;
      case "interruption":
        this.logLine(`interruption ${m.decision} (${m.reason}) ${m.replyId}${m.transcript ? `: "${m.transcript}"` : ""}`);
        this.bargeIn.decision(m.replyId, m.decision, m.reason, this.audio.nowMs);
        break;
      case "reply-heard":
        this.feed.replyHeard(m);
        this.logLine(`reply-heard ${m.replyId} ${m.status} (${m.endReason}): ${m.text.length} of ${m.plannedText.length} characters heard`);
        break;
      case "error": {
        this.logLine(`error ${m.code}: ${m.message}`);
        const b = errorBanner(m.code, m.message, m.retryable);
        this.banners.show(b.key, { kind: "error", title: b.title, body: b.body });
        break;
      }
      case "pong":
        if (m.t) this.logLine(`rtt ${Date.now() - m.t} ms`);
        break;
      case "segment":
        break; // paired with its audio by the connection
    }
    this.refresh();
  }

  private onReady(m: ServerEvent<"ready">): void {
    this.serverState = m.state;
    this.status.setModels(m.models, m.aiBackend);
    this.detector.setSustainMs(m.turnTaking.minInterruptionMs);
    this.bargeIn.configure(m.turnTaking);
    // Local audio still playing from before a reconnect: keep it only if the server still
    // considers that reply live or complete; otherwise it was cut and must not keep talking.
    const playback = this.audio.playback;
    const playing = playback?.active ? playback.position?.replyId : undefined;
    if (playing && playing !== m.activeReplyId) {
      const stored = m.history.find((h: HistoryMessage) => h.replyId === playing);
      if (playback && (!stored || stored.status !== "complete")) this.inBackground("stop playback", playback.stop([playing]));
    }
    this.activeReplyId = m.activeReplyId;
    this.feed.history(m.history, m.activeReplyId, m.olderHistory);
    this.bargeIn.serverState(m.state, m.activeReplyId ?? undefined, this.hearsUser());
    this.feed.showPaused(this.bargeIn.pausedReplyId);
  }

  private onState(state: SessionState, replyId?: string): void {
    const previous = this.serverState;
    this.logLine(`state ${state}${replyId ? ` ${replyId}` : ""} (ctx ${(this.audio.nowMs / 1000).toFixed(3)})`);
    this.serverState = state;
    // A reply not seen before starts: the user's turn is over. (Thinking again for the same reply
    // after a dismissed interruption is not a new turn.)
    const newTurn = state === "thinking" && (replyId ? !this.replies.get(replyId) : previous !== "thinking");
    if (newTurn) {
      if (this.audio.sampleRate !== null) this.replies.turnEnded(replyId, this.latency.turnClosed(this.audio.nowMs));
      this.banners.hide("ai-error");
    }
    if (replyId && (state === "thinking" || state === "speaking") && !this.replies.isCut(replyId)) {
      this.activeReplyId = replyId;
      this.feed.replyStarted(replyId);
    }
    this.bargeIn.serverState(state, replyId, this.hearsUser());
  }

  private onReplyDone(m: ServerEvent<"reply-done">): void {
    const playback = this.audio.playback;
    this.feed.replyDone(m, !!playback?.active);
    playback?.endReply(m.replyId);
    if (this.activeReplyId === m.replyId) this.activeReplyId = null;
  }

  // ------------------------------------------------------------------------------------------
  // Microphone

  private async startMic(deviceId?: string): Promise<void> {
    if (this.connStatus === "asleep") {
      this.micOnBeforeSleep = false; // started here, not by resume()
      this.resume();
    }
    try {
      await this.audio.unlock();
    } catch {
      return; // reported when audio was created
    }
    this.setMicState("starting");
    try {
      await this.audio.startMic(deviceId, this.muted);
      this.resetDetector();
      this.meter.reset();
      this.banners.hide("mic");
      this.setMicState(this.muted ? "muted" : "on");
      await this.refreshDevices();
    } catch (err) {
      this.setMicState("blocked");
      const kind = err instanceof MicError ? err.kind : "other";
      const { title, body } = micErrorBanner(kind, err instanceof Error ? err.message : String(err));
      this.banners.show("mic", {
        kind: "error",
        title,
        body,
        actions: [{ label: "Try again", run: () => this.inBackground("start the microphone", this.startMic()) }],
      });
      this.logLine(`mic ${kind}: ${String(err)}`);
    }
  }

  private async refreshDevices(): Promise<void> {
    if (!this.audio.micRunning) return;
    this.controls.setDevices(await this.audio.listInputs(), this.audio.micDeviceId);
  }

  private setMicState(state: MicUiState): void {
    this.micState = state;
    this.controls.setMicState(state);
    if (state !== "on") this.controls.setLevel(0);
    this.refresh();
  }

  private setMuted(muted: boolean): void {
    if (!this.audio.micRunning) return;
    this.muted = muted;
    this.audio.setMuted(muted);
    this.resetDetector();
    this.setMicState(muted ? "muted" : "on");
  }

  /** Forget the speech in progress; an open interruption candidate hears that it ended. */
  private resetDetector(): void {
    if (this.detector.speaking) this.bargeIn.speechEnded((this.detector.frames - this.detector.speechStartFrame) * FRAME_MS);
    this.detector.reset();
  }

  /** Hands-free, unmuted, and the local detector hears the user. */
  private hearsUser(): boolean {
    return this.mode === "hands-free" && !this.muted && this.detector.speaking;
  }

  private onFrame(f: CaptureToMain): void {
    this.hooks.stats.framesCaptured++;
    const rms = this.muted ? 0 : f.rms;
    this.controls.setLevel(this.meter.update(rms, FRAME_MS));
    const wasSpeaking = this.detector.speaking;
    const frameEndMs = f.time * 1000;
    const ev = this.detector.push(rms, this.muted ? 0 : f.playbackRms);
    if (this.detector.lastFrameVoiced && (this.detector.speaking || ev?.type === "start")) this.latency.voiced(frameEndMs);
    if (ev) this.onLocalSpeech(ev, frameEndMs);
    if (wasSpeaking !== this.detector.speaking) this.refresh();
    if (this.mode === "push-to-talk") this.ptt.frame(f.pcm, !!this.connection?.isReady && !this.muted);
    // Only live audio goes upstream: while the session is not ready the frame is dropped (and
    // partysocket queues nothing), never sent late as if it were live.
    else if (!this.muted) this.sendFrame(f.pcm);
  }

  private sendFrame(pcm: ArrayBuffer): boolean {
    if (this.connection?.sendAudio(pcm)) {
      this.hooks.stats.framesSent++;
      return true;
    }
    this.hooks.stats.framesDropped++;
    return false;
  }

  /** The local detector's events drive the client side of barge-in (hands-free only). */
  private onLocalSpeech(ev: SpeechEvent, frameEndMs: number): void {
    const handsFree = this.mode === "hands-free" && !this.muted;
    if (ev.type === "start") {
      if (!handsFree) return;
      // The first voiced frame of the onset began this long before the end of the current frame.
      const speechStartMs = frameEndMs - (this.detector.frames - ev.frame) * FRAME_MS;
      const playback = this.audio.playback;
      const replyId = playback?.audibleReplyId ?? null;
      const audible = replyId && !this.replies.isCut(replyId) ? { replyId, playingMs: this.audibleMs(replyId) } : null;
      this.bargeIn.speechStarted(speechStartMs, audible);
    } else if (ev.type === "sustained") {
      if (handsFree) this.bargeIn.sustained(ev.speechMs);
    } else {
      this.bargeIn.speechEnded((ev.frame - this.detector.speechStartFrame) * FRAME_MS);
    }
  }

  /** How long this reply has been heard so far, ms. */
  private audibleMs(replyId: string): number {
    const pos = this.audio.playback?.position;
    return (this.replies.get(replyId)?.stats.playedMs ?? 0) + (pos?.replyId === replyId ? pos.playedMs : 0);
  }

  // ------------------------------------------------------------------------------------------
  // Interrupting

  /** Hold playback for a barge-in candidate; the controller learns where it went silent. */
  private pausePlayback(): void {
    const playback = this.audio.playback;
    if (!playback) {
      this.bargeIn.playbackPaused(null, this.audio.nowMs);
      return;
    }
    this.inBackground(
      "pause playback",
      playback.pause().then((p) => this.bargeIn.playbackPaused(p?.position ?? null, p ? p.heardAt * 1000 : this.audio.nowMs)),
    );
  }

  /** The server confirmed an interruption: the reply stops for good where it was held. */
  private async stopConfirmed(replyId: string): Promise<void> {
    this.feed.cut(replyId);
    if (this.activeReplyId === replyId) this.activeReplyId = null;
    const playback = this.audio.playback;
    // A decision about a reply not heard here (stale, or already over) must not stop another one.
    if (playback?.holds(replyId)) {
      const pos = await playback.stop([replyId]);
      if (pos) this.reportPlayback(pos, "stopped");
      this.logLine(
        `confirmed interruption: stopped ${pos ? `${pos.replyId}#${pos.segment} at ${pos.playedMs.toFixed(0)} ms` : "(nothing playing)"}`,
      );
    }
    this.refresh();
  }

  /**
   * Stop, a push-to-talk press or typed text interrupt at once: cut playback now (8 ms fade), drop
   * everything queued for the reply, tell the server what was heard (`playback stopped`) and
   * `cancel` the reply.
   */
  private async interrupt(reason: "stop" | "push-to-talk" | "text"): Promise<void> {
    const playback = this.audio.playback;
    const replyId = this.activeReplyId ?? this.bargeIn.pausedReplyId ?? (playback?.active ? playback.position?.replyId : undefined) ?? null;
    if (!this.busy() && replyId === null) return;
    const t0 = performance.now();
    this.bargeIn.abandon();
    if (replyId) this.feed.cut(replyId);
    this.latency.forget();
    const pos = playback ? await playback.stop(replyId ? [replyId] : []) : null;
    this.hooks.stats.lastStopMs = performance.now() - t0;
    this.logLine(
      `interrupt (${reason}): stopped in ${this.hooks.stats.lastStopMs.toFixed(1)} ms at ${pos ? `${pos.replyId}#${pos.segment} ${pos.playedMs.toFixed(0)} ms` : "nothing"}`,
    );
    if (pos) this.reportPlayback(pos, "stopped");
    this.connection?.send({ type: "cancel" });
    if (this.activeReplyId === replyId) this.activeReplyId = null;
    this.refresh();
  }

  /** Is the assistant preparing, playing or holding a reply? */
  private busy(): boolean {
    const s = this.serverState;
    return !!this.audio.playback?.active || s === "thinking" || s === "speaking" || s === "paused";
  }

  // ------------------------------------------------------------------------------------------
  // Push-to-talk, mode, typed input

  private pttDown(): void {
    if (this.mode !== "push-to-talk") return;
    // What is said before the session is ready again is not sent (as after any reconnect).
    if (this.connStatus === "asleep") this.resume();
    this.ptt.press(this.audio.nowMs);
    if (this.muted) this.setMuted(false);
    if (this.busy()) this.inBackground("interrupt the reply", this.interrupt("push-to-talk"));
    this.refresh();
  }

  private pttUp(): void {
    this.ptt.release(this.audio.nowMs);
    this.refresh();
  }

  private setMode(mode: SessionMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    localStorage.setItem(MODE_KEY, mode);
    this.ptt.cancel();
    this.controls.setMode(mode);
    this.connection?.setMode(mode);
    this.refresh();
  }

  private sendText(text: string): boolean {
    if (this.connStatus === "asleep") {
      this.textAfterResume = text;
      this.resume();
      return true;
    }
    if (!this.connection?.isReady) {
      this.banners.show("send", {
        kind: "info",
        title: "Not connected",
        body: "Your message was kept; send it again once the connection is back.",
      });
      return false;
    }
    this.banners.hide("send");
    this.view.addUser(`pending-${Date.now()}`, text, "text", true);
    const send = () => {
      if (this.connection?.send({ type: "text", text })) this.latency.textSent(this.audio.nowMs);
      else this.view.removePending();
    };
    // Typing while the assistant talks interrupts it first (the cancel must precede the new turn).
    if (this.busy()) this.inBackground("interrupt the reply", this.interrupt("text").then(send));
    else send();
    return true;
  }

  // ------------------------------------------------------------------------------------------
  // Playback

  private onSegment(header: SegmentEvent, audio: ArrayBuffer): void {
    if (!this.feed.segment(header)) return;
    this.logLine(
      `segment ${header.replyId}#${header.index} ${header.container} ${header.durationMs} ms (ctx ${(this.audio.nowMs / 1000).toFixed(3)})`,
    );
    if (!this.activeReplyId) this.activeReplyId = header.replyId;
    const playback = this.audio.playback;
    if (!playback) {
      this.logLine("segment arrived before audio was ready; dropped");
      return;
    }
    playback.enqueue(header, audio);
    if (this.audio.suspended) {
      this.banners.show("sound", {
        kind: "info",
        title: "Tap anywhere to turn on sound",
        body: "Your browser is holding back audio until you interact with the page.",
      });
    }
  }

  private onPlaybackEvent(ev: PlaybackEvent, heardAt: number): void {
    this.feed.playback(ev, heardAt * 1000);
    if (ev.type === "segment-start") {
      this.banners.hide("sound");
      if (ev.firstOfReply) {
        // The echo canceller re-converges on each reply: the echo guard assumes a loud echo for a while.
        this.detector.echo.startReply();
        const clientMs = this.replies.get(ev.replyId)?.stats.clientFirstAudioMs;
        // Stored with the turn, so a reload and the review page show what this browser heard.
        if (clientMs !== null && clientMs !== undefined) {
          this.connection?.sendPlayback({
            type: "playback",
            replyId: ev.replyId,
            segment: ev.segment,
            playedMs: 0,
            state: "playing",
            firstAudioMs: Math.round(clientMs),
          });
        }
        this.logLine(
          `first audio of ${ev.replyId}: ${clientMs?.toFixed(0) ?? "?"} ms after end of turn (heard at ctx ${heardAt.toFixed(3)}, output latency ${this.audio.outputLatencyMs.toFixed(1)} ms)`,
        );
      }
    } else if (ev.type === "finished") {
      this.reportPlayback(ev, "finished");
    } else if (ev.type === "underrun") {
      this.logLine(`underrun in ${ev.replyId}: ${ev.gapMs.toFixed(0)} ms gap`);
    } else if (ev.type === "paused" || ev.type === "resumed") {
      this.logLine(`playback ${ev.type} at ${ev.replyId}#${ev.segment} ${ev.playedMs.toFixed(0)} ms (ctx ${heardAt.toFixed(3)})`);
    }
    this.refresh();
  }

  private onPlaybackProgress(pos: PlaybackPosition | null, stats: PlaybackStats, active: boolean): void {
    const sr = this.audio.sampleRate ?? 48_000;
    Object.assign(this.hooks.stats, {
      playedMs: (stats.playedSamples * 1000) / sr,
      underruns: stats.underruns,
      segmentsPlayed: stats.segmentsPlayed,
      repliesFinished: stats.repliesFinished,
      repliesStopped: stats.repliesStopped,
    });
    const now = performance.now();
    // Held playback does not advance: the server knows where it paused from the barge-in report.
    const advancing = active && !this.audio.playback?.paused;
    if (advancing && pos && !this.replies.isCut(pos.replyId) && now - this.lastProgressReport >= PROGRESS_REPORT_MS) {
      this.reportPlayback(pos, "playing");
    }
    this.refresh();
  }

  private reportPlayback(pos: PlaybackPosition, state: "playing" | "stopped" | "finished"): void {
    this.lastProgressReport = performance.now();
    this.connection?.sendPlayback({
      type: "playback",
      replyId: pos.replyId,
      segment: pos.segment,
      playedMs: Math.round(pos.playedMs * 10) / 10,
      state,
    });
  }

  /** Copy a read-only link (the session's current review key in the fragment); the owner can revoke earlier ones. */
  private async share(): Promise<void> {
    const id = this.sessionId;
    if (!id) return;
    if (this.operatorRead) {
      this.banners.show("share", {
        kind: "info",
        title: "No share link from the operator key",
        body: "Only the conversation's owner can share it: the operator key reads sessions, it does not own them.",
      });
      return;
    }
    // A share link's reader passes on the link they have; the owner (live or reviewing) mints one.
    let url = location.href;
    if (this.ownerKey) {
      const grant = await reviewKey(id, this.ownerKey);
      if (!grant.ok) {
        this.banners.show("share", { kind: "error", title: "Couldn't make a share link", body: grant.message });
        return;
      }
      url = shareLink(location.origin, id, grant.value.reviewKey);
    }
    const actions = !this.ownerKey
      ? []
      : [{ label: "Revoke earlier links", run: () => this.inBackground("revoke the links", this.revokeShareLinks()) }];
    const about = "Anyone with this link can read this conversation, but not join it or talk in it.";
    try {
      await navigator.clipboard.writeText(url);
      this.banners.show("share", { kind: "info", title: "Read-only link copied", body: about, actions });
    } catch {
      this.banners.show("share", { kind: "info", title: "Share this read-only link", body: `${url}\n${about}`, actions });
    }
  }

  /** Download the conversation in one of the export formats (with the owner's key, or a share link's). */
  private async exportAs(format: ExportChoice): Promise<void> {
    const id = this.sessionId;
    const key = this.ownerKey ?? this.shareKey;
    if (!id || !key) return;
    const file = await exportSession(id, key, format);
    if (file.ok) saveFile(file.value.blob, file.value.fileName);
    else this.banners.show("export", { kind: "error", title: "Couldn't export this conversation", body: file.message });
  }

  /** Deleting is for good: the owner confirms first. */
  private confirmDelete(): void {
    if (!this.sessionId || !this.ownerKey) return;
    this.banners.show("delete", {
      kind: "error",
      title: "Delete this conversation for good?",
      body: "Its messages, timings and costs are deleted, and every share link stops working. This cannot be undone.",
      actions: [
        { label: "Delete", run: () => this.inBackground("delete the conversation", this.deleteConversation()) },
        { label: "Cancel", run: () => this.banners.hide("delete") },
      ],
    });
  }

  private async deleteConversation(): Promise<void> {
    const id = this.sessionId;
    const key = this.ownerKey;
    if (!id || !key) return;
    this.banners.hide("delete");
    // Our own socket goes first, so the server closing it (4404) is not shown as "not found".
    this.closeSession();
    const res = await deleteSession(id, key);
    if (!res.ok && res.code !== "not_found") {
      this.openSession(id, key);
      this.banners.show("delete", { kind: "error", title: "Couldn't delete this conversation", body: res.message });
      return;
    }
    forgetOwnerKey(localStorage, id);
    await this.startNewSession("replace");
    this.banners.show("deleted", {
      kind: "info",
      title: "Conversation deleted",
      body: "It is gone from the server, with its share links. This is a new conversation.",
    });
  }

  /** Rotate the session's review version: every share link given out so far stops working. */
  private async revokeShareLinks(): Promise<void> {
    if (!this.sessionId || !this.ownerKey) return;
    const rotated = await reviewKey(this.sessionId, this.ownerKey, true);
    this.banners.show(
      "share",
      rotated.ok
        ? { kind: "info", title: "Earlier share links no longer work", body: "Copy a new link to share this conversation again." }
        : { kind: "error", title: "Couldn't revoke share links", body: rotated.message },
    );
  }

  // ------------------------------------------------------------------------------------------
  // View state

  private refresh(): void {
    const shown = shownStatus({
      notFound: this.notFound,
      readOnly: this.readOnly,
      ownerReview: this.reviewing && this.ownerKey !== null,
      operatorReview: this.operatorRead,
      connection: this.connStatus,
      serverState: this.serverState,
      mode: this.mode,
      micState: this.micState,
      pushToTalkHeld: this.ptt.held,
      detectorSpeaking: this.detector.speaking,
      playing: !!this.audio.playback?.active,
      paused: this.bargeIn.paused,
    });
    this.status.show(shown);
    this.controls.setStopEnabled(shown.stopEnabled);
    this.controls.setSendEnabled(!!this.connection?.isReady || this.connStatus === "asleep");
  }

  /**
   * Runs an action started by an event (a click, a message, a timer) without waiting for it. A failure is
   * logged and shown in a banner, never dropped.
   */
  private inBackground(what: string, task: Promise<unknown>): void {
    task.catch((err: unknown) => {
      this.logLine(`couldn't ${what}: ${String(err)}`);
      console.error(`[parley] couldn't ${what}`, err);
      this.banners.show("failure", { kind: "error", title: `Couldn't ${what}`, body: err instanceof Error ? err.message : String(err) });
    });
  }

  private logLine(line: string): void {
    const entry = `${(performance.now() / 1000).toFixed(3)} ${line}`;
    this.hooks.log.push(entry);
    if (this.hooks.log.length > 300) this.hooks.log.shift();
    if (import.meta.env.DEV) console.debug(`[parley] ${line}`);
  }
}
