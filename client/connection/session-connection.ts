// The session connection: partysocket (automatic reconnect with backoff) speaking shared/protocol.ts.
// - Sends `start` on every (re)open; the server answers `ready` with the history and state.
// - Validates every server message with zod; pairs each `segment` header with the binary frame that
//   immediately follows it.
// - Audio is sent only while the session is ready: audio captured while disconnected is dropped,
//   never queued and sent late as if it were live. Nothing else is queued by the socket either;
//   playback reports made while offline are kept (latest per reply) and sent after the next `ready`.
import { PartySocket } from "partysocket";
import {
  CLOSE_CODES,
  ClientMessage,
  KEY_SUBPROTOCOL_PREFIX,
  PROTOCOL_VERSION,
  SESSION_SUBPROTOCOL,
  ServerMessage,
  type ClientMessageInput,
  type SegmentEvent,
  type SessionMode,
} from "../../shared/protocol.ts";
import type { ConnectionStatus } from "./connection-status.ts";

export interface SessionConnectionOptions {
  host: string;
  sessionId: string;
  /** The owner key: offered as a WebSocket subprotocol (browsers cannot set headers on a WebSocket). */
  key: string;
  mode: SessionMode;
  language?: string;
  /** Secure WebSocket? Defaults to the page's protocol. */
  secure?: boolean;
}

export interface ConnectionHandlers {
  status(status: ConnectionStatus, detail?: { attempt: number; code?: number; reason?: string }): void;
  message(message: ServerMessage): void;
  segment(header: SegmentEvent, audio: ArrayBuffer): void;
  /** A server message that failed validation or arrived out of order (logged, connection kept). */
  protocolError(description: string): void;
}

/** WebSocket close codes the server may use to say "this session does not exist". */
const NOT_FOUND_CLOSE_CODES = new Set<number>([4004, CLOSE_CODES.sessionDeleted]);

export class SessionConnection {
  readonly sessionId: string;
  private mode: SessionMode;
  private readonly language: string | undefined;
  private readonly socket: PartySocket;
  private readonly handlers: ConnectionHandlers;
  private pendingSegment: SegmentEvent | null = null;
  private statusValue: ConnectionStatus = "connecting";
  private everReady = false;
  private readonly outbox = new Map<string, ClientMessageInput>();
  private attempts = 0;
  /** Upstream counters (for the UI and the tests). */
  readonly counters = { audioFramesSent: 0, audioFramesDropped: 0, messagesSent: 0, messagesReceived: 0 };

  constructor(options: SessionConnectionOptions, handlers: ConnectionHandlers) {
    this.sessionId = options.sessionId;
    this.mode = options.mode;
    this.language = options.language;
    this.handlers = handlers;
    const secure = options.secure ?? (typeof location !== "undefined" && location.protocol === "https:");
    this.socket = new PartySocket({
      host: options.host,
      party: "voice-session",
      room: options.sessionId,
      protocol: secure ? "wss" : "ws",
      protocols: [SESSION_SUBPROTOCOL, `${KEY_SUBPROTOCOL_PREFIX}${options.key}`],
      minReconnectionDelay: 500 + Math.random() * 500,
      maxReconnectionDelay: 8_000,
      reconnectionDelayGrowFactor: 1.6,
      connectionTimeout: 5_000,
      maxEnqueuedMessages: 0,
    });
    this.socket.binaryType = "arraybuffer";
    this.socket.addEventListener("open", this.onOpen);
    this.socket.addEventListener("message", this.onMessage);
    this.socket.addEventListener("close", this.onClose);
  }

  get status(): ConnectionStatus {
    return this.statusValue;
  }

  get isReady(): boolean {
    return this.statusValue === "ready";
  }

  /** Change hands-free / push-to-talk: a fresh `start` on the open socket (or on the next open). */
  setMode(mode: SessionMode): void {
    if (mode === this.mode) return;
    this.mode = mode;
    if (this.statusValue === "ready") this.sendStart();
  }

  /** Send a control message (validated against the protocol). Returns false when not connected. */
  send(message: ClientMessageInput): boolean {
    const parsed = ClientMessage.safeParse(message);
    if (!parsed.success) {
      console.error("[parley] refusing to send an invalid message", message, parsed.error.issues);
      return false;
    }
    if (!this.isReady && message.type !== "start") return false;
    this.socket.send(JSON.stringify(parsed.data));
    this.counters.messagesSent++;
    return true;
  }

  /**
   * Send a playback report; if offline, keep the latest final report per reply and deliver it after
   * the next `ready` (what the user heard still matters to the stored conversation).
   */
  sendPlayback(report: Extract<ClientMessageInput, { type: "playback" }>): void {
    if (this.send(report)) return;
    if (report.state !== "playing") this.outbox.set(report.replyId, report);
  }

  /** Send one upstream PCM16 frame; dropped (returns false) unless the session is ready. */
  sendAudio(frame: ArrayBuffer): boolean {
    if (!this.isReady || this.socket.readyState !== WebSocket.OPEN) {
      this.counters.audioFramesDropped++;
      return false;
    }
    this.socket.send(frame);
    this.counters.audioFramesSent++;
    return true;
  }

  /** Connect again after the server closed an idle session ("asleep"). */
  resume(): void {
    if (this.statusValue !== "asleep") return;
    this.setStatus("connecting");
    this.socket.reconnect();
  }

  /** Simulate a network drop (tests): the socket closes abnormally and reconnects with backoff. */
  dropForTest(): void {
    this.socket.reconnect(4000, "test: simulated network drop");
  }

  close(): void {
    this.socket.removeEventListener("open", this.onOpen);
    this.socket.removeEventListener("message", this.onMessage);
    this.socket.removeEventListener("close", this.onClose);
    this.socket.close(1000, "client closed");
    this.setStatus("closed");
  }

  private setStatus(status: ConnectionStatus, detail?: { code?: number; reason?: string }): void {
    this.statusValue = status;
    this.handlers.status(status, { attempt: this.attempts, ...detail });
  }

  private readonly onOpen = (): void => {
    this.pendingSegment = null;
    this.attempts = 0;
    this.setStatus("handshake");
    this.sendStart();
  };

  private sendStart(): void {
    this.socket.send(
      JSON.stringify({ type: "start", protocol: PROTOCOL_VERSION, mode: this.mode, ...(this.language ? { language: this.language } : {}) }),
    );
    this.counters.messagesSent++;
  }

  private readonly onClose = (event: CloseEvent): void => {
    this.pendingSegment = null;
    // partysocket's synthetic close events (on reconnect()) do not always carry a numeric code.
    const code = typeof event.code === "number" ? event.code : undefined;
    const reason = typeof event.reason === "string" && event.reason ? event.reason : undefined;
    const detail = { ...(code !== undefined ? { code } : {}), ...(reason ? { reason } : {}) };
    if (code !== undefined && NOT_FOUND_CLOSE_CODES.has(code)) {
      this.socket.close(1000, "session not found");
      this.setStatus("not-found", detail);
      return;
    }
    if (code === CLOSE_CODES.idle) {
      // Reconnecting at once would keep the idle session billed: wait for the user.
      this.socket.close(1000, "idle");
      this.setStatus("asleep", detail);
      return;
    }
    this.attempts++;
    this.setStatus(this.everReady ? "reconnecting" : "connecting", detail);
  };

  private readonly onMessage = (event: MessageEvent): void => {
    this.counters.messagesReceived++;
    const data: unknown = event.data;
    if (data instanceof ArrayBuffer) {
      const header = this.pendingSegment;
      this.pendingSegment = null;
      if (!header) {
        this.handlers.protocolError(`binary frame of ${data.byteLength} bytes without a segment header`);
        return;
      }
      if (header.bytes !== data.byteLength) {
        this.handlers.protocolError(`segment ${header.replyId}#${header.index}: header says ${header.bytes} bytes, got ${data.byteLength}`);
      }
      this.handlers.segment(header, data);
      return;
    }
    if (typeof data !== "string") {
      this.handlers.protocolError("unexpected frame type (Blob?): binaryType must be arraybuffer");
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.handlers.protocolError("server sent invalid JSON");
      return;
    }
    const parsed = ServerMessage.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.handlers.protocolError(`invalid server message: ${issue?.path.join(".") || "message"}: ${issue?.message ?? "?"}`);
      return;
    }
    const message = parsed.data;
    if (this.pendingSegment) {
      this.handlers.protocolError(`segment ${this.pendingSegment.replyId}#${this.pendingSegment.index} header not followed by its audio`);
      this.pendingSegment = null;
    }
    if (message.type === "segment") {
      this.pendingSegment = message;
      return;
    }
    if (message.type === "ready") {
      this.everReady = true;
      this.setStatus("ready");
      this.handlers.message(message);
      for (const report of this.outbox.values()) this.send(report);
      this.outbox.clear();
      return;
    }
    this.handlers.message(message);
  };
}
