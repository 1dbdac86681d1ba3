// The VoiceSession Durable Object: one per conversation. It wires the pieces together — protocol
// validation, flood limits, turn detection per connection, one turn in flight at a time — and keeps
// the conversation in SQLite. The algorithms live in their own modules.
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
} from "../shared/protocol.ts";
import { pcm16FromBytes } from "./audio/pcm.ts";
import { loadConfig, type ParleyConfig } from "./config.ts";
import { TokenBucket } from "./limits/token-bucket.ts";
import { migrate } from "./storage/migrations.ts";
import { ConversationStore } from "./storage/conversation-store.ts";
import { buildTranscript } from "./transcript/transcript.ts";
import { heardText, type PlaybackReport } from "./turn/heard-text.ts";
import { TurnDetector, type TurnEvent } from "./turn-detection/turn-detector.ts";
import { runTurn, type TurnInput } from "./turn/turn-runner.ts";

const READY_HISTORY_LIMIT = 200;
/** Playback reports are kept for the last few replies only: older ones can no longer be cut short. */
const PLAYBACK_REPORTS_KEPT = 8;

interface ConnectionInput {
  detector: TurnDetector;
  messages: TokenBucket;
  audio: TokenBucket;
  lastLimitErrorAt: number;
}

interface ActiveTurn {
  replyId: string;
  controller: AbortController;
  settled: Promise<void>;
}

export class VoiceSession extends Server<Env> {
  static override options = { hibernate: true };

  private config!: ParleyConfig;
  private store!: ConversationStore;
  private mode: SessionMode = "hands-free";
  private language = "en";
  private state: SessionState = "listening";
  private active: ActiveTurn | null = null;
  // In memory only: after hibernation a connection simply starts a fresh detector.
  private inputs = new Map<string, ConnectionInput>();
  private playbackReports = new Map<string, PlaybackReport>();
  private turnCounter = 0;

  override onStart(): void {
    migrate(this.ctx.storage);
    this.store = new ConversationStore(this.ctx.storage.sql);
    this.config = loadConfig(this.env as unknown as Record<string, unknown>);
    const abandoned = this.store.markAbandonedTurns(Date.now());
    if (abandoned) console.warn(`[parley] ${this.name}: marked ${abandoned} interrupted turn(s) as failed after a restart`);
    this.mode = (this.store.getSetting("mode") as SessionMode | undefined) ?? "hands-free";
    this.language = this.store.getSetting("language") ?? this.config.models.language;
  }

  override onConnect(conn: Connection): void {
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
    });
  }

  override onClose(conn: Connection): void {
    this.inputs.delete(conn.id);
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
    for (const event of input.detector.push(pcm16FromBytes(bytes), this.mode)) this.onTurnEvent(event);
  }

  /** Transcript review: GET /parties/voice-session/<id> answers the whole session as JSON. */
  override onRequest(request: Request): Response {
    if (request.method !== "GET") return Response.json({ error: { code: "method_not_allowed" } }, { status: 405 });
    return Response.json(buildTranscript(this.name, this.store.history(), this.store.turns()));
  }

  // ------------------------------------------------------------------------------------------------

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
        if (turn) this.onTurnEvent(turn);
        return;
      }
      case "cancel":
        this.active?.controller.abort();
        return;
      case "text":
        input.detector.reset();
        return this.startTurn({ source: "text", text: msg.text, endpointingMs: 0 });
      case "playback":
        return this.onPlayback(conn, msg);
      case "ping":
        return this.sendTo(conn, { type: "pong", ...(msg.t !== undefined ? { t: msg.t } : {}), serverTime: Date.now() });
    }
  }

  /** The client says how much of a reply was played; a stop keeps only the heard part in the conversation. */
  private onPlayback(conn: Connection, msg: Extract<ClientMessage, { type: "playback" }>): void {
    const known =
      this.active?.replyId === msg.replyId || this.playbackReports.has(msg.replyId) || this.store.segments(msg.replyId).segments.length > 0;
    if (!known) return this.sendError(conn, "bad_message", `playback for unknown reply ${msg.replyId.slice(0, 64)}`);
    const report: PlaybackReport = { segment: msg.segment, playedMs: msg.playedMs, state: msg.state, at: Date.now() };
    this.playbackReports.delete(msg.replyId);
    this.playbackReports.set(msg.replyId, report);
    if (this.playbackReports.size > PLAYBACK_REPORTS_KEPT) this.playbackReports.delete(this.playbackReports.keys().next().value!);
    if (msg.state !== "stopped") return;
    // A reply still being generated is cut to this position when its turn ends; a stored one now.
    const stored = this.store.reply(msg.replyId);
    if (!stored) return;
    const heard = heardText(this.store.segments(msg.replyId).segments, report);
    if (heard !== stored.text && !(stored.status === "complete" && heard === stored.plannedText)) this.store.markReplyHeard(msg.replyId, heard);
  }

  private onTurnEvent(event: TurnEvent): void {
    if (event.type === "speech-start") {
      // Barge-in: the user talking over the assistant cancels the reply in flight.
      this.active?.controller.abort();
      this.setState("user-speaking");
      return;
    }
    this.startTurn({ source: "voice", audio: event.audio, endpointingMs: event.endpointingMs });
  }

  private startTurn(turn: Pick<TurnInput, "source" | "audio" | "text" | "endpointingMs">): void {
    const limitUsd = this.config.budgets.sessionUsd;
    if (limitUsd > 0 && this.store.totalUsd() >= limitUsd) {
      this.broadcastEvent({
        type: "error",
        code: "budget_exceeded",
        message: `This session has used its Workers AI budget of $${limitUsd}; start a new conversation or raise SESSION_BUDGET_USD.`,
        retryable: false,
      });
      this.setState("listening");
      return;
    }
    const previous = this.active;
    previous?.controller.abort();
    const id = `${Date.now().toString(36)}-${(++this.turnCounter).toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
    const input: TurnInput = { ...turn, turnId: `t-${id}`, replyId: `r-${id}`, language: this.language };
    const controller = new AbortController();
    const run = async () => {
      // The previous turn stores its reply before this one reads the history.
      if (previous) await previous.settled;
      await runTurn(
        {
          ai: this.env.AI,
          sessionId: this.name,
          config: this.config,
          store: this.store,
          sink: { event: (e) => this.broadcastEvent(e), audio: (bytes) => this.broadcast(bytes) },
          playback: (replyId) => this.playbackReports.get(replyId),
        },
        input,
        controller.signal,
      );
    };
    const settled = run()
      .catch((err: unknown) => {
        console.error(`[parley] ${this.name}: turn ${input.turnId} crashed`, err);
        this.broadcastEvent({ type: "error", code: "internal", message: "Something went wrong with that turn.", retryable: true, replyId: input.replyId });
      })
      .finally(() => {
        if (this.active?.replyId === input.replyId) {
          this.active = null;
          this.setState("listening");
        }
      });
    this.active = { replyId: input.replyId, controller, settled };
  }

  private inputFor(conn: Connection): ConnectionInput {
    let input = this.inputs.get(conn.id);
    if (!input) {
      const now = Date.now();
      const { messagesPerSecond, audioRealtimeFactor } = this.config.limits;
      const bytesPerSecond = UPSTREAM_AUDIO.sampleRate * UPSTREAM_AUDIO.bytesPerSample * audioRealtimeFactor;
      input = {
        detector: new TurnDetector(this.config.turnDetection),
        messages: new TokenBucket(messagesPerSecond, messagesPerSecond * 2, now),
        audio: new TokenBucket(bytesPerSecond, Math.max(bytesPerSecond * 2, UPSTREAM_AUDIO.maxFrameBytes * 2), now),
        lastLimitErrorAt: 0,
      };
      this.inputs.set(conn.id, input);
    }
    return input;
  }

  private setState(state: SessionState): void {
    if (state === this.state) return;
    this.broadcastEvent({ type: "state", state, ...(this.active && state !== "listening" ? { replyId: this.active.replyId } : {}) });
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
