// The VoiceSession Durable Object: one per conversation. It wires the pieces together — protocol
// validation, flood limits, turn detection per connection, one turn at a time (a TurnHandle), the
// barge-in candidate (pause, decide, resume), the reply's playback lifecycle — and keeps the
// conversation in SQLite. The algorithms live in their own modules.
import { Server, type Connection, type WSMessage } from "partyserver";
import {
  PROTOCOL_VERSION,
  UPSTREAM_AUDIO,
  checkAudioFrame,
  parseClientMessage,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
  type SessionMode,
  type SessionState,
  type TurnEndReason,
} from "../shared/protocol.ts";
import { pcm16FromBytes } from "./audio/pcm.ts";
import { loadConfig, type ParleyConfig } from "./config.ts";
import { turnCost } from "./cost/cost.ts";
import { BargeIn, type ConfirmingSpeech, type OpenCandidate } from "./interruption/barge-in.ts";
import type { CandidateDecision } from "./interruption/interruption-candidate.ts";
import { TokenBucket } from "./limits/token-bucket.ts";
import { migrate } from "./storage/migrations.ts";
import { ConversationStore } from "./storage/conversation-store.ts";
import { buildTranscript } from "./transcript/transcript.ts";
import { currentPosition, wordsPlayedAround, type PlaybackPosition, type PlaybackReport } from "./turn/heard-text.ts";
import { TurnHandle } from "./turn/turn-handle.ts";
import { settleHeard } from "./turn/turn-outcome.ts";
import { transcribeUtterance } from "./turn/transcription.ts";
import { TurnDetector, type TurnEvent } from "./turn-detection/turn-detector.ts";
import { runTurn, type TurnInput } from "./turn/turn-runner.ts";

const READY_HISTORY_LIMIT = 200;
/** Playback reports are kept for the last few replies only: older ones can no longer be cut short. */
const PLAYBACK_REPORTS_KEPT = 8;
/** How often an open barge-in candidate checks its false-interruption timeout. */
const CANDIDATE_TICK_MS = 50;
/** Words played this long before a held position may be in the candidate's audio (its pre-roll, echo delay). */
const ECHO_LOOKBACK_MS = 4_000;
const ECHO_LOOKAHEAD_MS = 600;
/** Unpaused speech this many dB under the user's usual level is the reply's echo or the room, not the user. */
const NOT_THE_USER_DB = 12;

interface ConnectionInput {
  detector: TurnDetector;
  /** How loud this user's speech is at their microphone (dBFS, smoothed over their turns); null until they spoke. */
  userLevelDbfs: number | null;
  messages: TokenBucket;
  audio: TokenBucket;
  lastLimitErrorAt: number;
}

export class VoiceSession extends Server<Env> {
  static override options = { hibernate: true };

  private config!: ParleyConfig;
  private store!: ConversationStore;
  private mode: SessionMode = "hands-free";
  private language = "en";
  private state: SessionState = "listening";
  /** The turn whose reply is being prepared or played; null when the floor is the user's. */
  private active: TurnHandle | null = null;
  /** The turn started last (maybe already cut short and still storing its reply): the next one waits for it. */
  private latest: TurnHandle | null = null;
  /** The user is talking and no turn is active (between speech start and the end of their turn). */
  private userSpeaking = false;
  private bargeIn!: BargeIn;
  private candidateTicker: ReturnType<typeof setInterval> | null = null;
  private playbackTimer: ReturnType<typeof setTimeout> | null = null;
  // In memory only: after hibernation a connection simply starts a fresh detector.
  private inputs = new Map<string, ConnectionInput>();
  private playbackReports = new Map<string, PlaybackReport>();
  /** Replies a client was still playing after their turn ended, stopped because the user talked. */
  private lateBargeIns = new Set<string>();
  private turnCounter = 0;

  override onStart(): void {
    migrate(this.ctx.storage);
    this.store = new ConversationStore(this.ctx.storage.sql);
    this.config = loadConfig(this.env as unknown as Record<string, unknown>);
    const abandoned = this.store.markAbandonedTurns(Date.now());
    if (abandoned) console.warn(`[parley] ${this.name}: marked ${abandoned} interrupted turn(s) as failed after a restart`);
    this.mode = (this.store.getSetting("mode") as SessionMode | undefined) ?? "hands-free";
    this.language = this.store.getSetting("language") ?? this.config.models.language;
    this.bargeIn = new BargeIn({
      rules: this.config.interruption,
      now: () => Date.now(),
      language: () => this.language,
      transcribe: (audio, kind, signal) =>
        transcribeUtterance({ ai: this.env.AI, tags: ["parley", `session:${this.name}`, `stt:${kind}`], signal }, audio, {
          model: this.config.models.stt,
          language: this.language,
          timeoutMs: this.config.reliability.aiTimeoutMs,
          // A partial transcript is only useful now; a whole utterance is worth one retry.
          maxRetries: kind === "partial" ? 0 : Math.min(1, this.config.reliability.maxRetries),
          retryBaseMs: this.config.reliability.retryBaseMs,
        }),
      playedText: (c, audioMs) => this.playedAround(c, audioMs),
      decided: (c, d, confirming) => this.onCandidateDecided(c, d, confirming),
      lateUtterance: (_c, speech) => this.startTurnFromSpeech(speech),
    });
  }

  override onConnect(conn: Connection): void {
    const { minInterruptionMs, falseInterruptionTimeoutMs } = this.config.interruption;
    this.sendTo(conn, {
      type: "ready",
      protocol: PROTOCOL_VERSION,
      sessionId: this.name,
      state: this.state,
      mode: this.mode,
      // The newest messages only: a WebSocket message must stay well under 1 MiB. The full record is at /api/sessions/<id>.
      history: this.store.history(READY_HISTORY_LIMIT),
      activeReplyId: this.active?.replyId ?? null,
      models: { stt: this.config.models.stt, llm: this.config.models.llm, tts: this.config.models.tts },
      aiBackend: this.config.models.backend,
      turnTaking: { minInterruptionMs, falseInterruptionTimeoutMs },
    });
  }

  override onClose(conn: Connection): void {
    this.inputs.delete(conn.id);
    const c = this.bargeIn.candidate;
    if (c?.conn === conn.id) {
      // Its microphone is gone: nothing more will confirm it. The reply plays on for anyone else.
      this.bargeIn.discard();
      this.stopTicker();
      if (c.holdsPlayback) this.resumeAfterCandidate(c);
      this.syncState();
    }
  }

  override onMessage(conn: Connection, message: WSMessage): void {
    const input = this.inputFor(conn);
    const now = Date.now();
    if (typeof message === "string") {
      if (!input.messages.take(1, now)) return this.limitError(conn, input, now, "too many messages; slow down");
      const parsed = parseClientMessage(message);
      if (!parsed.ok) return this.sendError(conn, parsed.code, parsed.message);
      return this.onClientMessage(conn, input, parsed.message);
    }
    const bytes = message instanceof ArrayBuffer ? new Uint8Array(message) : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    const problem = checkAudioFrame(bytes.byteLength);
    if (problem) return this.sendError(conn, problem.code, problem.message);
    if (!input.audio.take(bytes.byteLength, now)) return this.limitError(conn, input, now, "audio is arriving faster than real time");
    const events = input.detector.push(pcm16FromBytes(bytes), this.mode);
    for (const event of events) this.onTurnEvent(conn, input, event);
    this.bargeIn.onAudio(conn.id, input.detector);
  }

  /** Transcript review: GET /parties/voice-session/<id> answers the whole session as JSON. */
  override onRequest(request: Request): Response {
    if (request.method !== "GET") return Response.json({ error: { code: "method_not_allowed" } }, { status: 405 });
    return Response.json(buildTranscript(this.name, this.store.history(), this.store.turns(), this.store.interruptions()));
  }

  // ------------------------------------------------------------------------------------------------
  // Client messages

  private onClientMessage(conn: Connection, input: ConnectionInput, msg: ClientMessage): void {
    switch (msg.type) {
      case "start":
        if (msg.protocol !== PROTOCOL_VERSION) {
          return this.sendError(conn, "unsupported_protocol", `server speaks protocol ${PROTOCOL_VERSION}, client asked for ${msg.protocol}`);
        }
        this.mode = msg.mode;
        this.store.setSetting("mode", msg.mode);
        if (msg.language) {
          this.language = msg.language.slice(0, 2);
          this.store.setSetting("language", this.language);
        }
        input.detector.reset();
        return this.sendTo(conn, { type: "state", state: this.state, ...(this.active ? { replyId: this.active.replyId } : {}) });
      case "commit": {
        const turn = input.detector.commit();
        if (turn) this.onTurnEvent(conn, input, turn);
        return;
      }
      case "cancel":
        this.dropCandidate();
        if (this.active) this.endTurn(this.active, "cancel");
        return;
      case "text":
        input.detector.reset();
        this.userSpeaking = false;
        return this.startTurn({ source: "text", text: msg.text, endpointingMs: 0 });
      case "playback":
        return this.onPlayback(conn, msg);
      case "barge-in":
        return this.onClientBargeIn(conn, input, msg);
      case "ping":
        return this.sendTo(conn, { type: "pong", ...(msg.t !== undefined ? { t: msg.t } : {}), serverTime: Date.now() });
    }
  }

  /** The client reports how much of a reply was played: the reply's playback ends on `finished` or `stopped`. */
  private onPlayback(conn: Connection, msg: Extract<ClientMessage, { type: "playback" }>): void {
    if (!this.knownReply(msg.replyId)) return this.sendError(conn, "bad_message", `playback for unknown reply ${msg.replyId.slice(0, 64)}`);
    const at = { segment: msg.segment, playedMs: msg.playedMs };
    this.rememberReport(msg.replyId, { ...at, state: msg.state, at: Date.now() });
    const turn = this.active?.replyId === msg.replyId ? this.active : null;
    if (msg.state === "stopped") {
      if (turn) return this.endTurn(turn, "cancel", at);
      // Playback of a reply whose turn is already over was cut after all: keep only what was heard.
      const turnId = this.store.turnIdOfReply(msg.replyId);
      const stored = this.store.reply(msg.replyId);
      if (!turnId || !stored || stored.status !== "complete") return;
      const before = this.store.turnEndReason(turnId) ?? "completed";
      const heard = settleHeard(this.store, { turnId, replyId: msg.replyId }, at, this.lateBargeIns.has(msg.replyId) ? "barge-in" : "cancel");
      // Stopped at its very end: nothing was cut, so it ended as it had.
      if (heard?.status === "interrupted") this.broadcastEvent(heard);
      else this.store.setTurnEndReason(turnId, before);
      return;
    }
    if (msg.state === "finished" && turn && turn.generationDone && turn.phase !== "paused") this.closeTurn(turn);
    else if (msg.state === "playing" && turn?.generationDone) this.schedulePlaybackCheck();
  }

  /** The client's echo-aware detector heard the user over the reply and paused playback (or goes on reporting that speech). */
  private onClientBargeIn(conn: Connection, input: ConnectionInput, msg: Extract<ClientMessage, { type: "barge-in" }>): void {
    const turn = this.active;
    if (!turn || turn.replyId !== msg.replyId) {
      if (!this.knownReply(msg.replyId)) return this.sendError(conn, "bad_message", `barge-in for unknown reply ${msg.replyId.slice(0, 64)}`);
      // The client is still playing a reply the server already considers over (it reconnected, the
      // object restarted): stop it, the user is talking; their speech becomes a turn as usual.
      if (msg.event === "onset") {
        this.lateBargeIns.add(msg.replyId);
        if (this.lateBargeIns.size > PLAYBACK_REPORTS_KEPT) this.lateBargeIns.delete(this.lateBargeIns.values().next().value!);
        this.sendTo(conn, { type: "interruption", replyId: msg.replyId, decision: "confirmed", reason: "speech" });
      }
      return;
    }
    const now = Date.now();
    const c = this.bargeIn.candidate;
    const ours = c && c.turn === turn && c.source === "client" ? c : null;
    if (msg.event === "onset") {
      const heldAt = { segment: msg.segment, playedMs: msg.playedMs };
      this.rememberReport(turn.replyId, { ...heldAt, state: "paused", at: now });
      if (ours) {
        ours.heldAt = heldAt;
        return;
      }
      // What the server's VAD collected before was the reply's own echo (the client's guard did not
      // count it as the user): start the candidate's audio from the user's onset (plus pre-roll).
      input.detector.restart();
      this.userSpeaking = false;
      const opened = this.bargeIn.open({ turn, source: "client", holdsPlayback: true, durationFromServer: false, conn: conn.id, heldAt, captured: false });
      opened.state.speech(now, msg.speechMs);
      turn.pause(now);
      this.startTicker();
      this.syncState();
      return;
    }
    if (!ours) return;
    if (msg.event === "sustained") this.bargeIn.onClientSpeech(msg.speechMs);
    else this.bargeIn.onClientEnded(input.detector.busy);
  }

  // ------------------------------------------------------------------------------------------------
  // Turn-taking

  private onTurnEvent(conn: Connection, input: ConnectionInput, event: TurnEvent): void {
    const turn = this.active;
    if (event.type === "speech-start") {
      if (!turn) {
        this.userSpeaking = true;
        this.syncState();
        return;
      }
      if (this.bargeIn.candidate || this.mode !== "hands-free") return;
      // Speech while a reply is being prepared: hold it until we know whether the user goes on
      // (their turn was not over) or it was a cough. While the reply is audible the client's echo-aware
      // detector decides whether to pause; the server only listens, and judges the words at the end.
      const audible = turn.audible;
      this.bargeIn.open({ turn, source: "server", holdsPlayback: !audible, durationFromServer: !audible, conn: conn.id, heldAt: null, captured: true, quietBelowDbfs: this.quietBelow(input) });
      if (!audible) turn.pause(Date.now());
      this.startTicker();
      this.syncState();
      return;
    }
    const confirmedCandidate = this.bargeIn.candidate?.conn === conn.id && this.bargeIn.candidate.holdsPlayback;
    if (this.bargeIn.onUtteranceEnd(conn.id, event.audio, event.endpointingMs, event.levelDbfs)) {
      if (confirmedCandidate) this.learnUserLevel(input, event.levelDbfs);
      return;
    }
    if (turn && this.mode === "hands-free" && event.reason !== "commit") {
      // Speech that began before this turn started (or on another connection): judge it like a candidate.
      this.bargeIn.open({ turn, source: "server", holdsPlayback: false, durationFromServer: false, conn: conn.id, heldAt: null, captured: true, quietBelowDbfs: this.quietBelow(input) });
      this.startTicker();
      this.bargeIn.onUtteranceEnd(conn.id, event.audio, event.endpointingMs, event.levelDbfs);
      return;
    }
    this.learnUserLevel(input, event.levelDbfs);
    this.userSpeaking = false;
    this.startTurn({ source: "voice", audio: event.audio, endpointingMs: event.endpointingMs });
  }

  /** Speech this far under the user's own level, which the client did not pause for, is not them. */
  private quietBelow(input: ConnectionInput): number | null {
    return input.userLevelDbfs === null ? null : input.userLevelDbfs - NOT_THE_USER_DB;
  }

  private learnUserLevel(input: ConnectionInput, levelDbfs: number): void {
    if (!Number.isFinite(levelDbfs)) return;
    input.userLevelDbfs = input.userLevelDbfs === null ? levelDbfs : input.userLevelDbfs + (levelDbfs - input.userLevelDbfs) * 0.3;
  }

  private onCandidateDecided(c: OpenCandidate, d: CandidateDecision, confirming: ConfirmingSpeech | null): void {
    this.stopTicker();
    const now = Date.now();
    this.recordCandidate(c, d, confirming, now);
    const turn = c.turn;
    if (d.decision === "confirmed") {
      this.broadcastEvent({ type: "interruption", replyId: turn.replyId, decision: "confirmed", reason: d.reason, ...(d.transcript ? { transcript: d.transcript } : {}) });
      if (turn.phase !== "done") {
        const at = c.heldAt ?? this.positionNow(turn.replyId, now);
        this.endTurn(turn, turn.audible ? "barge-in" : "superseded", at);
      }
      if (confirming) this.startTurnFromSpeech(confirming);
      else if (c.finalsInFlight === 0) {
        // The user is still talking: the end of their speech starts the next turn.
        this.userSpeaking = true;
        this.syncState();
      }
      return;
    }
    if (d.reason === "backchannel" && d.transcript) {
      // Kept (the conversation shows it, review counts it) but never answered nor sent to the LLM.
      this.store.addMessage({ role: "user", text: d.transcript, status: "complete", source: "voice", turnId: turn.turnId, replyId: turn.replyId, kind: "backchannel", createdAt: now });
      this.broadcastEvent({ type: "transcript", turnId: turn.turnId, text: d.transcript, source: "voice", kind: "backchannel", replyId: turn.replyId });
    }
    if (c.holdsPlayback) {
      this.broadcastEvent({ type: "interruption", replyId: turn.replyId, decision: "resumed", reason: d.reason, ...(d.transcript ? { transcript: d.transcript } : {}) });
      this.resumeAfterCandidate(c);
    }
    this.syncState();
  }

  /** The reply plays on from where it was held; its playback clock runs again from now. */
  private resumeAfterCandidate(c: OpenCandidate): void {
    const now = Date.now();
    c.turn.resume(now);
    const report = this.playbackReports.get(c.turn.replyId);
    if (report?.state === "paused") this.rememberReport(c.turn.replyId, { ...report, state: "playing", at: now });
    this.schedulePlaybackCheck();
  }

  /** A confirmed interruption's speech becomes the next user turn. */
  private startTurnFromSpeech(speech: ConfirmingSpeech | { audio: Int16Array; endpointingMs: number }): void {
    this.userSpeaking = false;
    if ("audio" in speech) return this.startTurn({ source: "voice", audio: speech.audio, endpointingMs: speech.endpointingMs });
    const { result, sttMs, endpointingMs } = speech;
    this.startTurn({ source: "voice", endpointingMs, transcribed: { text: result.text, audioSeconds: result.audioSeconds, engine: result.engine, sttMs } });
  }

  /** Store the candidate and what transcribing it cost (a final transcript reused by the next turn is billed there). */
  private recordCandidate(c: OpenCandidate, d: CandidateDecision, confirming: ConfirmingSpeech | null, now: number): void {
    const audioSeconds = Math.max(0, c.audioSeconds - (confirming?.result.audioSeconds ?? 0));
    const m = this.config.models;
    const cost = turnCost({ sttModel: m.stt, audioInSeconds: audioSeconds, llmModel: m.llm, promptTokens: 0, completionTokens: 0, ttsModel: m.tts, ttsCharacters: 0, ttsAudioSeconds: 0 });
    const billed = c.engines.size === 0;
    this.store.addInterruption({
      replyId: c.turn.replyId,
      turnId: c.turn.turnId,
      source: c.source,
      openedAt: c.state.openedAt,
      decidedAt: now,
      decision: d.decision,
      reason: d.reason,
      transcript: d.transcript,
      segment: c.heldAt?.segment ?? null,
      playedMs: c.heldAt?.playedMs ?? null,
      sttCalls: c.sttCalls - (confirming ? 1 : 0),
      audioInSeconds: audioSeconds,
      neurons: billed ? cost.neurons : 0,
      usd: billed ? cost.usd : 0,
    });
  }

  /** The words of the candidate's reply played around the speech it heard, to recognise their echo. */
  private playedAround(c: OpenCandidate, audioMs: number): string {
    if (!c.turn.audible) return "";
    const { segments, firstSentAt } = this.store.segments(c.turn.replyId);
    if (c.heldAt) return wordsPlayedAround(segments, c.heldAt, ECHO_LOOKBACK_MS, ECHO_LOOKAHEAD_MS);
    const at = currentPosition(segments, firstSentAt, this.playbackReports.get(c.turn.replyId), Date.now());
    return wordsPlayedAround(segments, at, audioMs + ECHO_LOOKBACK_MS, ECHO_LOOKAHEAD_MS);
  }

  private dropCandidate(): void {
    const c = this.bargeIn.discard();
    this.stopTicker();
    if (c?.holdsPlayback && c.turn.phase === "paused") c.turn.resume(Date.now());
  }

  // ------------------------------------------------------------------------------------------------
  // Turn lifecycle

  private startTurn(turn: Pick<TurnInput, "source" | "audio" | "text" | "transcribed" | "endpointingMs">): void {
    const limitUsd = this.config.budgets.sessionUsd;
    if (limitUsd > 0 && this.store.totalUsd() >= limitUsd) {
      this.broadcastEvent({
        type: "error",
        code: "budget_exceeded",
        message: `This session has used its Workers AI budget of $${limitUsd}; start a new conversation or raise SESSION_BUDGET_USD.`,
        retryable: false,
      });
      this.syncState();
      return;
    }
    const previous = this.latest;
    const held = this.bargeIn.candidate;
    if (held?.holdsPlayback) {
      // The reply it held is being replaced: tell the client to drop it.
      this.broadcastEvent({ type: "interruption", replyId: held.turn.replyId, decision: "confirmed", reason: "speech" });
    }
    this.dropCandidate();
    if (this.active) this.endTurn(this.active, "superseded");
    const id = `${Date.now().toString(36)}-${(++this.turnCounter).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    const input: TurnInput = { ...turn, turnId: `t-${id}`, replyId: `r-${id}`, language: this.language };
    const handle = new TurnHandle({ turnId: input.turnId, replyId: input.replyId }, input.audio ? "transcribing" : "generating", () => this.syncState());
    this.active = handle;
    this.latest = handle;
    this.userSpeaking = false;
    const settleMs = this.config.reliability.turnSettleMs;
    const run = async () => {
      // The previous turn stores its reply before this one reads the history, but a wedged one cannot hold this one up.
      if (previous && !(await previous.settledWithin(settleMs))) {
        console.warn(`[parley] ${this.name}: turn ${previous.turnId} did not settle within ${settleMs} ms; starting ${input.turnId} anyway`);
      }
      const outcome = await runTurn(
        {
          ai: this.env.AI,
          sessionId: this.name,
          config: this.config,
          store: this.store,
          sink: { event: (e) => this.broadcastEvent(e), audio: (bytes) => this.broadcast(bytes) },
          playback: (replyId) => this.playbackReports.get(replyId),
        },
        input,
        handle,
      );
      handle.endReason = outcome.endReason;
      this.afterGeneration(handle);
    };
    handle.track(
      run().catch((err: unknown) => {
        console.error(`[parley] ${this.name}: turn ${input.turnId} crashed`, err);
        this.broadcastEvent({ type: "error", code: "internal", message: "Something went wrong with that turn.", retryable: true, replyId: input.replyId });
        handle.markGenerationDone();
        handle.endReason = "failed";
        this.closeTurn(handle);
      }),
    );
    this.syncState();
  }

  /** Generation is over (stored). The turn ends now, or when its audio has played. */
  private afterGeneration(turn: TurnHandle): void {
    if (turn.interrupted || !turn.audible || this.active !== turn) this.closeTurn(turn);
    else this.schedulePlaybackCheck();
  }

  /** Cut a turn short. Its reply keeps what was heard up to `at` (the client's report otherwise). */
  private endTurn(turn: TurnHandle, reason: "barge-in" | "cancel" | "superseded", at?: PlaybackPosition): void {
    if (turn.phase === "done") return;
    if (at) this.rememberReport(turn.replyId, { ...at, state: "stopped", at: Date.now() });
    turn.interrupt(reason);
    if (this.active === turn) this.active = null;
    // A turn still generating stores its (cut) reply when its pipeline stops; then afterGeneration closes it.
    if (turn.generationDone) this.closeTurn(turn);
    this.syncState();
  }

  /** The turn is over: settle what was heard of its reply and tell the clients. */
  private closeTurn(turn: TurnHandle): void {
    if (turn.phase === "done") return;
    turn.finish();
    if (this.active === turn) this.active = null;
    if (this.bargeIn.candidate?.turn === turn) this.dropCandidate();
    const report = this.playbackReports.get(turn.replyId);
    let stoppedAt: PlaybackPosition | null = null;
    if (turn.interrupted || report?.state === "stopped") {
      const { segments, firstSentAt } = this.store.segments(turn.replyId);
      stoppedAt = currentPosition(segments, firstSentAt, report, Date.now());
    }
    const heard = settleHeard(this.store, turn, stoppedAt, turn.reason ?? turn.endReason ?? "completed");
    if (heard) this.broadcastEvent(heard);
    this.schedulePlaybackCheck();
    this.syncState();
  }

  /** Without word from the client, a reply's playback is over once its audio (plus pauses and a grace period) has had time to play. */
  private schedulePlaybackCheck(): void {
    if (this.playbackTimer) clearTimeout(this.playbackTimer);
    this.playbackTimer = null;
    const turn = this.active;
    if (!turn || !turn.generationDone || turn.phase === "paused") return;
    const deadline = this.playbackDeadline(turn);
    if (deadline === null) return;
    this.playbackTimer = setTimeout(() => {
      this.playbackTimer = null;
      if (this.active !== turn || turn.phase === "paused") return;
      if (Date.now() >= (this.playbackDeadline(turn) ?? 0)) this.closeTurn(turn);
      else this.schedulePlaybackCheck();
    }, Math.max(0, deadline - Date.now()));
  }

  private playbackDeadline(turn: TurnHandle): number | null {
    const report = this.playbackReports.get(turn.replyId);
    let progress: { at: number; playedMs: number } | undefined;
    if (report?.state === "playing") {
      const { segments } = this.store.segments(turn.replyId);
      let playedMs = report.playedMs;
      for (let i = 0; i < Math.min(report.segment, segments.length); i++) playedMs += segments[i]!.durationMs;
      progress = { at: report.at, playedMs };
    }
    return turn.playbackDeadline(this.config.reliability.playbackGraceMs, progress);
  }

  private startTicker(): void {
    this.candidateTicker ??= setInterval(() => this.bargeIn.tick(), CANDIDATE_TICK_MS);
  }

  private stopTicker(): void {
    if (this.candidateTicker) clearInterval(this.candidateTicker);
    this.candidateTicker = null;
  }

  // ------------------------------------------------------------------------------------------------
  // State and plumbing

  /** What the clients see follows from the turn, the candidate and the user. */
  private syncState(): void {
    const turn = this.active;
    const held = this.bargeIn.candidate?.holdsPlayback ?? false;
    let state: SessionState = "listening";
    if (turn && (held || turn.phase === "paused")) state = "paused";
    else if (turn && turn.phase === "speaking") state = "speaking";
    else if (turn && turn.phase !== "done") state = "thinking";
    else if (this.userSpeaking) state = "user-speaking";
    if (state === this.state) return;
    this.broadcastEvent({ type: "state", state, ...(turn && state !== "listening" && state !== "user-speaking" ? { replyId: turn.replyId } : {}) });
  }

  private positionNow(replyId: string, now: number): PlaybackPosition {
    const { segments, firstSentAt } = this.store.segments(replyId);
    return currentPosition(segments, firstSentAt, this.playbackReports.get(replyId), now);
  }

  private knownReply(replyId: string): boolean {
    return this.active?.replyId === replyId || this.playbackReports.has(replyId) || this.store.segments(replyId).segments.length > 0;
  }

  private rememberReport(replyId: string, report: PlaybackReport): void {
    this.playbackReports.delete(replyId);
    this.playbackReports.set(replyId, report);
    if (this.playbackReports.size > PLAYBACK_REPORTS_KEPT) this.playbackReports.delete(this.playbackReports.keys().next().value!);
  }

  private inputFor(conn: Connection): ConnectionInput {
    let input = this.inputs.get(conn.id);
    if (!input) {
      const now = Date.now();
      const { messagesPerSecond, audioRealtimeFactor } = this.config.limits;
      const bytesPerSecond = UPSTREAM_AUDIO.sampleRate * UPSTREAM_AUDIO.bytesPerSample * audioRealtimeFactor;
      input = {
        detector: new TurnDetector(this.config.turnDetection),
        userLevelDbfs: null,
        messages: new TokenBucket(messagesPerSecond, messagesPerSecond * 2, now),
        audio: new TokenBucket(bytesPerSecond, Math.max(bytesPerSecond * 2, UPSTREAM_AUDIO.maxFrameBytes * 2), now),
        lastLimitErrorAt: 0,
      };
      this.inputs.set(conn.id, input);
    }
    return input;
  }

  private broadcastEvent(event: ServerMessage): void {
    if (event.type === "state") this.state = event.state;
    this.broadcast(JSON.stringify(event));
  }

  private sendTo(conn: Connection, event: ServerMessage): void {
    conn.send(JSON.stringify(event));
  }

  private sendError(conn: Connection, code: ErrorCode, message: string): void {
    this.sendTo(conn, { type: "error", code, message, retryable: false });
  }

  /** Over-limit input is dropped; the client hears about it at most once a second, not once per frame. */
  private limitError(conn: Connection, input: ConnectionInput, now: number, message: string): void {
    if (now - input.lastLimitErrorAt < 1000) return;
    input.lastLimitErrorAt = now;
    this.sendTo(conn, { type: "error", code: "rate_limited", message: `${message}; input dropped`, retryable: true });
  }
}
