// The Parley wire protocol: every message that crosses the WebSocket, both ways.
// Single source of truth for client and server; see shared/protocol.md for the prose version.
import { z } from "zod";

/**
 * 2: pause-confirm-resume interruptions (`barge-in`, `interruption`, `reply-heard`, state `paused`).
 * 3: live captions of the user's speech (`user-partial`), how each turn's end was decided, and
 *    speculative work thrown away (`metrics.endOfTurn`, `usage.wasted`), `turnTaking.endOfTurn`.
 */
export const PROTOCOL_VERSION = 3;

/** Upstream audio: binary WebSocket frames of raw PCM in exactly this format. */
export const UPSTREAM_AUDIO = {
  sampleRate: 16_000,
  channels: 1,
  bytesPerSample: 2, // signed 16-bit little-endian
  frameMs: 20, // what the browser client sends; the server accepts any even length up to maxFrameBytes
  maxFrameBytes: 64 * 1024,
} as const;

/**
 * Session ids are minted by the server (POST /api/sessions): 128 random bits as 26 characters of
 * RFC 4648 base32, lower case. They appear in URLs and in Workers AI request tags.
 */
export const SESSION_ID_PATTERN = /^[a-z2-7]{26}$/;
export const SessionId = z
  .string()
  .regex(SESSION_ID_PATTERN, "session ids are 26 characters of a-z and 2-7, as minted by POST /api/sessions");

/**
 * A session key: `o.<mac>` (the owner's: join live, type, change settings, share) or
 * `r.<version>.<mac>` (a review key: read the transcript only; rotating the session's review version
 * revokes it). `<mac>` is an HMAC-SHA-256 (base64url, 43 characters) the server checks without storage.
 */
export const SESSION_KEY_PATTERN = /^(o|r\.[1-9][0-9]{0,8})\.[A-Za-z0-9_-]{43}$/;
export const SessionKey = z.string().regex(SESSION_KEY_PATTERN, "not a Parley session key");

/**
 * An owner token, `u.<ownerId>.<mac>`: who created a set of sessions, for listing them
 * (GET /api/conversations) without Cloudflare Access. `<ownerId>` is minted like a session id; the
 * MAC (HMAC-SHA-256 under SESSION_SECRET, its own domain) is checked without storage. It opens no session.
 */
export const OWNER_TOKEN_PATTERN = /^u\.[a-z2-7]{26}\.[A-Za-z0-9_-]{43}$/;
export const OwnerToken = z.string().regex(OWNER_TOKEN_PATTERN, "not a Parley owner token");

/**
 * Browsers cannot set headers on a WebSocket: the key travels as a subprotocol. The client offers
 * `parley` and `parley-key.<key>`; the server answers with `parley` (never the key).
 */
export const SESSION_SUBPROTOCOL = "parley";
export const KEY_SUBPROTOCOL_PREFIX = "parley-key.";
/** HTTP API requests carry the key as `Authorization: Bearer <key>`. */
export const KEY_AUTH_SCHEME = "Bearer";

/** POST /api/sessions -> a new session and its owner key (keep it: it is the only way back in). */
export const CreatedSession = z.object({
  id: SessionId,
  ownerKey: SessionKey,
  /** The Cloudflare Access user who created it, when Access is in front; null otherwise. */
  owner: z.string().nullable(),
  /**
   * Without Access: the owner token presented with the request (`Authorization: Bearer u.…`), or a new
   * one; keep it to list your sessions. With Access the owner is the email, and this is null.
   */
  ownerToken: OwnerToken.nullable(),
});
export type CreatedSession = z.infer<typeof CreatedSession>;

/** POST /api/sessions/<id>/review-key (and .../review-key/rotate): a read-only key for share links. */
export const ReviewKeyGrant = z.object({
  id: SessionId,
  reviewKey: SessionKey,
  /** The session's review version: rotating it makes every earlier review key fail. */
  version: z.number().int().positive(),
});
export type ReviewKeyGrant = z.infer<typeof ReviewKeyGrant>;

/** The day's Workers AI spending across every session of a deployment (UTC day; neurons). */
export const DailyBudgetStatus = z.object({
  day: z.string(),
  spentNeurons: z.number(),
  /** Reserved by replies still in flight. */
  reservedNeurons: z.number(),
  /** null: no daily limit. */
  limitNeurons: z.number().nullable(),
  remainingNeurons: z.number().nullable(),
  /** Next 00:00 UTC, epoch ms. */
  resetsAt: z.number(),
});
export type DailyBudgetStatus = z.infer<typeof DailyBudgetStatus>;

/** GET /api/health with the operator key (`Authorization: Bearer op.…`); without one the answer is `{ "ok": true }`. */
export const OperatorHealth = z.object({
  ok: z.literal(true),
  budget: z.object({ daily: DailyBudgetStatus, sessionUsd: z.number().nullable() }),
});
export type OperatorHealth = z.infer<typeof OperatorHealth>;

/** Codes of the HTTP API's JSON errors (`{"error":{"code","message"}}`), also on a refused WebSocket upgrade. */
export const HttpErrorCode = z.enum([
  "bad_path", // a path that does not decode (e.g. `%ZZ`)
  "bad_session_id", // not an id the server mints
  "not_found", // no such route, or no such session: deleted (its keys still verify) — the same answer for both
  "method_not_allowed",
  "upgrade_required", // /parties/voice-session/<id> without a WebSocket upgrade
  "key_required", // no session key offered
  "bad_key", // a key that is not this session's (forged, for another session, another owner)
  "key_revoked", // a review key from before the owner rotated the session's review version
  "read_only", // a review key asked to join live, type, share or rotate
  "origin_forbidden", // a browser page of an origin not in ALLOWED_ORIGINS
  "access_denied", // Cloudflare Access is configured and the request's Access token is missing or invalid
  "rate_limited", // too many session creations or connection attempts from this address
  "too_many_connections", // the session already has its maximum of live connections
  "server_misconfigured", // e.g. no SESSION_SECRET: the server refuses rather than guess
  "bad_owner_token", // POST /api/sessions with an owner token this server did not sign
  "bad_query", // GET /api/conversations with a bad cursor, limit or search text
  "index_unavailable", // the review index (D1) did not answer
  "bad_export_format", // GET /api/sessions/<id>/export without ?format=json|md|vtt|srt
  "delete_failed", // a cleanup outside the session failed; nothing was deleted, the delete can be retried
  "recording_not_found", // a turn's recording that does not exist: not recorded, expired (RECORDING_RETENTION_DAYS) or deleted
  "range_not_satisfiable", // a recording's Range outside its bytes (416)
  "bad_signature", // POST /phone/voice whose X-Twilio-Signature does not sign it
  "bad_request", // a phone webhook without what Twilio always sends (CallSid), or too large to be one
]);
export type HttpErrorCode = z.infer<typeof HttpErrorCode>;
export const HttpError = z.object({ error: z.object({ code: HttpErrorCode, message: z.string() }) });
export type HttpError = z.infer<typeof HttpError>;

/**
 * Caps on text, in UTF-16 code units. Client input over its cap is rejected (`too_long`); text the models
 * produce is cut to its cap where it is stored and sent, so no stored field or message grows without bound.
 */
export const TEXT_LIMITS = {
  /** A typed user message. */
  userText: 2_000,
  /** One recognized utterance (120 s, the longest, is ~2,500 characters of speech). */
  transcript: 4_000,
  /** One reply (LLM_MAX_TOKENS at most 4,096 tokens, ~4 characters each). */
  reply: 16_000,
  /** Ids: reply ids. */
  name: 64,
  /** Labels: which backend answered (engine names included). */
  label: 256,
  /** A whole client text frame, before it is parsed (the longest valid one, a typed message of escaped characters, fits). */
  clientMessage: 16 * 1024,
} as const;

/** `text` cut to `max` code units, never inside a surrogate pair. */
export function clampText(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]!) ? max - 1 : max;
  return text.slice(0, end);
}

/** WebSocket close codes the server uses. */
export const CLOSE_CODES = {
  /** Policy violation: the connection kept exceeding a rate limit after a `rate_limited` error and a grace period. */
  rateLimited: 1008,
  /** The session was deleted by its owner: clients must not reconnect. */
  sessionDeleted: 4404,
  /**
   * Nobody spoke or typed for IDLE_CLOSE_MS: the session let its connections go, so that an open tab
   * does not keep it billed. The client does not reconnect until its user comes back.
   */
  idle: 4408,
} as const;

export const SessionMode = z.enum(["hands-free", "push-to-talk"]);
export type SessionMode = z.infer<typeof SessionMode>;

/**
 * `paused`: the user started talking over the reply; playback is held while the server decides
 * whether it is a real interruption (then the reply stops) or not (then it resumes where it paused).
 */
export const SessionState = z.enum(["listening", "user-speaking", "thinking", "speaking", "paused"]);
export type SessionState = z.infer<typeof SessionState>;

// ---------------------------------------------------------------------------------------------
// Client -> server (JSON text frames)

export const StartMessage = z.object({
  type: z.literal("start"),
  protocol: z.number().int().positive(),
  mode: SessionMode.default("hands-free"),
  /** Spoken language hint for speech-to-text, e.g. "en" or "fr". */
  language: z
    .string()
    .regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/)
    .optional(),
});

export const CommitMessage = z.object({ type: z.literal("commit") });
export const CancelMessage = z.object({ type: z.literal("cancel") });
export const TextMessage = z.object({
  type: z.literal("text"),
  text: z.string().trim().min(1).max(TEXT_LIMITS.userText),
});
export const PlaybackMessage = z.object({
  type: z.literal("playback"),
  replyId: z.string().min(1).max(TEXT_LIMITS.name),
  segment: z.number().int().min(0),
  playedMs: z.number().min(0).max(3_600_000),
  /** "playing": periodic progress; "stopped": playback was cut (barge-in, stop); "finished": the reply played out. */
  state: z.enum(["playing", "stopped", "finished"]).default("playing"),
  /**
   * Sent once per reply, with the report at its first audio: this client's time from the end of the
   * user's turn (its last voiced frame, push-to-talk release or typed send) to the reply's first audio
   * heard. Stored with the turn for review (the first report wins).
   */
  firstAudioMs: z.number().min(0).max(600_000).optional(),
});
export const PingMessage = z.object({ type: z.literal("ping"), t: z.number().optional() });
/**
 * The client's echo-aware speech detector heard the user over the reply (hands-free). `onset`: it
 * paused playback at `segment`/`playedMs`; `sustained`: that speech has now lasted `speechMs`;
 * `ended`: it stopped. The server decides: an `interruption` event confirms or resumes.
 */
export const BargeInMessage = z.object({
  type: z.literal("barge-in"),
  replyId: z.string().min(1).max(TEXT_LIMITS.name),
  event: z.enum(["onset", "sustained", "ended"]),
  segment: z.number().int().min(0),
  playedMs: z.number().min(0).max(3_600_000),
  /** Speech heard so far in this candidate, from its first voiced frame (echo-gated), ms. */
  speechMs: z.number().min(0).max(600_000),
  /** How long the reply had been audible when the speech began (the echo guard's warm-up), ms. */
  playingMs: z.number().min(0).max(3_600_000),
});

export const ClientMessage = z.discriminatedUnion("type", [
  StartMessage,
  CommitMessage,
  CancelMessage,
  TextMessage,
  PlaybackMessage,
  PingMessage,
  BargeInMessage,
]);
export type ClientMessage = z.infer<typeof ClientMessage>;
export type ClientMessageInput = z.input<typeof ClientMessage>;
export const CLIENT_MESSAGE_TYPES = ClientMessage.options.map((o) => o.shape.type.value);

// ---------------------------------------------------------------------------------------------
// Server -> client (JSON text frames, plus binary audio right after each `segment` header)

export const MessageStatus = z.enum(["complete", "interrupted", "failed"]);
export type MessageStatus = z.infer<typeof MessageStatus>;

/** Why a turn ended: it ran its course, or what cut it short. */
export const TurnEndReason = z.enum(["completed", "barge-in", "cancel", "superseded", "failed", "shutdown"]);
export type TurnEndReason = z.infer<typeof TurnEndReason>;

/** A user message is a turn (answered) or a backchannel ("uh-huh" over the reply: kept, never answered). */
export const MessageKind = z.enum(["turn", "backchannel"]);
export type MessageKind = z.infer<typeof MessageKind>;

/** Per-turn tags shown with a reply, restored with the history. */
export const ReplyMeta = z.object({
  firstAudioMs: z.number().min(0).nullable(),
  usd: z.number().min(0),
  neurons: z.number().min(0),
  backend: z.string().nullable(),
  endReason: TurnEndReason.nullable(),
  /** End of the user's turn -> first audio heard, as the client measured it (its playback report); absent when none reported. */
  clientFirstAudioMs: z.number().min(0).optional(),
  /** A failed turn: what failed (an ErrorCode). */
  errorCode: z.string().optional(),
});
export type ReplyMeta = z.infer<typeof ReplyMeta>;

export const HistoryMessage = z.object({
  id: z.number().int(),
  role: z.enum(["user", "assistant"]),
  /** What the conversation (and the LLM) keeps: for an interrupted reply, only what was said. */
  text: z.string().max(TEXT_LIMITS.reply),
  /** The whole planned reply, kept for review when it differs from `text`. */
  plannedText: z.string().max(TEXT_LIMITS.reply).optional(),
  status: MessageStatus,
  /** "voice" (spoken turn) or "text" (typed turn); assistant messages are "voice". */
  source: z.enum(["voice", "text"]),
  /** The turn it belongs to (a backchannel: the turn of the reply it was said over); links it to the transcript's `turns`. */
  turnId: z.string().max(TEXT_LIMITS.name).optional(),
  /** Assistant messages: the reply. User backchannels: the reply they were said over. */
  replyId: z.string().optional(),
  /** Present (as "backchannel") only on backchannels. */
  kind: MessageKind.optional(),
  /** Assistant messages: the turn's tags (first audio, cost, backend, why it ended). */
  meta: ReplyMeta.optional(),
  createdAt: z.number(),
});
export type HistoryMessage = z.infer<typeof HistoryMessage>;

export const EndOfTurnSource = z.enum(["silence", "smart-turn", "transcript", "flux", "commit", "max-length", "text", "interruption"]);
export type EndOfTurnSource = z.infer<typeof EndOfTurnSource>;

export const TurnMetrics = z.object({
  /** Silence waited after the last speech before the turn was declared over (0 for commit / text). */
  endpointingMs: z.number().min(0),
  sttMs: z.number().min(0),
  llmFirstTokenMs: z.number().min(0).nullable(),
  /** End of the user's turn -> first audio byte sent. */
  firstAudioMs: z.number().min(0).nullable(),
  ttsMs: z.number().min(0),
  totalMs: z.number().min(0),
  retries: z.number().int().min(0),
  /** What ended the user's turn: plain silence, smart-turn at a short pause, the transcript signal, Flux, a commit or the length cap. */
  endOfTurn: EndOfTurnSource.optional(),
  /** The reply started before the turn was confirmed (an early end-of-turn signal): its audio was held until then. */
  speculative: z.boolean().optional(),
  // When stages on the way to first audio began, ms from the end of the user's turn (negative: before it,
  // a speculative reply). For the review page's waterfall; absent on turns stored before they were recorded.
  /** Speech-to-text began (voice turns the server transcribed). */
  sttStartMs: z.number().optional(),
  /** The LLM request was sent (its first token came `llmFirstTokenMs` later). */
  llmStartMs: z.number().optional(),
  /** The first sentence of the reply went to text-to-speech. */
  firstChunkMs: z.number().optional(),
});
export type TurnMetrics = z.infer<typeof TurnMetrics>;

export const TurnUsage = z.object({
  audioInSeconds: z.number().min(0),
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  ttsCharacters: z.number().int().min(0),
  ttsAudioSeconds: z.number().min(0),
  neurons: z.number().min(0),
  usd: z.number().min(0),
  /** Speculative replies started for this utterance and cancelled because the user went on (included in neurons and usd). */
  wasted: z
    .object({
      replies: z.number().int().min(0),
      completionTokens: z.number().int().min(0),
      ttsAudioSeconds: z.number().min(0),
      neurons: z.number().min(0),
      usd: z.number().min(0),
    })
    .optional(),
  /** End-of-turn model calls (smart-turn) made for this utterance (included in neurons and usd). */
  endOfTurn: z.object({ calls: z.number().int().min(0), neurons: z.number().min(0), usd: z.number().min(0) }).optional(),
});
export type TurnUsage = z.infer<typeof TurnUsage>;

export const ErrorCode = z.enum([
  "bad_message", // not JSON, or JSON that fails the schema
  "unknown_message", // a `type` this protocol does not have
  "unsupported_protocol",
  "bad_audio", // odd byte length, empty frame
  "audio_too_large", // a frame over UPSTREAM_AUDIO.maxFrameBytes
  "too_long", // a text field over its cap (TEXT_LIMITS)
  "rate_limited", // over a message or audio rate limit (connection, client IP in the session, or session); input dropped
  "budget_exceeded", // session or daily spend limit reached
  "stt_failed",
  "llm_failed",
  "tts_failed",
  "ai_capacity", // Workers AI 3040
  "ai_quota", // Workers AI 3036 daily allocation
  "ai_too_large", // Workers AI 3006
  "ai_paid_plan", // Workers AI 5035: the model needs the Workers Paid plan
  "ai_timeout",
  "ai_unavailable", // 5xx and other upstream failures
  "ai_stream_broken",
  "too_many_connections", // a connection over the session's cap that raced past the check before the upgrade; it is closed
  "internal",
]);

/** Why an interruption candidate was confirmed (`speech`, `words`) or dismissed (the rest). */
export const InterruptionReason = z.enum(["speech", "words", "backchannel", "echo", "noise", "timeout"]);
export type InterruptionReason = z.infer<typeof InterruptionReason>;

/** Turn-taking settings a client needs for its side of barge-in. */
export const TurnTakingSettings = z.object({
  /** Speech over the reply this long (echo-gated) confirms an interruption; the client reports it (`sustained`). */
  minInterruptionMs: z.number().min(0),
  /** A candidate not confirmed this long after its speech ends is dismissed and the reply resumes. */
  falseInterruptionTimeoutMs: z.number().min(0),
  /** How the end of the user's turn is decided (see EndOfTurnSource); `stt` says whether speech is recognized while it is spoken. */
  endOfTurn: z.enum(["silence", "smart-turn", "transcript", "flux"]).optional(),
  stt: z.enum(["batch", "streaming"]).optional(),
});
export type TurnTakingSettings = z.infer<typeof TurnTakingSettings>;
export type ErrorCode = z.infer<typeof ErrorCode>;

export const AudioContainer = z.enum(["mp3", "wav"]);
export type AudioContainer = z.infer<typeof AudioContainer>;

export const ReadyEvent = z.object({
  type: z.literal("ready"),
  protocol: z.number().int(),
  sessionId: z.string(),
  state: SessionState,
  mode: SessionMode,
  /** The newest messages, oldest first, within a byte budget (READY_HISTORY_BYTES of JSON). */
  history: z.array(HistoryMessage),
  /** Present when older messages were left out of `history`: how many, and where the whole transcript is. */
  olderHistory: z.object({ messages: z.number().int().positive(), transcriptPath: z.string() }).optional(),
  /** The reply being generated right now, if any, so a reconnecting client can show it. */
  activeReplyId: z.string().nullable(),
  models: z.object({ stt: z.string(), llm: z.string(), tts: z.string() }),
  /** What answers the model calls: Workers AI, the offline stand-in (`npm start`) or the test fake. */
  aiBackend: z.enum(["workers-ai", "local", "fake"]),
  turnTaking: TurnTakingSettings,
});
export const StateEvent = z.object({
  type: z.literal("state"),
  state: SessionState,
  replyId: z.string().optional(),
});
export const TranscriptEvent = z.object({
  type: z.literal("transcript"),
  turnId: z.string(),
  text: z.string(),
  source: z.enum(["voice", "text"]),
  /** "backchannel": said over a reply and kept, but not answered (`replyId` is that reply). */
  kind: MessageKind.default("turn"),
  replyId: z.string().optional(),
});
export const ReplyDeltaEvent = z.object({
  type: z.literal("reply-delta"),
  replyId: z.string(),
  text: z.string(),
});
export const SegmentEvent = z.object({
  type: z.literal("segment"),
  replyId: z.string(),
  index: z.number().int().min(0),
  text: z.string(),
  container: AudioContainer,
  codec: z.enum(["mp3", "pcm_s16le"]),
  sampleRate: z.number().int().positive(),
  channels: z.number().int().positive(),
  durationMs: z.number().min(0),
  /** Byte length of the binary frame that follows this header. */
  bytes: z.number().int().positive(),
});
export type SegmentEvent = z.infer<typeof SegmentEvent>;
export const ReplyDoneEvent = z.object({
  type: z.literal("reply-done"),
  replyId: z.string(),
  status: MessageStatus,
  text: z.string(),
  metrics: TurnMetrics,
  usage: TurnUsage,
  /** Which backend answered (e.g. "workers-ai", "offline-stand-in"), when the models say so. */
  backend: z.string(),
  endReason: TurnEndReason.default("completed"),
});
/**
 * The server's decision on a barge-in candidate: `confirmed` (stop for good; the speech is a new
 * turn) or `resumed` (play on from where playback paused).
 */
export const InterruptionEvent = z.object({
  type: z.literal("interruption"),
  replyId: z.string(),
  decision: z.enum(["confirmed", "resumed"]),
  reason: InterruptionReason,
  /** What the candidate was heard to say, when it was transcribed. */
  transcript: z.string().optional(),
});
/**
 * A reply's playback is over (played out, stopped, or cut by an interruption): what was heard of it
 * is final. Comes after `reply-done`, which is sent when generation ends.
 */
export const ReplyHeardEvent = z.object({
  type: z.literal("reply-heard"),
  replyId: z.string(),
  status: MessageStatus,
  /** What was heard (and what the conversation keeps). */
  text: z.string(),
  plannedText: z.string(),
  endReason: TurnEndReason,
});
export const ErrorEvent = z.object({
  type: z.literal("error"),
  code: ErrorCode,
  message: z.string(),
  retryable: z.boolean(),
  replyId: z.string().optional(),
});
/** Live caption: what the user is heard saying so far in the turn they are speaking (streaming recognition only). */
export const UserPartialEvent = z.object({
  type: z.literal("user-partial"),
  text: z.string(),
});
export const PongEvent = z.object({ type: z.literal("pong"), t: z.number().optional(), serverTime: z.number() });

export const ServerMessage = z.discriminatedUnion("type", [
  ReadyEvent,
  StateEvent,
  TranscriptEvent,
  ReplyDeltaEvent,
  SegmentEvent,
  ReplyDoneEvent,
  ErrorEvent,
  PongEvent,
  InterruptionEvent,
  ReplyHeardEvent,
  UserPartialEvent,
]);
export type ServerMessage = z.infer<typeof ServerMessage>;
export type ServerEvent<T extends ServerMessage["type"]> = Extract<ServerMessage, { type: T }>;

// ---------------------------------------------------------------------------------------------
// GET /api/sessions/<id>: the reviewable record of a session (server/transcript/transcript.ts builds it)

export const TranscriptTurn = z.object({
  turnId: z.string(),
  replyId: z.string(),
  source: z.enum(["voice", "text"]),
  /** "no-speech": the utterance transcribed to nothing, no reply. */
  status: z.enum(["running", "complete", "interrupted", "failed", "no-speech"]),
  endReason: TurnEndReason.nullable(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  /** A failed turn: its ErrorCode. */
  errorCode: z.string().nullable(),
  models: z.object({ stt: z.string(), llm: z.string(), tts: z.string() }),
  backend: z.string().nullable(),
  metrics: TurnMetrics,
  usage: TurnUsage,
  /** End of the user's turn -> first audio heard, from the client's playback report; null when none came. */
  clientFirstAudioMs: z.number().nullable(),
  retryOf: z.string().optional(),
  retry: z.enum(["pending", "started", "skipped"]).optional(),
  /** Which recordings of the turn exist (RECORD_AUDIO): GET /api/sessions/<id>/recordings/<turnId>/user|reply. */
  recordings: z.object({ user: z.boolean(), reply: z.boolean() }),
});
export type TranscriptTurn = z.infer<typeof TranscriptTurn>;

export const TranscriptInterruption = z.object({
  replyId: z.string(),
  turnId: z.string(),
  source: z.enum(["client", "server"]),
  openedAt: z.number(),
  decidedAt: z.number(),
  decision: z.enum(["confirmed", "resumed"]),
  reason: InterruptionReason,
  transcript: z.string(),
  segment: z.number().nullable(),
  playedMs: z.number().nullable(),
  sttCalls: z.number(),
  audioInSeconds: z.number(),
  neurons: z.number(),
  usd: z.number(),
});
export type TranscriptInterruption = z.infer<typeof TranscriptInterruption>;

/** A phone call the session took (server/phone/): the caller's number masked, never stored whole. */
export const PhoneCallRecord = z.object({
  caller: z.string(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  durationMs: z.number().nullable(),
  /** "stop" (Twilio ended the stream: a hang-up) or "closed" (the socket closed first). */
  endReason: z.string().nullable(),
  /** Workers AI spent during the call (its turns, interruptions and greeting); null while it lasts. */
  usd: z.number().nullable(),
});
export type PhoneCallRecord = z.infer<typeof PhoneCallRecord>;

export const SessionTranscript = z.object({
  sessionId: z.string(),
  owner: z.string().nullable(),
  messages: z.array(HistoryMessage),
  turns: z.array(TranscriptTurn),
  interruptions: z.array(TranscriptInterruption),
  /** Each reply's audio as sent: when its first segment went out (epoch ms), how long all its segments play. */
  replyAudio: z.array(z.object({ replyId: z.string(), firstSentAt: z.number(), audioMs: z.number(), segments: z.number() })),
  totals: z.object({
    turns: z.number(),
    neurons: z.number(),
    usd: z.number(),
    audioInSeconds: z.number(),
    ttsAudioSeconds: z.number(),
    interruptionsConfirmed: z.number(),
    interruptionsResumed: z.number(),
  }),
  /** Phone calls into this session, oldest first (absent when there were none). */
  phoneCalls: z.array(PhoneCallRecord).optional(),
});
export type SessionTranscript = z.infer<typeof SessionTranscript>;

export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: "bad_message" | "unknown_message" | "too_long"; message: string };

/** Parse one JSON text frame from a client; never throws. */
export function parseClientMessage(raw: string): ParsedClientMessage {
  if (raw.length > TEXT_LIMITS.clientMessage) {
    return { ok: false, code: "too_long", message: `message of ${raw.length} characters exceeds ${TEXT_LIMITS.clientMessage}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, code: "bad_message", message: "message is not valid JSON" };
  }
  const type = typeof json === "object" && json !== null ? (json as { type?: unknown }).type : undefined;
  if (typeof type !== "string") {
    return { ok: false, code: "bad_message", message: "message has no string `type`" };
  }
  if (!(CLIENT_MESSAGE_TYPES as string[]).includes(type)) {
    return { ok: false, code: "unknown_message", message: `unknown message type ${JSON.stringify(type.slice(0, 40))}` };
  }
  const parsed = ClientMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "message";
    // A string over its cap (TEXT_LIMITS) has a code of its own: the client can tell the user to shorten it.
    const tooLong = issue?.code === "too_big" && issue.origin === "string";
    return { ok: false, code: tooLong ? "too_long" : "bad_message", message: `invalid ${type}: ${where}: ${issue?.message ?? "invalid"}` };
  }
  return { ok: true, message: parsed.data };
}

/** Validate an upstream binary audio frame; returns an error description or null. */
export function checkAudioFrame(byteLength: number): { code: "bad_audio" | "audio_too_large"; message: string } | null {
  if (byteLength === 0) return { code: "bad_audio", message: "empty audio frame" };
  if (byteLength > UPSTREAM_AUDIO.maxFrameBytes) {
    return { code: "audio_too_large", message: `audio frame of ${byteLength} bytes exceeds ${UPSTREAM_AUDIO.maxFrameBytes}` };
  }
  if (byteLength % 2 !== 0) return { code: "bad_audio", message: `audio frame has odd length ${byteLength}; expected PCM16` };
  return null;
}
