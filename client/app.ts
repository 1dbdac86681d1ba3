// The app controller: wires the session connection, the audio engine (capture, local speech
// detection, playback) and the views. Owns the per-turn bookkeeping (time to first audio, cost,
// backend), barge-in, push-to-talk and reconnect behaviour, and exposes test hooks on
// window.__parley for the end-to-end test.
import type { ErrorCode, HistoryMessage, ServerMessage, SegmentEvent, SessionMode, SessionState } from "../shared/protocol.ts";
import { MicCapture, MicError } from "./audio/capture.ts";
import { LevelMeter } from "./audio/level-meter.ts";
import { Playback } from "./audio/playback.ts";
import type { PlaybackEvent, PlaybackPosition, PlaybackStats } from "./audio/ring-buffer.ts";
import { SpeechDetector } from "./audio/speech-detector.ts";
import type { CaptureToMain } from "./audio/worklet-messages.ts";
import { SessionConnection, type ConnectionStatus } from "./connection/session-connection.ts";
import { newSessionId, sessionFromPath, sessionPath } from "./connection/session-url.ts";
import type { ParleyTestHooks, TurnStats } from "./test-hooks.ts";
import { ConversationView, type TurnMeta } from "./views/conversation-view.ts";
import { Controls, type MicUiState } from "./views/controls.ts";
import { Banners, StatusView } from "./views/status.ts";

/** Report playback progress to the server at most this often while playing. */
const PROGRESS_REPORT_MS = 500;
/** Keep sending this long after push-to-talk is released (people let go while finishing a word). */
const PTT_TAIL_MS = 150;
/**
 * Push-to-talk pre-roll: the 300 ms before the press go with the turn (people start talking a hair
 * before they press; the server's VAD also learns the room's noise floor from it). Only audio
 * captured while connected, right before the press: never stale audio.
 */
const PTT_PRE_ROLL_FRAMES = 15;
const PING_MS = 25_000;
const MODE_KEY = "parley.mode";

declare global {
  interface Window {
    __parley?: ParleyTestHooks;
  }
}

const ERROR_TITLES: Partial<Record<ErrorCode, string>> = {
  stt_failed: "Speech recognition failed",
  llm_failed: "The language model failed",
  tts_failed: "Speech synthesis failed",
  ai_capacity: "Workers AI is over capacity",
  ai_quota: "Workers AI daily allocation used up",
  ai_too_large: "The request was too large for Workers AI",
  ai_timeout: "Workers AI timed out",
  ai_unavailable: "Workers AI is unavailable",
  ai_stream_broken: "The AI stream broke off",
  budget_exceeded: "Spending limit reached",
  rate_limited: "Too many messages",
  unsupported_protocol: "This page is out of date",
  internal: "Server error",
};

export class App {
  private sessionId: string | null = null;
  private mode: SessionMode;
  private connection: SessionConnection | null = null;
  private connStatus: ConnectionStatus = "connecting";
  private notFound = false;
  private serverState: SessionState = "listening";
  private ctx: AudioContext | null = null;
  private audioReady: Promise<void> | null = null;
  private playback: Playback | null = null;
  private capture: MicCapture | null = null;
  private readonly detector = new SpeechDetector({ onsetMs: 80, hangoverMs: 500 });
  private readonly meter = new LevelMeter();
  private micState: MicUiState = "off";
  private muted = false;
  private pttHeld = false;
  private pttTailUntil = 0;
  private pttCommitTimer: ReturnType<typeof setTimeout> | null = null;
  private pttSentFrames = 0;
  private pttPreRoll: ArrayBuffer[] = [];
  private pttPressedAt: number | null = null;
  private activeReplyId: string | null = null;
  private readonly cancelled = new Set<string>();
  private readonly segmentTexts = new Map<string, Map<number, string>>();
  private readonly meta = new Map<string, TurnMeta>();
  private readonly turns = new Map<string, TurnStats>();
  /** AudioContext time at which the user's latest turn ended, until its reply's first audio. */
  private turnEndAt: number | null = null;
  /** Per reply (by id; "" when the server gave none): when the user's turn it answers ended. */
  private readonly turnEnds = new Map<string, number>();
  private lastVoicedAt: number | null = null;
  /** Capture times (AudioContext seconds, end of frame) of recent frames, by detector frame index. */
  private readonly frameTimes = new Map<number, number>();
  private lastProgressReport = 0;
  /** AudioContext time at which the last stop became silent (heard). */
  private lastStoppedAt: number | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private readonly view: ConversationView;
  private readonly status: StatusView;
  private readonly banners: Banners;
  private readonly controls: Controls;
  private readonly hooks: ParleyTestHooks;

  constructor() {
    const byId = (id: string) => document.getElementById(id)!;
    this.view = new ConversationView(byId("conversation"), byId("empty"));
    this.status = new StatusView(byId("state"), byId("models"));
    this.banners = new Banners(byId("banners"));
    const saved = localStorage.getItem(MODE_KEY);
    this.mode = saved === "push-to-talk" ? "push-to-talk" : "hands-free";
    this.controls = new Controls({
      startMic: () => void this.startMic(),
      toggleMute: () => this.setMuted(!this.muted),
      pttDown: () => this.pttDown(),
      pttUp: () => this.pttUp(),
      stop: () => void this.interrupt("stop"),
      setMode: (mode) => this.setMode(mode),
      sendText: (text) => this.sendText(text),
      pickMic: (id) => void this.startMic(id),
      newConversation: () => this.newConversation(),
      share: () => void this.share(),
    });
    this.controls.setMode(this.mode);
    this.controls.setMicState("off");
    const self = this;
    this.hooks = {
      sessionId: "",
      get state() {
        return self.status.state;
      },
      get connection() {
        return self.connStatus;
      },
      stats: {
        playedMs: 0,
        underruns: 0,
        segmentsPlayed: 0,
        repliesFinished: 0,
        repliesStopped: 0,
        framesCaptured: 0,
        framesSent: 0,
        framesDropped: 0,
        lastStopMs: null,
        lastBargeInMs: null,
        bargeIns: 0,
        contextSampleRate: null,
        turns: [],
      },
      log: [],
      debug: {
        dropConnection: () => this.connection?.dropForTest(),
      },
    };
    window.__parley = this.hooks;
  }

  start(): void {
    window.addEventListener("popstate", () => this.openFromUrl());
    // Browsers start audio only after a user gesture: resume on the first one.
    const unlock = () => {
      void this.ensureAudio().then(() => this.ctx?.resume());
    };
    window.addEventListener("pointerdown", unlock, { capture: true });
    window.addEventListener("keydown", unlock, { capture: true });
    navigator.mediaDevices?.addEventListener?.("devicechange", () => void this.refreshDevices());
    void this.ensureAudio();
    this.openFromUrl();
    this.refresh();
  }

  // ------------------------------------------------------------------------------------------
  // Session and connection

  private openFromUrl(): void {
    const parsed = sessionFromPath(location.pathname);
    if (parsed.kind === "none") {
      const id = newSessionId();
      history.replaceState(null, "", sessionPath(id) + location.search);
      this.openSession(id);
    } else if (parsed.kind === "invalid") {
      this.closeSession();
      this.view.clear();
      this.showNotFound(`“${parsed.raw.slice(0, 60)}” is not a valid conversation link.`);
    } else if (parsed.id !== this.sessionId) {
      this.openSession(parsed.id);
    }
  }

  private openSession(id: string): void {
    this.closeSession();
    this.notFound = false;
    this.banners.hide("not-found");
    this.sessionId = id;
    this.hooks.sessionId = id;
    this.view.clear();
    this.meta.clear();
    this.segmentTexts.clear();
    this.cancelled.clear();
    this.activeReplyId = null;
    this.turnEndAt = null;
    this.turnEnds.clear();
    this.serverState = "listening";
    this.playback?.reset();
    const language = new URLSearchParams(location.search).get("lang") ?? undefined;
    this.connection = new SessionConnection(
      { host: location.host, sessionId: id, mode: this.mode, ...(language && /^[a-z]{2,3}(-[A-Za-z]{2,4})?$/.test(language) ? { language } : {}) },
      {
        status: (s, detail) => this.onConnectionStatus(s, detail?.code, detail?.reason),
        message: (m) => this.onServerMessage(m),
        segment: (h, audio) => this.onSegment(h, audio),
        protocolError: (d) => this.logLine(`protocol: ${d}`),
      },
    );
    this.connStatus = "connecting";
    this.pingTimer = setInterval(() => this.connection?.send({ type: "ping", t: Date.now() }), PING_MS);
    document.title = "Parley — voice assistant";
    this.refresh();
  }

  private closeSession(): void {
    if (this.playback?.active) void this.playback.stop();
    this.connection?.close();
    this.connection = null;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.sessionId = null;
  }

  private newConversation(): void {
    const id = newSessionId();
    history.pushState(null, "", sessionPath(id) + location.search);
    this.openSession(id);
    this.controls.focusInput();
  }

  private showNotFound(body: string): void {
    this.notFound = true;
    document.getElementById("empty")!.hidden = true;
    this.banners.show("not-found", {
      kind: "error",
      title: "Session not found",
      body,
      dismissible: false,
      actions: [{ label: "New conversation", run: () => this.newConversation() }],
    });
    this.refresh();
  }

  private onConnectionStatus(status: ConnectionStatus, code?: number, reason?: string): void {
    const was = this.connStatus;
    this.connStatus = status;
    this.logLine(`connection ${status}${code ? ` (${code}${reason ? ` ${reason}` : ""})` : ""}`);
    if (status === "not-found") {
      this.showNotFound("This conversation does not exist (or it was deleted). Start a new one.");
    } else if (status === "reconnecting") {
      if (this.pttHeld) this.cancelPtt();
      this.detector.reset();
      this.banners.show("connection", {
        kind: "info",
        title: "Connection lost — reconnecting…",
        body: "Your microphone is not being sent until the connection is back.",
        dismissible: false,
      });
    } else if (status === "ready") {
      this.banners.hide("connection");
      if (was === "reconnecting") this.logLine("reconnected");
    } else if (status === "connecting" && was === "connecting" && this.connection && this.connection.status === "connecting") {
      this.banners.show("connection", { kind: "info", title: "Can't reach the server yet — retrying…", dismissible: false });
    }
    this.refresh();
  }

  private onServerMessage(m: ServerMessage): void {
    switch (m.type) {
      case "ready":
        this.onReady(m.history, m.state, m.activeReplyId, m.models, m.aiBackend);
        break;
      case "state":
        this.onState(m.state, m.replyId);
        break;
      case "transcript":
        if (m.source === "text") {
          if (!this.view.confirmTyped(m.turnId, m.text)) this.view.addUser(m.turnId, m.text, "text");
        } else {
          this.view.addUser(m.turnId, m.text, "voice");
        }
        break;
      case "reply-delta":
        if (this.cancelled.has(m.replyId)) break;
        this.activeReplyId = m.replyId;
        this.view.appendDelta(m.replyId, m.text);
        break;
      case "reply-done":
        this.onReplyDone(m);
        break;
      case "error":
        this.onError(m.code, m.message, m.retryable, m.replyId);
        break;
      case "pong":
        if (m.t) this.logLine(`rtt ${Date.now() - m.t} ms`);
        break;
      case "segment":
        break; // paired with its audio by the connection
    }
    this.refresh();
  }

  private onReady(
    history: HistoryMessage[],
    state: SessionState,
    activeReplyId: string | null,
    models: { stt: string; llm: string; tts: string },
    aiBackend: "workers-ai" | "local" | "fake",
  ): void {
    this.serverState = state;
    this.status.setModels(models, aiBackend);
    // Local audio still playing from before a reconnect: keep it only if the server still
    // considers that reply live or complete; otherwise it was cut and must not keep talking.
    const playing = this.playback?.active ? this.playback.position?.replyId : undefined;
    if (playing && playing !== activeReplyId) {
      const stored = history.find((h) => h.replyId === playing);
      if (!stored || stored.status !== "complete") void this.playback?.stop([playing]);
    }
    this.activeReplyId = activeReplyId;
    this.view.renderHistory(history, (id) => this.meta.get(id), activeReplyId);
    this.view.removePending();
    if (activeReplyId && !this.view.hasAssistant(activeReplyId)) this.view.startAssistant(activeReplyId);
  }

  private onState(state: SessionState, replyId?: string): void {
    const previous = this.serverState;
    this.logLine(`state ${state}${replyId ? ` ${replyId}` : ""} (ctx ${this.ctx?.currentTime.toFixed(3)}, last voiced ${this.lastVoicedAt?.toFixed(3)})`);
    this.serverState = state;
    if (state === "thinking" && previous !== "thinking") {
      // The user's turn is over: remember when it ended (end of speech, push-to-talk release or
      // typed send) for the reply's time to first audio. Stale marks (a commit that produced no
      // turn, say) are ignored.
      const now = this.ctx?.currentTime ?? null;
      const fresh = (t: number | null): t is number => t !== null && now !== null && now - t < 10;
      const end = fresh(this.turnEndAt) ? this.turnEndAt : fresh(this.lastVoicedAt) ? this.lastVoicedAt : now;
      this.turnEndAt = null;
      if (end !== null) this.turnEnds.set(replyId ?? "", end);
      this.banners.hide("ai-error");
    }
    if (replyId && (state === "thinking" || state === "speaking") && !this.cancelled.has(replyId)) {
      this.activeReplyId = replyId;
      if (!this.view.hasAssistant(replyId)) this.view.startAssistant(replyId);
    }
  }

  private onReplyDone(m: Extract<ServerMessage, { type: "reply-done" }>): void {
    // Cut here (barge-in / stop) after the server had finished generating: show it as interrupted.
    const status = m.status === "complete" && this.cancelled.has(m.replyId) ? "interrupted" : m.status;
    const meta: TurnMeta = {
      serverFirstAudioMs: m.metrics.firstAudioMs,
      usd: m.usage.usd,
      neurons: m.usage.neurons,
      backend: m.backend,
      status,
    };
    const prev = this.meta.get(m.replyId);
    if (prev?.clientFirstAudioMs !== undefined) meta.clientFirstAudioMs = prev.clientFirstAudioMs;
    this.meta.set(m.replyId, meta);
    const audioPlaying = !!this.playback?.active && this.segmentTexts.has(m.replyId) && !this.cancelled.has(m.replyId);
    this.view.finish(m.replyId, status, m.text, meta, audioPlaying);
    const turn = this.turn(m.replyId);
    turn.status = status;
    turn.serverFirstAudioMs = m.metrics.firstAudioMs;
    turn.backend = m.backend;
    turn.usd = m.usage.usd;
    this.playback?.endReply(m.replyId);
    if (this.activeReplyId === m.replyId) this.activeReplyId = null;
    // A reply with no audio at all (failed, or interrupted before speaking) ends the turn here.
    if (!this.segmentTexts.has(m.replyId)) this.turnEnds.delete(m.replyId);
  }

  private onError(code: ErrorCode, message: string, retryable: boolean, replyId?: string): void {
    this.logLine(`error ${code}: ${message}`);
    const ai = code.startsWith("ai_") || code.endsWith("_failed") || code === "budget_exceeded";
    const title = ERROR_TITLES[code] ?? (ai ? "The AI had a problem" : "The server rejected a message");
    this.banners.show(ai ? "ai-error" : "error", {
      kind: "error",
      title,
      body: `${message}${retryable ? " — you can try again." : ""}`,
    });
  }

  // ------------------------------------------------------------------------------------------
  // Audio

  private ensureAudio(): Promise<void> {
    if (!this.audioReady) {
      this.audioReady = (async () => {
        const ctx = new AudioContext({ latencyHint: "interactive" });
        this.ctx = ctx;
        this.hooks.stats.contextSampleRate = ctx.sampleRate;
        this.logLine(`audio context ${ctx.sampleRate} Hz, base latency ${(ctx.baseLatency * 1000).toFixed(1)} ms, output latency ${((ctx.outputLatency || 0) * 1000).toFixed(1)} ms`);
        ctx.addEventListener("statechange", () => this.refresh());
        const playback = new Playback(ctx, {
          event: (ev, at) => this.onPlaybackEvent(ev, at),
          progress: (pos, stats, active) => this.onPlaybackProgress(pos, stats, active),
          decodeError: (h, err) => {
            this.logLine(`decode ${h.replyId}#${h.index} failed: ${String(err)}`);
            this.banners.show("decode", { kind: "error", title: "Couldn't play part of the reply", body: `The ${h.container} audio could not be decoded.` });
          },
        });
        await playback.init();
        this.playback = playback;
        this.capture = new MicCapture(
          ctx,
          (f) => this.onFrame(f),
          () => {
            this.setMicState("blocked");
            this.banners.show("mic", { kind: "error", title: "The microphone was disconnected", actions: [{ label: "Retry", run: () => void this.startMic() }] });
          },
        );
      })();
      this.audioReady.catch((err) => {
        this.logLine(`audio init failed: ${String(err)}`);
        this.banners.show("audio", { kind: "error", title: "Audio is not available in this browser", body: String(err) });
      });
    }
    return this.audioReady;
  }

  private async startMic(deviceId?: string): Promise<void> {
    try {
      await this.ensureAudio();
    } catch {
      return;
    }
    await this.ctx!.resume().catch(() => undefined);
    this.setMicState("starting");
    try {
      await this.capture!.start(deviceId);
      this.capture!.setMuted(this.muted);
      this.detector.reset();
      this.meter.reset();
      this.banners.hide("mic");
      this.setMicState(this.muted ? "muted" : "on");
      await this.refreshDevices();
    } catch (err) {
      this.setMicState("blocked");
      const kind = err instanceof MicError ? err.kind : "other";
      const text: Record<string, [string, string]> = {
        denied: ["Microphone access is blocked", "Allow the microphone for this site in your browser's settings, then try again. You can still type."],
        "no-device": ["No microphone found", "Connect a microphone and try again. You can still type."],
        busy: ["The microphone is busy", "Another app may be using it. Close it and try again."],
        insecure: ["The microphone needs a secure page", "Open Parley over https (or on localhost)."],
        unsupported: ["This browser cannot record audio", "Try a current Chrome, Edge, Firefox or Safari. You can still type."],
        other: ["Couldn't start the microphone", String(err instanceof Error ? err.message : err)],
      };
      const [title, body] = text[kind] ?? text.other!;
      this.banners.show("mic", { kind: "error", title, body, actions: [{ label: "Try again", run: () => void this.startMic() }] });
      this.logLine(`mic ${kind}: ${String(err)}`);
    }
  }

  private async refreshDevices(): Promise<void> {
    if (!this.capture?.running) return;
    const devices = await MicCapture.listInputs();
    this.controls.setDevices(devices, this.capture.deviceId);
  }

  private setMicState(state: MicUiState): void {
    this.micState = state;
    this.controls.setMicState(state);
    if (state !== "on") this.controls.setLevel(0);
    this.refresh();
  }

  private setMuted(muted: boolean): void {
    if (!this.capture?.running) return;
    this.muted = muted;
    this.capture.setMuted(muted);
    this.detector.reset();
    this.setMicState(muted ? "muted" : "on");
  }

  private onFrame(f: CaptureToMain): void {
    this.hooks.stats.framesCaptured++;
    const rms = this.muted ? 0 : f.rms;
    this.controls.setLevel(this.meter.update(rms, 20));
    const wasSpeaking = this.detector.speaking;
    this.frameTimes.set(this.detector.frames, f.time);
    this.frameTimes.delete(this.detector.frames - 50);
    const ev = this.detector.push(rms);
    if (this.detector.lastFrameVoiced && (this.detector.speaking || ev?.type === "start")) this.lastVoicedAt = f.time;
    if (ev?.type === "start") {
      // The onset's first voiced frame began 20 ms before its end time.
      const onsetEnd = this.frameTimes.get(ev.frame);
      this.onLocalSpeechStart(onsetEnd !== undefined ? onsetEnd - 0.02 : f.time);
    }
    if (wasSpeaking !== this.detector.speaking) this.refresh();
    if (this.mode === "push-to-talk" && !this.wantsToSendAudio()) {
      // Keep the last moments before a press: they are sent as the turn's pre-roll.
      if (this.connection?.isReady && !this.muted) {
        this.pttPreRoll.push(f.pcm);
        if (this.pttPreRoll.length > PTT_PRE_ROLL_FRAMES) this.pttPreRoll.shift();
      } else {
        this.pttPreRoll = [];
      }
      return;
    }
    if (this.wantsToSendAudio()) {
      // Only live audio goes upstream: while the session is not ready the frame is dropped here
      // (and partysocket queues nothing), never sent late as if it were live.
      if (this.connection?.sendAudio(f.pcm)) {
        this.hooks.stats.framesSent++;
        if (this.mode === "push-to-talk") this.pttSentFrames++;
      } else {
        this.hooks.stats.framesDropped++;
      }
    }
  }

  private wantsToSendAudio(): boolean {
    if (this.muted) return false;
    if (this.mode === "hands-free") return true;
    return this.pttHeld || performance.now() < this.pttTailUntil;
  }

  /** Local speech detection fired. In hands-free mode, talking over the assistant stops it. */
  private onLocalSpeechStart(speechStartedAt: number): void {
    if (this.mode !== "hands-free" || this.muted) return;
    if (this.playback?.active) void this.interrupt("speech", speechStartedAt);
  }

  /**
   * Barge-in / stop: cut playback now (8 ms fade), drop everything queued for the reply, tell the
   * server what was heard (`playback stopped`) and `cancel` the reply.
   */
  private async interrupt(reason: "speech" | "stop" | "push-to-talk", speechStartedAt?: number): Promise<void> {
    const replyId = this.activeReplyId ?? (this.playback?.active ? this.playback.position?.replyId : undefined) ?? null;
    const wasBusy = this.serverState === "thinking" || this.serverState === "speaking" || replyId !== null || !!this.playback?.active;
    if (!wasBusy) return;
    const t0 = performance.now();
    this.lastStoppedAt = null;
    if (replyId) {
      this.cancelled.add(replyId);
      this.view.markInterrupted(replyId);
    }
    this.turnEndAt = null;
    const pos = this.playback ? await this.playback.stop(replyId ? [replyId] : []) : null;
    this.hooks.stats.lastStopMs = performance.now() - t0;
    if (reason === "speech" && speechStartedAt !== undefined && pos && this.lastStoppedAt !== null) {
      this.hooks.stats.lastBargeInMs = (this.lastStoppedAt - speechStartedAt) * 1000;
      this.hooks.stats.bargeIns++;
    }
    this.logLine(`interrupt (${reason}): stopped in ${this.hooks.stats.lastStopMs.toFixed(1)} ms${reason === "speech" ? ` (${this.hooks.stats.lastBargeInMs?.toFixed(0)} ms after speech began)` : ""} at ${pos ? `${pos.replyId}#${pos.segment} ${pos.playedMs.toFixed(0)} ms` : "nothing"}`);
    if (pos) this.reportPlayback(pos, "stopped");
    this.connection?.send({ type: "cancel" });
    if (this.activeReplyId === replyId) this.activeReplyId = null;
    this.refresh();
  }

  private pttDown(): void {
    if (this.mode !== "push-to-talk") return;
    if (this.pttCommitTimer) {
      // Pressed again during the tail of the previous press: it continues the same turn.
      clearTimeout(this.pttCommitTimer);
      this.pttCommitTimer = null;
    } else {
      this.pttSentFrames = 0;
      for (const pcm of this.pttPreRoll) {
        if (this.connection?.sendAudio(pcm)) {
          this.hooks.stats.framesSent++;
          this.pttSentFrames++;
        }
      }
    }
    this.pttPreRoll = [];
    this.pttHeld = true;
    this.pttPressedAt = (this.ctx?.currentTime ?? 0) - (PTT_PRE_ROLL_FRAMES * 20) / 1000;
    if (this.muted) this.setMuted(false);
    if (this.playback?.active || this.serverState === "thinking" || this.serverState === "speaking") void this.interrupt("push-to-talk");
    this.refresh();
  }

  private pttUp(): void {
    if (!this.pttHeld) return;
    this.pttHeld = false;
    this.pttTailUntil = performance.now() + PTT_TAIL_MS;
    const releasedAt = this.ctx?.currentTime ?? null;
    this.pttCommitTimer = setTimeout(() => {
      this.pttCommitTimer = null;
      if (this.pttSentFrames > 0 && this.connection?.send({ type: "commit" })) {
        // Time to first audio counts from the end of speech (or the release, if speech ran on).
        const voiced = this.lastVoicedAt;
        const spokeDuringPress = voiced !== null && this.pttPressedAt !== null && voiced >= this.pttPressedAt;
        this.turnEndAt = spokeDuringPress && releasedAt !== null ? Math.min(voiced, releasedAt) : releasedAt;
      }
      this.pttSentFrames = 0;
    }, PTT_TAIL_MS);
    this.refresh();
  }

  private cancelPtt(): void {
    this.pttPreRoll = [];
    this.pttHeld = false;
    this.pttTailUntil = 0;
    if (this.pttCommitTimer) clearTimeout(this.pttCommitTimer);
    this.pttCommitTimer = null;
    this.pttSentFrames = 0;
  }

  private setMode(mode: SessionMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    localStorage.setItem(MODE_KEY, mode);
    this.cancelPtt();
    this.controls.setMode(mode);
    this.connection?.setMode(mode);
    this.refresh();
  }

  private sendText(text: string): boolean {
    if (!this.connection?.isReady) {
      this.banners.show("send", { kind: "info", title: "Not connected", body: "Your message was kept; send it again once the connection is back." });
      return false;
    }
    this.banners.hide("send");
    this.view.addUser(`pending-${Date.now()}`, text, "text", true);
    const send = () => {
      if (this.connection?.send({ type: "text", text })) this.turnEndAt = this.ctx?.currentTime ?? null;
      else this.view.removePending();
    };
    // Typing while the assistant talks interrupts it first (the cancel must precede the new turn).
    if (this.playback?.active || this.serverState === "thinking" || this.serverState === "speaking") void this.interrupt("stop").then(send);
    else send();
    return true;
  }

  private onSegment(header: SegmentEvent, audio: ArrayBuffer): void {
    if (this.cancelled.has(header.replyId)) return;
    let texts = this.segmentTexts.get(header.replyId);
    if (!texts) {
      texts = new Map();
      this.segmentTexts.set(header.replyId, texts);
      if (this.segmentTexts.size > 50) this.segmentTexts.delete(this.segmentTexts.keys().next().value as string);
    }
    texts.set(header.index, header.text);
    this.logLine(`segment ${header.replyId}#${header.index} ${header.container} ${header.durationMs} ms (ctx ${this.ctx?.currentTime.toFixed(3)})`);
    if (!this.view.hasAssistant(header.replyId)) this.view.startAssistant(header.replyId);
    if (!this.activeReplyId) this.activeReplyId = header.replyId;
    if (!this.playback) {
      this.logLine("segment arrived before audio was ready; dropped");
      return;
    }
    const turn = this.turn(header.replyId);
    turn.expectedMs += header.durationMs;
    turn.segmentsReceived++;
    this.playback.enqueue(header, audio);
    if (this.ctx?.state === "suspended") {
      this.banners.show("sound", { kind: "info", title: "Tap anywhere to turn on sound", body: "Your browser is holding back audio until you interact with the page." });
    }
  }

  private onPlaybackEvent(ev: PlaybackEvent, heardAt: number): void {
    switch (ev.type) {
      case "segment-start": {
        const text = this.segmentTexts.get(ev.replyId)?.get(ev.segment);
        if (text) this.view.markSpoken(ev.replyId, text);
        if (ev.firstOfReply) {
          const turn = this.turn(ev.replyId);
          const end = this.turnEnds.get(ev.replyId) ?? this.turnEnds.get("");
          if (end !== undefined) {
            turn.clientFirstAudioMs = Math.max(0, (heardAt - end) * 1000);
            this.turnEnds.delete(ev.replyId);
            this.turnEnds.delete("");
          }
          const meta = { ...this.meta.get(ev.replyId), clientFirstAudioMs: turn.clientFirstAudioMs };
          this.meta.set(ev.replyId, meta);
          this.view.setMeta(ev.replyId, meta);
          this.logLine(`first audio of ${ev.replyId}: ${turn.clientFirstAudioMs?.toFixed(0) ?? "?"} ms after end of turn (heard at ctx ${heardAt.toFixed(3)}, output latency ${((this.ctx?.outputLatency || 0) * 1000).toFixed(1)} ms)`);
        }
        this.banners.hide("sound");
        break;
      }
      case "segment-end": {
        const turn = this.turn(ev.replyId);
        turn.playedMs += ev.playedMs;
        turn.segmentsPlayed++;
        break;
      }
      case "underrun":
        this.turn(ev.replyId).underruns++;
        this.logLine(`underrun in ${ev.replyId}: ${ev.gapMs.toFixed(0)} ms gap`);
        break;
      case "finished":
        this.view.markAllSpoken(ev.replyId);
        this.reportPlayback(ev, "finished");
        break;
      case "stopped":
        this.lastStoppedAt = heardAt;
        this.turn(ev.replyId).playedMs += ev.playedMs;
        break;
      case "starved":
        break;
    }
    this.refresh();
  }

  private onPlaybackProgress(pos: PlaybackPosition | null, stats: PlaybackStats, active: boolean): void {
    const sr = this.ctx?.sampleRate ?? 48_000;
    Object.assign(this.hooks.stats, {
      playedMs: (stats.playedSamples * 1000) / sr,
      underruns: stats.underruns,
      segmentsPlayed: stats.segmentsPlayed,
      repliesFinished: stats.repliesFinished,
      repliesStopped: stats.repliesStopped,
    });
    const now = performance.now();
    if (active && pos && !this.cancelled.has(pos.replyId) && now - this.lastProgressReport >= PROGRESS_REPORT_MS) {
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

  private turn(replyId: string): TurnStats {
    let t = this.turns.get(replyId);
    if (!t) {
      t = { replyId, clientFirstAudioMs: null, serverFirstAudioMs: null, playedMs: 0, expectedMs: 0, segmentsReceived: 0, segmentsPlayed: 0, underruns: 0 };
      this.turns.set(replyId, t);
      this.hooks.stats.turns.push(t);
      if (this.hooks.stats.turns.length > 100) this.hooks.stats.turns.shift();
    }
    return t;
  }

  private async share(): Promise<void> {
    const url = location.href;
    try {
      await navigator.clipboard.writeText(url);
      this.banners.show("share", { kind: "info", title: "Link copied", body: "Anyone with this link can open this conversation." });
    } catch {
      this.banners.show("share", { kind: "info", title: "Share this link", body: url });
    }
    setTimeout(() => this.banners.hide("share"), 4000);
  }

  // ------------------------------------------------------------------------------------------
  // View state

  private refresh(): void {
    const playing = !!this.playback?.active;
    const s = this.serverState;
    const localSpeech = this.mode === "hands-free" && !this.muted && this.micState === "on" && this.detector.speaking;
    if (this.notFound) this.status.setState("not-found");
    else if (this.connStatus === "connecting" || this.connStatus === "handshake") this.status.setState("connecting");
    else if (this.connStatus === "reconnecting") this.status.setState("reconnecting");
    else if (this.connStatus === "closed") this.status.setState("error", "Disconnected");
    else if (this.pttHeld || s === "user-speaking" || localSpeech) this.status.setState("user-speaking");
    else if (playing || s === "speaking") this.status.setState("speaking");
    else if (s === "thinking") this.status.setState("thinking");
    else if (this.micState === "muted") this.status.setState("muted");
    else if (this.micState === "on") this.status.setState(this.mode === "hands-free" ? "listening" : "idle", this.mode === "hands-free" ? undefined : "Hold Space to talk");
    else if (this.micState === "blocked") this.status.setState("idle", "Ready — type a message");
    else this.status.setState("idle", "Ready — start the mic or type");
    this.controls.setStopEnabled(playing || s === "thinking" || s === "speaking");
    this.controls.setSendEnabled(!!this.connection?.isReady);
  }

  private logLine(line: string): void {
    const entry = `${(performance.now() / 1000).toFixed(3)} ${line}`;
    this.hooks.log.push(entry);
    if (this.hooks.log.length > 300) this.hooks.log.shift();
    if (import.meta.env.DEV) console.debug(`[parley] ${line}`);
  }
}
