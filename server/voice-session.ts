// The VoiceSession Durable Object: one per conversation. It wires the pieces together — protocol
// validation, flood limits, turn detection per connection, one turn at a time (a TurnHandle), the
// barge-in candidate (pause, decide, resume), the reply's playback lifecycle — and keeps the
// conversation in SQLite. The algorithms live in their own modules.
import { Server, type Connection, type ConnectionContext, type WSMessage } from "partyserver";
import {
  PROTOCOL_VERSION,
  CLOSE_CODES,
  UPSTREAM_AUDIO,
  checkAudioFrame,
  parseClientMessage,
  type ClientMessage,
  type ErrorCode,
  type ServerMessage,
  type SessionMode,
  type SessionState,
} from "../shared/protocol.ts";
import { pcm16FromBytes } from "../shared/audio/pcm.ts";
import { concatArrays } from "../shared/typed-arrays.ts";
import type { EndOfTurnSource } from "../shared/protocol.ts";
import { BudgetGate, type BudgetKeeper } from "./budget/budget-gate.ts";
import { dailyBudgetMessage, sessionBudgetView } from "./budget/budget-messages.ts";
import { DAILY_BUDGET_NAME } from "./budget/daily-budget.ts";
import { BoundedMap, BoundedSet } from "../shared/bounded-map.ts";
import { AdaptiveSilence } from "./end-of-turn/adaptive-silence.ts";
import { EndOfTurnCoordinator } from "./end-of-turn/end-of-turn-coordinator.ts";
import { askSmartTurn } from "./end-of-turn/smart-turn.ts";
import { audioModelCost } from "./cost/cost.ts";
import type { AiRunner } from "./models/ai-binding.ts";
import { fluxProtocol } from "./speech-to-text/flux.ts";
import { primaryLanguage } from "./speech-to-text/language.ts";
import { LiveRecognizer, type LiveEvent } from "./speech-to-text/live-recognizer.ts";
import { novaLiveProtocol } from "./speech-to-text/nova-live.ts";
import {
  ConfigError,
  loadAccessConfig,
  loadClientLimits,
  loadConfig,
  loadPhoneConfig,
  type ClientLimits,
  type ParleyConfig,
  type PhoneOptions,
} from "./config.ts";
import { GRANT_HEADER, answerSessionRequest, decodeGrant, jsonError, ownerEmail, sessionNotFound } from "./http/session-requests.ts";
import {
  SESSION_DELETED_CLOSE,
  TOMBSTONE_KEY,
  deleteSession,
  isDeleted,
  sessionCleanups,
  type DeletionResult,
} from "./deletion/session-deletion.ts";
import { turnCost } from "./cost/cost.ts";
import { BargeIn, type ConfirmingSpeech, type OpenCandidate } from "./interruption/barge-in.ts";
import type { CandidateDecision } from "./interruption/interruption-candidate.ts";
import { sameWords } from "./interruption/words.ts";
import { InputLimiter, type InputKind, type LimitScope } from "./limits/input-limiter.ts";
import { IdleWatch } from "./limits/idle-close.ts";
import { newestWithin } from "./limits/ready-history.ts";
import { migrate } from "./storage/migrations.ts";
import { ConversationStore } from "./storage/conversation-store.ts";
import { PLAYBACK_REPORTS_KEPT, RecoveryStore } from "./storage/recovery-store.ts";
import { ReviewIndexLedger } from "./storage/review-index-ledger.ts";
import { RecordingRows } from "./storage/recording-rows.ts";
import { deleteKeys, deleteRecordings, putRecording, recordingResponse } from "./recordings/recording-store.ts";
import { expiryCutoff, nextExpiryAt } from "./recordings/retention.ts";
import { TurnRecorder } from "./recordings/turn-recorder.ts";
import { IndexWriter, collectUpdate } from "./review-index/index-writer.ts";
import { deleteFromIndex, writeUpdate } from "./review-index/index-store.ts";
import { isDrainRequest, sessionGone, sessionStarted } from "./restart/drain.ts";
import type { SessionDrainReport } from "./restart/drain-contract.ts";
import { buildTranscript } from "./transcript/transcript.ts";
import { renderExport } from "./export/transcript-export.ts";
import { currentPosition, wordsPlayedAround, type PlaybackPosition, type PlaybackReport } from "./turn/heard-text.ts";
import { TurnHandle } from "./turn/turn-handle.ts";
import { addDiscarded, nothingSpent, settleHeard, type SpentBefore } from "./turn/turn-outcome.ts";
import { transcribeUtterance } from "./turn/transcription.ts";
import { keepUtterance, offerRetry, recoverAfterRestart, takeRetry } from "./turn/turn-recovery.ts";
import { TurnDetector, type TurnEvent } from "./turn-detection/turn-detector.ts";
import { runTurn, type TurnInput } from "./turn/turn-runner.ts";
import { PHONE_STREAM_HEADER, PHONE_TTS_OUTPUT } from "./phone/phone-requests.ts";
import { PhoneCall, type CallStart } from "./phone/phone-call.ts";
import { verifyStreamToken } from "./phone/stream-token.ts";
import { PhoneCallStore } from "./storage/phone-call-store.ts";
import { synthesize, type SpeechAudio } from "./text-to-speech/tts.ts";
import type { TurnEndEvent, TurnPauseEvent } from "./turn-detection/turn-detector.ts";

/** `ready` reads at most this many newest messages, then keeps those that fit limits.readyHistoryBytes. */
const READY_HISTORY_LIMIT = 200;
/** An audio frame counts as at least one 20 ms frame against the audio limits: tiny frames are no cheaper to flood with. */
const MIN_FRAME_COST_BYTES = (UPSTREAM_AUDIO.sampleRate * UPSTREAM_AUDIO.bytesPerSample * UPSTREAM_AUDIO.frameMs) / 1000;

/** A playing reply's progress is persisted for restarts at most this often (the client reports every 500 ms). */
const PLAYBACK_PERSIST_EVERY_MS = 2_000;
/** How often an open barge-in candidate checks its false-interruption timeout. */
const CANDIDATE_TICK_MS = 50;
/** Words played this long before a held position may be in the candidate's audio (its pre-roll, echo delay). */
const ECHO_LOOKBACK_MS = 4_000;
const ECHO_LOOKAHEAD_MS = 600;
/** Unpaused speech this many dB under the user's usual level is the reply's echo or the room, not the user. */
const NOT_THE_USER_DB = 12;
/** Speech this soon after a turn that ended early means the turn was ended too early. */
const CUT_OFF_WITHIN_MS = 1_000;
/** Flux ends a barge-in candidate's speech itself: its final transcript waits this long for that. */
const LIVE_FINAL_WAIT_MS = 1_500;
const ADAPTIVE_SILENCE_SETTING = "adaptive-silence";
/** Expired recordings whose deletion failed are tried again this much later. */
const RETENTION_RETRY_MS = 3_600_000;

interface ConnectionInput {
  detector: TurnDetector;
  endOfTurn: EndOfTurnCoordinator;
  /** Streaming recognition of this microphone (STT_MODE=streaming), null on the batch path or after it failed for good. */
  live: LiveRecognizer | null;
  /** When this microphone last carried speech (wall clock), to time Flux's end of turn from the end of speech. */
  lastVoicedAt: number;
  /** With Flux: the VAD's utterances since Flux last ended a turn (the next Flux turn's recording). */
  fluxUtterances: Int16Array[];
  /** A Flux end of turn heard while a barge-in candidate was open: that candidate's final transcript. */
  liveEnded: { text: string; at: number } | null;
  liveEndWaiters: ((text: string) => void)[];
  /** Parley asked Flux to end the user's turn (ForceEndTurn): its end of turn was decided by the words. */
  fluxForced: boolean;
  /** How loud this user's speech is at their microphone (dBFS, smoothed over their turns); null until they spoke. */
  userLevelDbfs: number | null;
}

export class VoiceSession extends Server<Env> {
  // No hibernation: every message on a hibernatable socket is a Durable Object event of its own, and
  // a flood of them stalled other sessions (bench/README.md, "Floods": other session's p99 74 ms with
  // hibernation, 2–18 ms without). A hands-free call streams audio every 20 ms and never hibernated
  // anyway; what hibernation saved, an idle open tab, is closed after IDLE_CLOSE_MS instead (IdleWatch).
  static override options = { hibernate: false };

  private config!: ParleyConfig;
  private store!: ConversationStore;
  private recovery!: RecoveryStore;
  /** Shutting down (a drain): turns in flight were cut off and new connections are turned away. */
  private draining = false;
  /** Deleted by its owner (or being deleted): every request answers 404, nothing more is stored. */
  private deleted = false;
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
  // Each connection's detector and live recognizer, created on its first message.
  private inputs = new Map<string, ConnectionInput>();
  private playbackReports = new BoundedMap<string, PlaybackReport>(PLAYBACK_REPORTS_KEPT);
  /** When each reply's playback report was last written to storage (recovery). */
  private persistedReportAt = new BoundedMap<string, number>(PLAYBACK_REPORTS_KEPT);
  /** Replies a client was still playing after their turn ended, stopped because the user talked. */
  private lateBargeIns = new BoundedSet<string>(PLAYBACK_REPORTS_KEPT);
  private turnCounter = 0;
  /** A reply started on an early end-of-turn signal, held until the user's turn is confirmed over. */
  private speculative: { turn: TurnHandle; text: string | null; conn: string } | null = null;
  /** What the current utterance cost before its turn (discarded speculation, smart-turn calls): billed with that turn. */
  private spentBefore: SpentBefore = nothingSpent();
  private adaptive!: AdaptiveSilence;
  /** Rate limits per connection, per client IP and for the whole session (in memory). */
  private limiter!: InputLimiter;
  /** Closes the connections after a long time with nobody there (server/limits/idle-close.ts). */
  private idle!: IdleWatch;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  /** Connections closed (flooding, or refused on connect): whatever they still send is dropped unread. */
  private closing = new Set<string>();
  private savedAdaptive = "";
  /** STT_MODE=streaming with Flux: the model decides when the user's turn is over. */
  private fluxEndsTurns = false;
  /** When the last turn ended early (smart-turn / transcript / Flux), to notice users cut off. */
  private lastEarlyEndAt = 0;
  /** The deployment's daily Workers AI budget, kept by the DailyBudget Durable Object. */
  private budget!: BudgetGate;
  private limits: ClientLimits | null = null;
  /** Keeps this session's entry in the review index (D1) current, after the turns (server/review-index/). */
  private reviewIndex!: IndexWriter;
  private reviewLedger!: ReviewIndexLedger;
  /** Each turn's recordings in R2 (RECORD_AUDIO, server/recordings/), and which exist. */
  private recorder!: TurnRecorder;
  private recordingRows!: RecordingRows;
  /** Phone calls on this session's connections (server/phone/), by connection id. */
  private phoneCalls = new Map<string, { call: PhoneCall; callSid: string | null }>();
  private phoneStore!: PhoneCallStore;
  private phone: PhoneOptions | null = null;
  /** The greeting's audio, synthesized once per text and voice. */
  private greetingAudio: { key: string; audio: SpeechAudio; usd: number; neurons: number } | null = null;

  override onStart(): void {
    // A deleted session keeps only its tombstone: no schema, no recovery, nothing to start.
    if (isDeleted(this.ctx.storage)) {
      this.deleted = true;
      return;
    }
    migrate(this.ctx.storage);
    this.store = new ConversationStore(this.ctx.storage.sql);
    this.recovery = new RecoveryStore(this.ctx.storage.sql);
    this.phoneStore = new PhoneCallStore(this.ctx.storage.sql);
    this.config = loadConfig(this.env as unknown as Record<string, unknown>);
    this.limiter = new InputLimiter(
      this.config.limits,
      UPSTREAM_AUDIO.sampleRate * UPSTREAM_AUDIO.bytesPerSample,
      Date.now(),
      2 * UPSTREAM_AUDIO.maxFrameBytes,
    );
    this.idle = new IdleWatch(this.config.limits.idleCloseMs, Date.now());
    if (this.config.restarts.drainSecret) sessionStarted(this.name);
    this.mode = (this.store.getSetting("mode") as SessionMode | undefined) ?? "hands-free";
    this.language = this.store.getSetting("language") ?? this.config.models.language;
    this.fluxEndsTurns = this.config.recognition.mode === "streaming" && this.config.recognition.streamingModel.includes("flux");
    this.budget = new BudgetGate(this.env.DailyBudget.getByName(DAILY_BUDGET_NAME) as unknown as BudgetKeeper, {
      limitNeurons: this.config.budgets.dailyNeurons,
      onError: (err) => console.warn(`[parley] ${this.name}: daily budget: ${(err as Error)?.message ?? err}`),
    });
    // Known before the first turn, so that it need not wait for the budget's answer.
    if (this.config.budgets.dailyNeurons !== null) this.budget.status().catch(() => {});
    this.adaptive = AdaptiveSilence.restore(safeJson(this.store.getSetting(ADAPTIVE_SILENCE_SETTING)), {
      initialMs: this.config.turnDetection.silenceMs,
      maxMs: this.config.endOfTurn.maxSilenceMs,
    });
    this.bargeIn = new BargeIn({
      rules: this.config.interruption,
      now: () => Date.now(),
      language: () => this.language,
      transcribe: (audio, kind, signal) => {
        const live = this.candidateLive();
        if (live) return this.liveCandidateTranscript(live, kind, signal);
        return transcribeUtterance({ ai: this.env.AI, tags: ["parley", `session:${this.name}`, `stt:${kind}`], signal }, audio, {
          model: this.config.models.stt,
          language: this.language,
          timeoutMs: this.config.reliability.aiTimeoutMs,
          // A partial transcript is only useful now; a whole utterance is worth one retry.
          maxRetries: kind === "partial" ? 0 : Math.min(1, this.config.reliability.maxRetries),
          retryBaseMs: this.config.reliability.retryBaseMs,
        });
      },
      playedText: (c, audioMs) => this.playedAround(c, audioMs),
      decided: (c, d, confirming) => this.onCandidateDecided(c, d, confirming),
      lateUtterance: (_c, speech) => this.startTurnFromSpeech(speech),
    });
    const ledger = new ReviewIndexLedger(this.ctx.storage.sql);
    this.reviewLedger = ledger;
    this.reviewIndex = new IndexWriter({
      collect: () => collectUpdate(ledger, this.name, Date.now()),
      write: (update) => writeUpdate(this.env.REVIEW_INDEX, update),
      acknowledge: (update) => ledger.acknowledge(update.acks),
      log: (err) => console.error(`[parley] ${this.name}: review index update failed (the next one sends it again)`, err),
    });
    this.recordingRows = new RecordingRows(this.ctx.storage.sql);
    this.recorder = new TurnRecorder({
      enabled: () => this.config.recordings.enabled && !this.deleted,
      store: async (turnId, kind, audio, createdAt) => {
        const row = await putRecording(this.env.RECORDINGS, { sessionId: this.name, turnId, kind, audio, createdAt });
        this.recordingRows.put(row);
        await this.armRetention();
      },
      remove: async (turnId, kind) => {
        const row = this.recordingRows.get(turnId, kind);
        if (!row) return;
        await this.env.RECORDINGS.delete(row.key);
        this.recordingRows.delete([row]);
      },
      now: () => Date.now(),
      log: (message, err) => console.error(`[parley] ${this.name}: ${message}`, err),
    });
    this.recoverAfterRestart();
  }

  /** The alarm fires as the oldest recording expires (RECORDING_RETENTION_DAYS after it was made). */
  private async armRetention(): Promise<void> {
    const at = nextExpiryAt(this.recordingRows.oldestCreatedAt(), this.config.recordings.retentionDays);
    if (at === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Retention: delete the recordings that expired, then sleep until the next one does. */
  override async onAlarm(): Promise<void> {
    // A deleted session keeps nothing to expire (its alarm was deleted with it; this is a stale one).
    if (this.deleted) return;
    const now = Date.now();
    const cutoff = expiryCutoff(now, this.config.recordings.retentionDays);
    const expired = cutoff === null ? [] : this.recordingRows.madeBefore(cutoff);
    if (expired.length > 0) {
      try {
        await deleteKeys(
          this.env.RECORDINGS,
          expired.map((r) => r.key),
        );
      } catch (err) {
        console.error(`[parley] ${this.name}: deleting ${expired.length} expired recording(s) failed; trying again later`, err);
        await this.ctx.storage.setAlarm(now + RETENTION_RETRY_MS);
        return;
      }
      this.recordingRows.delete(expired);
    }
    const next = nextExpiryAt(this.recordingRows.oldestCreatedAt(), this.config.recordings.retentionDays);
    if (next !== null) await this.ctx.storage.setAlarm(next);
  }

  /** The conversation changed: bring the review index up to date, off the turn's path (errors are logged). */
  private updateIndex(): void {
    if (this.deleted) return;
    this.ctx.waitUntil(this.reviewIndex.sync());
  }

  /** Turns a restart cut off: what was heard is stored, utterances still being transcribed run again, a cut reply waits for a client to retry it. */
  private recoverAfterRestart(): void {
    for (const [replyId, report] of this.recovery.playbackReports()) this.playbackReports.set(replyId, report);
    const r = recoverAfterRestart(this.store, this.recovery, this.playbackReports, Date.now());
    if (r.cutReplies + r.abandoned + r.lost > 0) {
      console.warn(
        `[parley] ${this.name}: after a restart: ${r.cutReplies} reply(s) cut off, ${r.abandoned} turn(s) cut off in speech-to-text (${r.reruns.length} utterance(s) run again, ${r.lost} lost)`,
      );
    }
    for (const u of r.reruns)
      this.startTurn({
        source: "voice",
        audio: u.audio,
        endpointingMs: u.endpointingMs,
        ...(u.endOfTurn ? { endOfTurn: u.endOfTurn } : {}),
        attempt: u.attempt + 1,
      });
    if (r.cutReplies + r.abandoned + r.lost > 0) this.updateIndex();
    if ([...this.getConnections()].length > 0) this.retryCutReply();
  }

  /**
   * The dev server is stopping (server/restart/drain.ts): replies in flight are cut off as `shutdown`
   * and keep what was heard (retried like those a restart cuts off), turns still in speech-to-text
   * are left to run again from their kept utterance, and every socket is closed with 1001.
   */
  private async drain(): Promise<SessionDrainReport> {
    this.draining = true;
    this.cancelSpeculation();
    this.dropCandidate();
    const inFlight = [...new Set([this.active, this.latest])].filter((t): t is TurnHandle => t !== null && !t.isSettled);
    const cut = inFlight.filter((t) => t.phase !== "transcribing");
    for (const t of cut) this.endTurn(t, "shutdown");
    await Promise.all(cut.map((t) => t.settledWithin(this.config.restarts.drainSettleMs)));
    let cutReplies = 0;
    for (const t of cut) {
      if (this.store.reply(t.replyId)?.status !== "interrupted") continue;
      offerRetry(this.recovery, t.turnId, this.playbackReports.get(t.replyId));
      cutReplies++;
    }
    const connections = [...this.getConnections()];
    for (const c of connections) c.close(1001, "Parley is restarting");
    return { session: this.name, cutReplies, transcribing: inFlight.length - cut.length, closed: connections.length };
  }

  /** With a client connected, a reply a restart cut off is retried once, unless the user spoke since. */
  private retryCutReply(): void {
    const busy = this.active !== null || this.speculative !== null || this.userSpeaking || this.bargeIn.candidate !== null;
    const plan = takeRetry(this.recovery, busy, Date.now(), this.config.restarts.retryWithinMs);
    if (plan) this.startTurn({ source: plan.source, endpointingMs: 0, retry: plan });
  }

  /** The Worker checked the key; the session refuses what only it can judge before the upgrade. */
  override async fetch(request: Request): Promise<Response> {
    if (this.deleted || isDeleted(this.ctx.storage)) return sessionNotFound();
    if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") {
      // A phone stream proves itself with the token in its first message (server/phone/stream-token.ts).
      const phone = request.headers.get(PHONE_STREAM_HEADER) === "1";
      if (!phone && decodeGrant(request.headers.get(GRANT_HEADER))?.role !== "owner")
        return jsonError(403, "read_only", "only the session's owner key joins live");
      let cap: number;
      try {
        cap = this.clientLimits().connectionsPerSession;
      } catch (err) {
        if (err instanceof ConfigError) return jsonError(503, "server_misconfigured", err.message);
        throw err;
      }
      if (this.openConnections() >= cap)
        return jsonError(429, "too_many_connections", `this session already has ${cap} live connections; close one first`);
    }
    return super.fetch(request);
  }

  override onConnect(conn: Connection, ctx: ConnectionContext): void {
    const cap = this.clientLimits().connectionsPerSession;
    if (this.openConnections() > cap) {
      // Upgrades that raced past the check in fetch(): the newest goes.
      this.sendError(conn, "too_many_connections", `this session already has ${cap} live connections; close one first`);
      this.closing.add(conn.id);
      conn.close(1013, "too many connections");
      return;
    }
    if (this.draining) {
      this.closing.add(conn.id);
      return conn.close(1001, "Parley is restarting");
    }
    const { minInterruptionMs, falseInterruptionTimeoutMs } = this.config.interruption;
    // The client's address as Cloudflare saw it: connections from one address share a limit within the session.
    const ip = ctx.request.headers.get("cf-connecting-ip")?.slice(0, 64) ?? "unknown";
    this.limiter.join(conn.id, ip, Date.now());
    this.idle.touch(Date.now());
    this.scheduleIdleCheck();
    if (ctx.request.headers.get(PHONE_STREAM_HEADER) === "1") return this.connectPhone(conn);
    // The newest messages that fit the byte budget: a WebSocket message must stay well under 1 MiB.
    const recent = newestWithin(this.store.history(READY_HISTORY_LIMIT), this.config.limits.readyHistoryBytes);
    const older = this.store.messageCount() - recent.kept.length;
    this.sendTo(conn, {
      type: "ready",
      protocol: PROTOCOL_VERSION,
      sessionId: this.name,
      state: this.state,
      mode: this.mode,
      history: recent.kept,
      ...(older > 0 ? { olderHistory: { messages: older, transcriptPath: `/api/sessions/${this.name}` } } : {}),
      activeReplyId: this.active?.replyId ?? null,
      models: { stt: this.config.models.stt, llm: this.config.models.llm, tts: this.config.models.tts },
      aiBackend: this.config.models.backend,
      turnTaking: {
        minInterruptionMs,
        falseInterruptionTimeoutMs,
        endOfTurn: this.usesFlux() ? "flux" : this.config.endOfTurn.detector,
        stt: this.config.recognition.mode,
      },
    });
    this.retryCutReply();
  }

  override onClose(conn: Connection): void {
    this.phoneCalls.get(conn.id)?.call.closed();
    this.phoneCalls.delete(conn.id);
    this.limiter.leave(conn.id);
    this.closing.delete(conn.id);
    const input = this.inputs.get(conn.id);
    input?.live?.close();
    this.inputs.delete(conn.id);
    if (this.speculative?.conn === conn.id) this.cancelSpeculation();
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
    // Limits first, before anything is parsed or allocated: a flood costs as little as it can.
    if (this.closing.has(conn.id) || this.deleted) return;
    const now = Date.now();
    const phone = this.phoneCalls.get(conn.id);
    if (phone) {
      // Twilio's messages are nearly all 20 ms of audio: each counts as one frame against the audio limits.
      if (typeof message !== "string" || !this.admitted(conn, "audio", MIN_FRAME_COST_BYTES, now)) return;
      return phone.call.receive(message);
    }
    if (typeof message === "string") {
      if (!this.admitted(conn, "message", 1, now)) return;
      const parsed = parseClientMessage(message);
      if (!parsed.ok) return this.sendError(conn, parsed.code, parsed.message);
      return this.onClientMessage(conn, this.inputFor(conn), parsed.message);
    }
    const byteLength = message.byteLength;
    if (!this.admitted(conn, "audio", Math.max(byteLength, MIN_FRAME_COST_BYTES), now)) return;
    const problem = checkAudioFrame(byteLength);
    if (problem) return this.sendError(conn, problem.code, problem.message);
    const bytes =
      message instanceof ArrayBuffer ? new Uint8Array(message) : new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    this.onAudioFrame(conn, pcm16FromBytes(bytes), now);
  }

  /** 20 ms of a microphone (a browser's, or a phone call's after decoding): turn detection, streaming recognition, barge-in. */
  private onAudioFrame(conn: Connection, pcm: Int16Array, now: number): void {
    const input = this.inputFor(conn);
    input.live?.push(pcm);
    const events = input.detector.push(pcm, this.mode);
    if (input.detector.lastFrameVoiced) input.lastVoicedAt = now;
    for (const event of events) this.onTurnEvent(conn, input, event);
    this.bargeIn.onAudio(conn.id, input.detector);
  }

  /** The session's HTTP side (transcript, review version, owner), reached only through the Worker's key checks. */
  override async onRequest(request: Request): Promise<Response> {
    // `npm start` stopping (server/restart/drain.ts): only with the secret it generated; absent in production.
    if (request.method === "POST" && (await isDrainRequest(request, this.config.restarts.drainSecret)))
      return Response.json(await this.drain());
    return answerSessionRequest(
      request,
      this.store,
      async (grant) => {
        const transcript = buildTranscript(
          this.name,
          this.store.history(),
          this.store.turns(),
          this.store.interruptions(),
          ownerEmail(this.store),
          this.store.replyAudio(),
          this.recordingRows.byTurn(),
        );
        // The day's spending across every session is the owner's to see, not a share link's.
        const daily =
          grant.role === "owner" && this.config.budgets.dailyNeurons !== null
            ? await this.budget.status().catch(() => this.budget.lastStatus)
            : null;
        const phoneCalls = this.phoneStore.calls();
        return {
          ...transcript,
          ...(phoneCalls.length > 0 ? { phoneCalls } : {}),
          budget: sessionBudgetView(transcript.totals.usd, this.config.budgets.sessionUsd, daily),
        };
      },
      {
        render: (transcript, format) => renderExport(transcript, format, Date.now()),
        delete: () => this.deleteForGood(),
        recording: (turnId, kind, range) => recordingResponse(this.env.RECORDINGS, this.recordingRows.get(turnId, kind), kind, range),
      },
    );
  }

  /** The owner deletes the session (server/deletion/session-deletion.ts): live sockets closed with 4404, turns cut, everything stored gone but a tombstone. */
  private deleteForGood(): Promise<DeletionResult> {
    return deleteSession(
      this.name,
      {
        stopLive: async () => {
          this.deleted = true;
          for (const c of this.getConnections()) c.close(SESSION_DELETED_CLOSE.code, SESSION_DELETED_CLOSE.reason);
          for (const input of this.inputs.values()) input.live?.close();
          this.inputs.clear();
          this.cancelSpeculation();
          this.dropCandidate();
          const inFlight = [...new Set([this.active, this.latest])].filter((t): t is TurnHandle => t !== null && !t.isSettled);
          for (const t of inFlight) this.endTurn(t, "cancel");
          await Promise.all(inFlight.map((t) => t.settledWithin(this.config.reliability.turnSettleMs)));
          if (this.playbackTimer) clearTimeout(this.playbackTimer);
          this.playbackTimer = null;
          // A write in flight would put the index entry back after the cleanup removed it (and a recording, its object).
          await this.reviewIndex.settled();
          await this.recorder.settled();
        },
        resume: () => {
          this.deleted = false;
          // The index entry may be gone: the next update sends the whole conversation again.
          this.reviewLedger.forgetAcknowledgements();
        },
        deleteRows: () => {
          this.store.deleteAll();
          this.phoneStore.deleteAll();
          this.recovery.deleteAll();
          this.recordingRows.deleteAll();
        },
        deleteStorage: async () => {
          await this.ctx.storage.deleteAlarm();
          await this.ctx.storage.deleteAll();
          this.ctx.storage.kv.put(TOMBSTONE_KEY, Date.now());
          this.playbackReports.clear();
          sessionGone(this.name);
        },
      },
      sessionCleanups({
        deleteRecordings: async (id) => {
          await deleteRecordings(this.env.RECORDINGS, id);
        },
        deleteIndexEntry: (id) => deleteFromIndex(this.env.REVIEW_INDEX, id),
      }),
    );
  }

  private clientLimits(): ClientLimits {
    this.limits ??= loadClientLimits(this.env as unknown as Record<string, unknown>);
    return this.limits;
  }

  private openConnections(): number {
    let n = 0;
    for (const c of this.getConnections()) if (c.readyState === WebSocket.OPEN) n++;
    return n;
  }

  // ------------------------------------------------------------------------------------------------
  // Phone calls (server/phone/): a Twilio Media Stream is one more connection of the session, its
  // transport turning Twilio's events into what a browser sends and back.

  private phoneOptions(): PhoneOptions {
    this.phone ??= loadPhoneConfig(this.env as unknown as Record<string, unknown>);
    return this.phone;
  }

  /** While a call is live, replies are spoken by the phone's TTS in a format the transport can decode. */
  private turnConfig(): ParleyConfig {
    if (![...this.phoneCalls.values()].some((p) => p.call.live)) return this.config;
    const phone = this.phoneOptions();
    return {
      ...this.config,
      models: { ...this.config.models, tts: phone.ttsModel, ttsSpeaker: phone.ttsSpeaker, ttsOutput: PHONE_TTS_OUTPUT },
    };
  }

  private connectPhone(conn: Connection): void {
    const phone = this.phoneOptions();
    const secret = loadAccessConfig(this.env as unknown as Record<string, unknown>).sessionSecret;
    const entry: { call: PhoneCall; callSid: string | null } = { call: null as unknown as PhoneCall, callSid: null };
    entry.call = new PhoneCall(
      {
        send: (text) => conn.send(text),
        admit: async (token, callSid) => {
          if (!secret) return { ok: false, reason: "SESSION_SECRET is not set" };
          const v = await verifyStreamToken(secret, token, { sessionId: this.name, callSid }, Date.now());
          return v.ok ? { ok: true, caller: v.claims.caller } : { ok: false, reason: v.reason };
        },
        now: () => Date.now(),
        setTimer: (fn, ms) => setTimeout(fn, ms),
        clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
        started: (call) => {
          entry.callSid = call.callSid;
          this.onCallStarted(entry.call, call);
        },
        audio: (frame) => this.onAudioFrame(conn, frame, Date.now()),
        playback: (r) => this.onPlayback(conn, { type: "playback", ...r }),
        interrupt: () => this.onClientMessage(conn, this.inputFor(conn), { type: "cancel" }),
        commit: () => this.onClientMessage(conn, this.inputFor(conn), { type: "commit" }),
        ended: (how) => this.onCallEnded(entry.callSid, how),
        refuse: (reason) => {
          console.warn(`[parley] ${this.name}: phone stream refused: ${reason}`);
          this.closing.add(conn.id);
          conn.close(1008, reason.slice(0, 120));
        },
        problem: (message) => console.warn(`[parley] ${this.name}: phone: ${message}`),
      },
      { leadMs: phone.leadMs, startTimeoutMs: phone.startTimeoutMs },
    );
    this.phoneCalls.set(conn.id, entry);
  }

  private onCallStarted(call: PhoneCall, start: CallStart): void {
    // A phone call is hands-free: nobody presses anything to talk (the keypad's # may end a turn early).
    this.mode = "hands-free";
    this.phoneStore.start({ callSid: start.callSid, caller: start.caller, startedAt: Date.now(), usdBefore: this.store.totalUsd() });
    this.idle.touch(Date.now());
    this.greet(call, start.callSid).catch((err: unknown) => console.error(`[parley] ${this.name}: phone greeting failed`, err));
  }

  /** The greeting, spoken as soon as the stream starts (synthesized once, then played from memory). */
  private async greet(call: PhoneCall, callSid: string): Promise<void> {
    const phone = this.phoneOptions();
    if (!phone.greeting) return;
    const key = `${phone.ttsModel}\n${phone.ttsSpeaker ?? ""}\n${this.language}\n${phone.greeting}`;
    let greeting = this.greetingAudio?.key === key ? this.greetingAudio : null;
    if (!greeting) {
      const ctx = {
        ai: this.env.AI,
        tags: ["parley", `session:${this.name}`, "tts:greeting"],
        signal: AbortSignal.timeout(this.config.reliability.aiTimeoutMs),
      };
      const audio = await synthesize(ctx, phone.ttsModel, phone.greeting, {
        speaker: phone.ttsSpeaker,
        language: this.language,
        output: PHONE_TTS_OUTPUT,
      });
      const m = this.config.models;
      const billed = audio.engine === undefined && m.backend !== "local";
      const cost = turnCost({
        sttModel: m.stt,
        audioInSeconds: 0,
        llmModel: m.llm,
        promptTokens: 0,
        completionTokens: 0,
        ttsModel: phone.ttsModel,
        ttsCharacters: phone.greeting.length,
        ttsAudioSeconds: audio.durationMs / 1000,
      });
      greeting = { key, audio, usd: billed ? cost.usd : 0, neurons: billed ? cost.neurons : 0 };
      this.greetingAudio = greeting;
    }
    if (greeting.neurons > 0) this.budget.charge(greeting.neurons);
    if (greeting.usd > 0) this.phoneStore.addGreetingCost(callSid, greeting.usd);
    call.speak("greeting", greeting.audio.bytes, greeting.audio.container);
  }

  /** The caller hung up (or the socket went): the turn in flight ends, the call's duration and cost are kept. */
  private onCallEnded(callSid: string | null, how: "stop" | "closed"): void {
    const endedAt = Date.now();
    this.cancelSpeculation();
    this.dropCandidate();
    if (this.active) this.endTurn(this.active, "cancel");
    this.userSpeaking = false;
    this.syncState();
    if (!callSid) return;
    // The turns it cut store what they spent first.
    const inFlight = [...new Set([this.active, this.latest])].filter((t): t is TurnHandle => t !== null && !t.isSettled);
    const settle = Promise.all(inFlight.map((t) => t.settledWithin(this.config.reliability.turnSettleMs))).then(() => {
      if (this.deleted) return;
      this.phoneStore.end(callSid, endedAt, how, this.store.totalUsd());
      this.updateIndex();
    });
    this.ctx.waitUntil(settle);
  }

  // ------------------------------------------------------------------------------------------------
  // Client messages

  private onClientMessage(conn: Connection, input: ConnectionInput, msg: ClientMessage): void {
    if (msg.type !== "ping") this.idle.touch(Date.now());
    switch (msg.type) {
      case "start":
        if (msg.protocol !== PROTOCOL_VERSION) {
          return this.sendError(
            conn,
            "unsupported_protocol",
            `server speaks protocol ${PROTOCOL_VERSION}, client asked for ${msg.protocol}`,
          );
        }
        this.mode = msg.mode;
        this.store.setSetting("mode", msg.mode);
        if (msg.language) {
          this.language = primaryLanguage(msg.language);
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
        this.cancelSpeculation();
        this.dropCandidate();
        if (this.active) this.endTurn(this.active, "cancel");
        return;
      case "text":
        // Each typed turn starts model calls: a burst of them is held to a few a second.
        if (!this.admitted(conn, "turn", 1, Date.now())) return;
        input.detector.reset();
        this.userSpeaking = false;
        this.cancelSpeculation();
        return this.startTurn({ source: "text", text: msg.text, endpointingMs: 0, endOfTurn: "text" });
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
    if (msg.firstAudioMs !== undefined) this.store.setClientFirstAudio(msg.replyId, msg.firstAudioMs);
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
      const heard = settleHeard(
        this.store,
        { turnId, replyId: msg.replyId },
        at,
        this.lateBargeIns.has(msg.replyId) ? "barge-in" : "cancel",
      );
      // Stopped at its very end: nothing was cut, so it ended as it had.
      if (heard?.status === "interrupted") {
        this.broadcastEvent(heard);
        this.ctx.waitUntil(this.recorder.cutAfter(msg.replyId, at));
      } else this.store.setTurnEndReason(turnId, before);
      this.updateIndex();
      return;
    }
    if (msg.state === "finished" && turn && turn.generationDone && turn.phase !== "paused") this.closeTurn(turn);
    else if (msg.state === "playing" && turn?.generationDone) this.schedulePlaybackCheck();
  }

  /** The client's echo-aware detector heard the user over the reply and paused playback (or goes on reporting that speech). */
  private onClientBargeIn(conn: Connection, input: ConnectionInput, msg: Extract<ClientMessage, { type: "barge-in" }>): void {
    const turn = this.active;
    if (!turn || turn.replyId !== msg.replyId) {
      if (!this.knownReply(msg.replyId))
        return this.sendError(conn, "bad_message", `barge-in for unknown reply ${msg.replyId.slice(0, 64)}`);
      // The client is still playing a reply the server already considers over (it reconnected, the
      // object restarted): stop it, the user is talking; their speech becomes a turn as usual.
      if (msg.event === "onset") {
        this.lateBargeIns.add(msg.replyId);
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
      const opened = this.bargeIn.open({
        turn,
        source: "client",
        holdsPlayback: true,
        durationFromServer: false,
        conn: conn.id,
        heldAt,
        captured: false,
      });
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
    if (event.type === "pause") {
      // Only the user's own turn ends early; speech over a reply is the barge-in logic's.
      if (!turn && !this.bargeIn.candidate && this.mode === "hands-free" && this.parleyJudges(input)) input.endOfTurn.onPause(event);
      return;
    }
    if (event.type === "resume") {
      if (this.parleyJudges(input)) input.endOfTurn.onResume(event.pauseMs);
      return;
    }
    if (event.type === "speech-start") {
      if (turn && !this.bargeIn.candidate && Date.now() - this.lastEarlyEndAt < CUT_OFF_WITHIN_MS) input.endOfTurn.onCutOff();
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
      this.bargeIn.open({
        turn,
        source: "server",
        holdsPlayback: !audible,
        durationFromServer: !audible,
        conn: conn.id,
        heldAt: null,
        captured: true,
        quietBelowDbfs: this.quietBelow(input),
      });
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
    const endOfTurn = input.endOfTurn.onTurnEnd(event);
    if (this.usesFlux(input) && event.reason !== "commit") {
      // Flux decides when the user's turn is over; the VAD's end of speech serves barge-in, and
      // words that read as finished after a long enough silence end the turn through Flux. Its audio
      // is kept for the recording of the turn Flux ends.
      keepFluxUtterance(input, event.audio);
      if (endOfTurn === "transcript" && !turn && input.live?.forceEndTurn()) input.fluxForced = true;
      return;
    }
    if (turn && this.mode === "hands-free" && event.reason !== "commit") {
      // Speech that began before this turn started (or on another connection): judge it like a candidate.
      this.bargeIn.open({
        turn,
        source: "server",
        holdsPlayback: false,
        durationFromServer: false,
        conn: conn.id,
        heldAt: null,
        captured: true,
        quietBelowDbfs: this.quietBelow(input),
      });
      this.startTicker();
      this.bargeIn.onUtteranceEnd(conn.id, event.audio, event.endpointingMs, event.levelDbfs);
      return;
    }
    this.learnUserLevel(input, event.levelDbfs);
    this.userSpeaking = false;
    this.commitUtterance(conn, input, event, endOfTurn);
  }

  // ------------------------------------------------------------------------------------------------
  // End of turn: early signals, speculative replies, streaming recognition

  /** The user's turn is over: confirm the reply started for it at the pause, or start one now. */
  private commitUtterance(conn: Connection, input: ConnectionInput, event: TurnEndEvent, endOfTurn: EndOfTurnSource): void {
    if (endOfTurn === "smart-turn" || endOfTurn === "transcript") this.lastEarlyEndAt = Date.now();
    this.saveAdaptiveSilence();
    const spec = this.speculative;
    // Nothing was said since the pause that started it (speech would have cancelled it): it is this turn.
    if (spec && spec.conn === conn.id && event.reason !== "commit") {
      input.live?.takeTurn();
      return this.confirmSpeculation(event.endpointingMs, endOfTurn);
    }
    this.cancelSpeculation();
    const live = input.live;
    if (live && event.reason !== "max-length") {
      // The audio is kept for a restart, which transcribes it with the batch model.
      return this.startTurn({
        source: "voice",
        ...this.liveTranscript(input, live, false),
        audio: event.audio,
        endpointingMs: event.endpointingMs,
        endOfTurn,
      });
    }
    this.startTurn({ source: "voice", audio: event.audio, endpointingMs: event.endpointingMs, endOfTurn });
  }

  /**
   * A Nova turn's words: Finalize, then everything said since the last turn. `speculative`: the turn
   * may go on, so its words are kept and the streamed audio is billed when it is confirmed.
   */
  private liveTranscript(input: ConnectionInput, live: LiveRecognizer, speculative: boolean): Pick<TurnInput, "transcript" | "sttModel"> {
    const billed = speculative ? 0 : live.takeBilledSeconds();
    const started = Date.now();
    const transcript = live.finalize(this.config.recognition.finalizeTimeoutMs, { keep: speculative }).then((text) => ({
      text,
      audioSeconds: billed,
      engine: this.liveEngine(input),
      retries: 0,
      sttMs: Date.now() - started,
      model: live.model,
    }));
    return { transcript, sttModel: live.model };
  }

  /** A returning session starts with what it learned of the user's pauses. */
  private saveAdaptiveSilence(): void {
    if (!this.config.endOfTurn.adaptive) return;
    const state = JSON.stringify(this.adaptive.toJSON());
    if (state !== this.savedAdaptive) this.store.setSetting(ADAPTIVE_SILENCE_SETTING, state);
    this.savedAdaptive = state;
  }

  /** The pause may end the turn: start its reply now, held until the turn is confirmed. */
  private speculate(conn: Connection, input: ConnectionInput, pause: TurnPauseEvent): void {
    if (this.active || this.bargeIn.candidate) return;
    if (this.usesFlux(input)) return this.speculateOnFluxWords(conn, input, input.live!.currentText);
    this.cancelSpeculation();
    const live = input.live;
    if (live) this.startTurn({ source: "voice", ...this.liveTranscript(input, live, true), audio: pause.audio, endpointingMs: 0 }, conn.id);
    else this.startTurn({ source: "voice", audio: pause.audio, endpointingMs: 0 }, conn.id);
  }

  /** A held reply to Flux's words so far (its EagerEndOfTurn, or Parley's judge); one already held for the same words stays. */
  private speculateOnFluxWords(conn: Connection, input: ConnectionInput, text: string): void {
    const spec = this.speculative;
    if (text === "" || (spec && spec.conn === conn.id && sameWords(spec.text, text))) return;
    this.cancelSpeculation();
    this.startTurn(
      {
        source: "voice",
        transcribed: { text, audioSeconds: 0, engine: this.liveEngine(input), sttMs: 0, model: input.live!.model },
        endpointingMs: 0,
      },
      conn.id,
    );
    if (this.speculative) this.speculative.text = text;
  }

  private confirmSpeculation(endpointingMs: number, endOfTurn: EndOfTurnSource): void {
    const spec = this.speculative;
    if (!spec) return;
    this.speculative = null;
    const input = this.inputs.get(spec.conn);
    const turn = spec.turn;
    turn.endpointing = {
      endpointingMs,
      endOfTurn,
      billedSeconds: input?.live?.takeBilledSeconds() ?? 0,
      spentBefore: this.takeSpentBefore(),
    };
    this.userSpeaking = false;
    this.active = turn;
    // The floor changes hands before the held transcript and reply come out, as for any turn.
    this.syncState();
    // Held audio going out moves the turn to `speaking`, which syncs the state again.
    turn.confirm(Date.now());
    this.schedulePlaybackCheck();
  }

  private cancelSpeculation(): void {
    const spec = this.speculative;
    if (!spec) return;
    this.speculative = null;
    spec.turn.discard();
  }

  private takeSpentBefore(): SpentBefore {
    const spent = this.spentBefore;
    this.spentBefore = nothingSpent();
    return spent;
  }

  /** Flux owns the end of turn on this microphone (configured, and its socket has not failed for good). */
  private usesFlux(input?: ConnectionInput): boolean {
    return this.fluxEndsTurns && (input ? input.live !== null : true);
  }

  /** Parley judges Flux's words too, and may end a turn the model is slow to end (recognition.flux.forceEnd). */
  private assistsFlux(input: ConnectionInput): boolean {
    return this.usesFlux(input) && this.config.recognition.flux.forceEnd;
  }

  /** Parley's end-of-turn coordinator hears this microphone's pauses: always, except under Flux alone. */
  private parleyJudges(input: ConnectionInput): boolean {
    return !this.usesFlux(input) || this.assistsFlux(input);
  }

  /** The offline stand-in names its recognizer (not billed); Workers AI does not name an engine. */
  private liveEngine(input?: ConnectionInput): string | undefined {
    return input?.live?.engine ?? (this.config.models.backend === "local" ? "pocketsphinx" : undefined);
  }

  private onLiveEvent(conn: Connection, input: ConnectionInput, e: LiveEvent): void {
    const now = Date.now();
    switch (e.type) {
      case "update":
      case "final":
        if (e.text) this.broadcastEvent({ type: "user-partial", text: e.text });
        if (this.parleyJudges(input)) input.endOfTurn.onWordsHeard();
        return;
      case "error":
      case "engine":
        return;
      case "start-of-turn":
        if (!this.usesFlux(input)) return;
        // Flux heard a turn begin: the user has the floor, or is talking over a reply (a barge-in candidate).
        if (!this.userSpeaking && !this.bargeIn.candidate) this.onTurnEvent(conn, input, { type: "speech-start", atMs: 0 });
        return;
      case "eager-end":
        if (!this.usesFlux(input) || this.active || this.bargeIn.candidate || !this.config.endOfTurn.speculative) return;
        return this.speculateOnFluxWords(conn, input, e.text);
      case "resumed":
        if (this.usesFlux(input)) this.cancelSpeculation();
        return;
      case "end-of-turn": {
        if (!this.usesFlux(input)) return;
        const c = this.bargeIn.candidate;
        if (c && c.conn === conn.id) {
          // The end of speech over a reply: it is the candidate's final transcript.
          input.liveEnded = { text: e.text, at: now };
          for (const w of input.liveEndWaiters.splice(0)) w(e.text);
          return;
        }
        const endpointingMs = Math.max(0, now - input.lastVoicedAt);
        const endOfTurn: EndOfTurnSource = input.fluxForced ? "transcript" : "flux";
        input.fluxForced = false;
        this.userSpeaking = false;
        this.lastEarlyEndAt = now;
        // The VAD's utterance ends with Flux's turn: speech from here on is a new one (a barge-in, the next turn).
        const vadEnded = input.detector.endTurn();
        if (vadEnded) {
          input.endOfTurn.onTurnEnd(vadEnded);
          keepFluxUtterance(input, vadEnded.audio);
        }
        const utterance = concatArrays(Int16Array, input.fluxUtterances.splice(0));
        const spec = this.speculative;
        if (spec && spec.conn === conn.id && sameWords(spec.text, e.text)) {
          if (utterance.length > 0) this.recorder.utterance(spec.turn.turnId, utterance);
          return this.confirmSpeculation(endpointingMs, endOfTurn);
        }
        this.cancelSpeculation();
        if (e.text === "") return this.syncState();
        const billed = input.live?.takeBilledSeconds() ?? 0;
        return this.startTurn({
          source: "voice",
          transcribed: { text: e.text, audioSeconds: billed, engine: this.liveEngine(input), sttMs: 0, model: input.live!.model },
          ...(utterance.length > 0 ? { transcribedAudio: utterance } : {}),
          endpointingMs,
          endOfTurn,
          spentBefore: this.takeSpentBefore(),
        });
      }
    }
  }

  /** The recognizer of the microphone the open candidate came from, when it streams. */
  private candidateLive(): { input: ConnectionInput; live: LiveRecognizer } | null {
    const c = this.bargeIn.candidate;
    const input = c ? this.inputs.get(c.conn) : undefined;
    return input?.live ? { input, live: input.live } : null;
  }

  /** A candidate's transcript from streaming recognition: what was heard so far, or its end of turn. */
  private async liveCandidateTranscript(
    { input, live }: { input: ConnectionInput; live: LiveRecognizer },
    kind: "partial" | "final",
    signal: AbortSignal,
  ): Promise<{ text: string; audioSeconds: number; engine: string | undefined; retries: number }> {
    const result = (text: string) => ({ text, audioSeconds: 0, engine: this.liveEngine(input), retries: 0 });
    if (kind === "partial") return result(live.currentText);
    if (!this.usesFlux(input)) return result(await live.finalize(this.config.recognition.finalizeTimeoutMs));
    const openedAt = this.bargeIn.candidate?.state.openedAt ?? 0;
    if (input.liveEnded && input.liveEnded.at >= openedAt) return result(input.liveEnded.text);
    const text = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve(live.currentText), LIVE_FINAL_WAIT_MS);
      input.liveEndWaiters.push((t) => {
        clearTimeout(timer);
        resolve(t);
      });
      signal.addEventListener("abort", () => resolve(live.currentText), { once: true });
    });
    return result(text);
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
      this.broadcastEvent({
        type: "interruption",
        replyId: turn.replyId,
        decision: "confirmed",
        reason: d.reason,
        ...(d.transcript ? { transcript: d.transcript } : {}),
      });
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
      this.store.addMessage({
        role: "user",
        text: d.transcript,
        status: "complete",
        source: "voice",
        turnId: turn.turnId,
        replyId: turn.replyId,
        kind: "backchannel",
        createdAt: now,
      });
      this.broadcastEvent({
        type: "transcript",
        turnId: turn.turnId,
        text: d.transcript,
        source: "voice",
        kind: "backchannel",
        replyId: turn.replyId,
      });
      this.updateIndex();
    }
    if (c.holdsPlayback) {
      this.broadcastEvent({
        type: "interruption",
        replyId: turn.replyId,
        decision: "resumed",
        reason: d.reason,
        ...(d.transcript ? { transcript: d.transcript } : {}),
      });
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
    if (!("result" in speech)) return this.startTurn({ source: "voice", audio: speech.audio, endpointingMs: speech.endpointingMs });
    const { result, sttMs, endpointingMs } = speech;
    this.startTurn({
      source: "voice",
      endpointingMs,
      transcribed: { text: result.text, audioSeconds: result.audioSeconds, engine: result.engine, sttMs },
      transcribedAudio: speech.audio,
    });
  }

  /** Store the candidate and what transcribing it cost (a final transcript reused by the next turn is billed there). */
  private recordCandidate(c: OpenCandidate, d: CandidateDecision, confirming: ConfirmingSpeech | null, now: number): void {
    const audioSeconds = Math.max(0, c.audioSeconds - (confirming?.result.audioSeconds ?? 0));
    const m = this.config.models;
    const cost = turnCost({
      sttModel: m.stt,
      audioInSeconds: audioSeconds,
      llmModel: m.llm,
      promptTokens: 0,
      completionTokens: 0,
      ttsModel: m.tts,
      ttsCharacters: 0,
      ttsAudioSeconds: 0,
    });
    const billed = c.engines.size === 0;
    if (billed) this.budget.charge(cost.neurons);
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

  /**
   * Start a turn's reply. With `speculativeFor` (a connection id) it starts ahead of the end of the
   * user's turn: nothing of it is seen or kept until confirmSpeculation, and the floor stays the user's.
   */
  private startTurn(
    turn: Pick<
      TurnInput,
      | "source"
      | "audio"
      | "text"
      | "transcribed"
      | "transcribedAudio"
      | "transcript"
      | "sttModel"
      | "endpointingMs"
      | "endOfTurn"
      | "spentBefore"
      | "attempt"
      | "retry"
    >,
    speculativeFor?: string,
  ): void {
    if (this.deleted) return;
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
    // The day's budget is known to be spent: not even the speech is recognized.
    const refused = this.budget.refusal();
    if (refused) {
      this.broadcastEvent({ type: "error", code: "budget_exceeded", message: dailyBudgetMessage(refused, Date.now()), retryable: false });
      this.syncState();
      return;
    }
    const previous = this.latest;
    if (!speculativeFor) {
      const held = this.bargeIn.candidate;
      if (held?.holdsPlayback) {
        // The reply it held is being replaced: tell the client to drop it.
        this.broadcastEvent({ type: "interruption", replyId: held.turn.replyId, decision: "confirmed", reason: "speech" });
      }
      this.dropCandidate();
      this.cancelSpeculation();
      if (this.active) this.endTurn(this.active, "superseded");
    }
    const id = `${Date.now().toString(36)}-${(++this.turnCounter).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    const input: TurnInput = { ...turn, turnId: `t-${id}`, replyId: `r-${id}`, language: this.language };
    if (!speculativeFor) {
      input.spentBefore ??= this.takeSpentBefore();
    }
    const handle = new TurnHandle(
      { turnId: input.turnId, replyId: input.replyId },
      input.audio || input.transcript ? "transcribing" : "generating",
      () => this.syncState(),
      { speculative: speculativeFor !== undefined },
    );
    this.latest = handle;
    // Kept before speech-to-text starts, so a restart cannot lose what the user said (a speculative turn's, once confirmed).
    const audio = input.audio;
    if (audio) handle.hold(() => keepUtterance(this.recovery, { ...input, audio }, Date.now()));
    this.recorder.started(input.turnId, input.replyId, audio ?? input.transcribedAudio);
    if (speculativeFor) {
      this.speculative = { turn: handle, text: null, conn: speculativeFor };
    } else {
      this.active = handle;
      this.userSpeaking = false;
    }
    const settleMs = this.config.reliability.turnSettleMs;
    const run = async () => {
      // The previous turn stores its reply before this one reads the history, but a wedged one cannot hold this one up.
      // A turn superseded while it waits stops waiting (it only stores the user's words, then ends).
      if (previous && !(await previous.settledWithin(settleMs, handle.signal)) && !handle.signal.aborted) {
        console.warn(
          `[parley] ${this.name}: turn ${previous.turnId} did not settle within ${settleMs} ms; starting ${input.turnId} anyway`,
        );
      }
      const outcome = await runTurn(
        {
          ai: this.env.AI,
          sessionId: this.name,
          store: this.store,
          config: this.turnConfig(),
          sink: { event: (e) => this.broadcastEvent(e), audio: (bytes) => this.broadcastAudio(bytes) },
          playback: (replyId) => this.playbackReports.get(replyId),
          budget: this.budget,
          ...(audio ? { transcriptStored: (turnId: string) => this.recovery.dropUtterance(turnId) } : {}),
          spoken: (replyId, bytes) => this.recorder.spoke(replyId, bytes),
        },
        input,
        handle,
      );
      // No transcript came (no speech, a failure): nothing of it is left to run again.
      if (audio) this.recovery.dropUtterance(input.turnId);
      if (outcome.discarded) {
        // Thrown away unseen: what it spent is billed with the turn that answers this utterance.
        addDiscarded(this.spentBefore, outcome.usage);
        this.recorder.discard(input.turnId);
        handle.finish();
        return;
      }
      handle.endReason = outcome.endReason;
      this.afterGeneration(handle);
    };
    handle.track(
      run().catch((err: unknown) => {
        console.error(`[parley] ${this.name}: turn ${input.turnId} crashed`, err);
        if (audio) this.recovery.dropUtterance(input.turnId);
        if (!handle.confirmed) {
          this.recorder.discard(input.turnId);
          return handle.discard();
        }
        this.broadcastEvent({
          type: "error",
          code: "internal",
          message: "Something went wrong with that turn.",
          retryable: true,
          replyId: input.replyId,
        });
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
  private endTurn(turn: TurnHandle, reason: "barge-in" | "cancel" | "superseded" | "shutdown", at?: PlaybackPosition): void {
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
    // What was heard is known: record the turn, off the audio path (a deleted session records nothing more).
    if (!this.deleted) this.ctx.waitUntil(this.recorder.settle(turn.turnId, stoppedAt));
    this.schedulePlaybackCheck();
    this.syncState();
    this.updateIndex();
  }

  /** Without word from the client, a reply's playback is over once its audio (plus pauses and a grace period) has had time to play. */
  private schedulePlaybackCheck(): void {
    if (this.playbackTimer) clearTimeout(this.playbackTimer);
    this.playbackTimer = null;
    const turn = this.active;
    if (!turn || !turn.generationDone || turn.phase === "paused") return;
    const deadline = this.playbackDeadline(turn);
    if (deadline === null) return;
    this.playbackTimer = setTimeout(
      () => {
        this.playbackTimer = null;
        if (this.active !== turn || turn.phase === "paused") return;
        if (Date.now() >= (this.playbackDeadline(turn) ?? 0)) this.closeTurn(turn);
        else this.schedulePlaybackCheck();
      },
      Math.max(0, deadline - Date.now()),
    );
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
  private scheduleIdleCheck(): void {
    const at = this.idle.nextCheckAt();
    if (at === null || this.idleTimer) return;
    this.idleTimer = setTimeout(
      () => {
        this.idleTimer = null;
        this.checkIdle(Date.now());
      },
      Math.max(0, at - Date.now()),
    );
  }

  /** Close every connection of a session nobody has used for IDLE_CLOSE_MS; otherwise look again later. */
  private checkIdle(now: number): void {
    if (this.openConnections() === 0) return;
    const busy =
      this.active !== null ||
      this.speculative !== null ||
      this.userSpeaking ||
      this.bargeIn.candidate !== null ||
      this.state !== "listening";
    if (!this.idle.expired(now, busy)) return this.scheduleIdleCheck();
    const limitMs = this.config.limits.idleCloseMs;
    const after = limitMs >= 60_000 ? `${Math.round(limitMs / 60_000)} min` : `${limitMs} ms`;
    for (const c of this.getConnections()) c.close(CLOSE_CODES.idle, `idle: nobody spoke or typed for ${after}`);
  }

  private syncState(): void {
    const turn = this.active;
    const held = this.bargeIn.candidate?.holdsPlayback ?? false;
    let state: SessionState = "listening";
    if (turn && (held || turn.phase === "paused")) state = "paused";
    else if (turn && turn.phase === "speaking") state = "speaking";
    else if (turn && turn.phase !== "done") state = "thinking";
    else if (this.userSpeaking) state = "user-speaking";
    if (state === this.state) return;
    this.idle.touch(Date.now());
    this.broadcastEvent({
      type: "state",
      state,
      ...(turn && state !== "listening" && state !== "user-speaking" ? { replyId: turn.replyId } : {}),
    });
  }

  private positionNow(replyId: string, now: number): PlaybackPosition {
    const { segments, firstSentAt } = this.store.segments(replyId);
    return currentPosition(segments, firstSentAt, this.playbackReports.get(replyId), now);
  }

  private knownReply(replyId: string): boolean {
    return this.active?.replyId === replyId || this.playbackReports.has(replyId) || this.store.segments(replyId).segments.length > 0;
  }

  private rememberReport(replyId: string, report: PlaybackReport): void {
    // Kept for a restart: what was heard of a reply it cuts off is rebuilt from the latest report,
    // advanced while it was playing. Progress while playing is written at most every
    // PLAYBACK_PERSIST_EVERY_MS (each write holds the session's outgoing messages until it is durable);
    // every other state is written at once.
    const persisted = this.persistedReportAt.get(replyId);
    if (report.state !== "playing" || persisted === undefined || report.at - persisted >= PLAYBACK_PERSIST_EVERY_MS) {
      this.recovery.savePlaybackReport(replyId, report);
      this.persistedReportAt.delete(replyId);
      this.persistedReportAt.set(replyId, report.at);
    }
    this.playbackReports.delete(replyId);
    this.playbackReports.set(replyId, report);
  }

  private inputFor(conn: Connection): ConnectionInput {
    let input = this.inputs.get(conn.id);
    if (!input) {
      const now = Date.now();
      const eot = this.config.endOfTurn;
      const detector = new TurnDetector(this.config.turnDetection);
      // The callbacks below reach `created` only once audio flows, after it is built.
      const created: ConnectionInput = {
        detector,
        endOfTurn: new EndOfTurnCoordinator({
          config: eot,
          detector,
          adaptive: this.adaptive,
          smartTurn: (audio, signal) => this.smartTurn(audio, signal),
          liveText: () => created.live?.currentText ?? null,
          language: () => this.language,
          assistsFlux: () => this.assistsFlux(created),
          speculate: (pause) => this.speculate(conn, created, pause),
          cancelSpeculation: () => this.cancelSpeculation(),
          endNow: (event) => this.onTurnEvent(conn, created, event),
        }),
        live: this.config.recognition.mode === "streaming" ? this.liveRecognizer(conn, () => created) : null,
        lastVoicedAt: now,
        liveEnded: null,
        liveEndWaiters: [],
        fluxForced: false,
        fluxUtterances: [],
        userLevelDbfs: null,
      };
      input = created;
      this.inputs.set(conn.id, input);
    }
    return input;
  }

  private liveRecognizer(conn: Connection, inputOf: () => ConnectionInput): LiveRecognizer {
    const r = this.config.recognition;
    const protocol = r.streamingModel.includes("flux")
      ? fluxProtocol({ ...r.flux, keyterms: r.keyterms }, r.streamingModel)
      : novaLiveProtocol({ language: this.language, keyterms: r.keyterms }, r.streamingModel);
    return new LiveRecognizer({
      protocol,
      open: (model, inputs) =>
        (this.env.AI as unknown as AiRunner).run(model, inputs, { websocket: true, tags: ["parley", `session:${this.name}`, "stt:live"] }),
      onEvent: (e) => this.onLiveEvent(conn, inputOf(), e),
      onFailed: (err) => {
        // Batch recognition takes over for this microphone; the user hears about it once.
        console.error(`[parley] ${this.name}: streaming recognition failed, using batch recognition`, err);
        inputOf().live = null;
        this.sendTo(conn, {
          type: "error",
          code: "stt_failed",
          message: `Streaming speech recognition (${r.streamingModel}) is unavailable; using batch recognition.`,
          retryable: false,
        });
      },
    });
  }

  /** smart-turn on the utterance so far; its cost is billed with the turn that answers the utterance. */
  private async smartTurn(audio: Int16Array, signal: AbortSignal): Promise<{ complete: boolean; probability: number }> {
    const eot = this.config.endOfTurn;
    const answer = await askSmartTurn({ ai: this.env.AI, tags: ["parley", `session:${this.name}`, "eot:smart-turn"], signal }, audio, {
      model: eot.smartTurnModel,
      threshold: eot.smartTurnThreshold,
    });
    const spent = this.spentBefore.endOfTurn;
    spent.calls++;
    if (this.config.models.backend !== "local") {
      const cost = audioModelCost(eot.smartTurnModel, answer.audioSeconds);
      spent.neurons += cost.neurons;
      spent.usd += cost.usd;
      this.budget.charge(cost.neurons);
    }
    return answer;
  }

  private broadcastEvent(event: ServerMessage): void {
    if (event.type === "state") this.state = event.state;
    if (this.phoneCalls.size === 0) return this.broadcast(JSON.stringify(event));
    this.broadcast(JSON.stringify(event), [...this.phoneCalls.keys()]);
    for (const p of this.phoneCalls.values()) p.call.event(event);
  }

  /** A reply segment's audio, right after its header. */
  private broadcastAudio(bytes: Uint8Array): void {
    if (this.phoneCalls.size === 0) return this.broadcast(bytes);
    this.broadcast(bytes, [...this.phoneCalls.keys()]);
    for (const p of this.phoneCalls.values()) p.call.audio(bytes);
  }

  private sendTo(conn: Connection, event: ServerMessage): void {
    const phone = this.phoneCalls.get(conn.id);
    if (phone) return phone.call.event(event);
    conn.send(JSON.stringify(event));
  }

  private sendError(conn: Connection, code: ErrorCode, message: string): void {
    this.sendTo(conn, { type: "error", code, message, retryable: false });
  }

  /**
   * Input over a limit is dropped; the client hears about it at most once a second, and a connection still
   * over its own limit (or over its share of a shared one) after the grace period is closed with 1008.
   */
  private admitted(conn: Connection, kind: InputKind, cost: number, now: number): boolean {
    const verdict = this.limiter.admit(conn.id, kind, cost, now);
    if (verdict.ok) return true;
    const what = `${LIMIT_WHAT[kind]} ${LIMIT_SCOPES[verdict.scope]}`;
    if (verdict.close) {
      this.closing.add(conn.id);
      this.limiter.leave(conn.id);
      console.warn(`[parley] ${this.name}: closing connection ${conn.id}: ${what}`);
      conn.close(CLOSE_CODES.rateLimited, `rate limited: ${what}`.slice(0, 120));
    } else if (verdict.warn) {
      this.sendTo(conn, {
        type: "error",
        code: "rate_limited",
        message: `${what}; input dropped (keep going and the connection is closed)`,
        retryable: true,
      });
    }
    return false;
  }
}

const LIMIT_WHAT: Record<InputKind, string> = {
  message: "too many messages",
  audio: "audio faster than real time",
  turn: "too many typed turns",
};

const LIMIT_SCOPES: Record<LimitScope, string> = {
  connection: "on this connection",
  ip: "from this address in this session",
  session: "in this session",
};

function safeJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The longest audio kept for a Flux turn's recording: the newest utterances within it. */
const FLUX_RECORDING_MAX_SAMPLES = 60 * 16_000;

function keepFluxUtterance(input: ConnectionInput, audio: Int16Array): void {
  input.fluxUtterances.push(audio);
  let total = input.fluxUtterances.reduce((n, a) => n + a.length, 0);
  while (total > FLUX_RECORDING_MAX_SAMPLES && input.fluxUtterances.length > 1) total -= input.fluxUtterances.shift()!.length;
}
