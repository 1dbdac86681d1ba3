// Queries over a session's SQLite: the conversation, per-turn metrics/usage, settings.
import { TEXT_LIMITS, clampText } from "../../shared/protocol.ts";
import type {
  EndOfTurnSource,
  HistoryMessage,
  InterruptionReason,
  MessageKind,
  MessageStatus,
  ReplyMeta,
  TurnEndReason,
  TurnMetrics,
  TurnUsage,
} from "../../shared/protocol.ts";
import type { SpokenSegment } from "../turn/heard-text.ts";
import { textOf } from "./sql-values.ts";

type Row = Record<string, SqlStorageValue>;

export interface TurnRecord {
  turnId: string;
  replyId: string;
  source: "voice" | "text";
  status: "running" | MessageStatus | "no-speech";
  /** Why it ended (null while running, and for turns stored before this was recorded). */
  endReason: TurnEndReason | null;
  startedAt: number;
  endedAt: number | null;
  errorCode: string | null;
  models: { stt: string; llm: string; tts: string };
  backend: string | null;
  metrics: TurnMetrics;
  usage: TurnUsage;
  /** End of the user's turn -> first audio heard, from the client's playback report; null when none came. */
  clientFirstAudioMs: number | null;
  /** This turn retries the reply of `retryOf`, which a restart cut off (server/turn/turn-recovery.ts). */
  retryOf?: string;
  /** A reply a restart cut off: whether it is to be retried, was, or was not (the user spoke since, or it was itself a retry). */
  retry?: "pending" | "started" | "skipped";
}

export interface InterruptionRecord {
  replyId: string;
  turnId: string;
  /** Who heard the speech first: the client's echo-aware detector, or the server's VAD. */
  source: "client" | "server";
  openedAt: number;
  decidedAt: number;
  decision: "confirmed" | "resumed";
  reason: InterruptionReason;
  transcript: string;
  /** Where playback was held, when it was. */
  segment: number | null;
  playedMs: number | null;
  sttCalls: number;
  audioInSeconds: number;
  neurons: number;
  usd: number;
}

/** A reply's audio as the session sent it (from the segments table). */
export interface ReplyAudio {
  replyId: string;
  /** When its first segment was sent (epoch ms). */
  firstSentAt: number;
  /** How long all its segments play. */
  audioMs: number;
  segments: number;
}

export class ConversationStore {
  private readonly sql: SqlStorage;
  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  addMessage(m: {
    role: "user" | "assistant";
    text: string;
    plannedText?: string | undefined;
    status: MessageStatus;
    source: "voice" | "text";
    turnId: string;
    replyId?: string | undefined;
    kind?: MessageKind;
    createdAt: number;
  }): number {
    // Stored text is capped (TEXT_LIMITS): whatever a model returns, no row grows without bound.
    const cap = m.role === "user" ? TEXT_LIMITS.transcript : TEXT_LIMITS.reply;
    const row = this.sql
      .exec<{ id: number }>(
        `INSERT INTO messages (role, text, planned_text, status, source, turn_id, reply_id, kind, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        m.role,
        clampText(m.text, cap),
        m.plannedText === undefined ? null : clampText(m.plannedText, cap),
        m.status,
        m.source,
        m.turnId,
        m.replyId ?? null,
        m.kind ?? "turn",
        m.createdAt,
      )
      .one();
    return row.id;
  }

  /** The whole conversation, oldest first (or the newest `limit` messages), assistant messages with their turn's tags. */
  history(limit = 10_000): HistoryMessage[] {
    return this.sql
      .exec<Row>(
        `SELECT m.*, t.first_audio_ms AS t_first_audio_ms, t.usd AS t_usd, t.neurons AS t_neurons, t.backend AS t_backend,
                t.end_reason AS t_end_reason, t.status AS t_status, t.client_first_audio_ms AS t_client_first_audio_ms, t.error_code AS t_error_code
         FROM (SELECT * FROM messages ORDER BY id DESC LIMIT ?) m
         LEFT JOIN turns t ON m.role = 'assistant' AND t.turn_id = m.turn_id
         ORDER BY m.id ASC`,
        limit,
      )
      .toArray()
      .map(toHistoryMessage);
  }

  /** How many messages the conversation has (backchannels included). */
  messageCount(): number {
    return this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM messages`).one().n;
  }

  /** What the LLM may see: turns only (backchannels are kept for review, never answered), oldest first. */
  conversation(limit: number): { role: "user" | "assistant"; text: string }[] {
    return this.sql
      .exec<{ role: "user" | "assistant"; text: string }>(
        `SELECT role, text FROM (SELECT id, role, text FROM messages WHERE kind = 'turn' ORDER BY id DESC LIMIT ?) ORDER BY id ASC`,
        limit,
      )
      .toArray();
  }

  startTurn(t: {
    turnId: string;
    replyId: string;
    source: "voice" | "text";
    startedAt: number;
    models: { stt: string; llm: string; tts: string };
    retryOf?: string | undefined;
  }): void {
    this.sql.exec(
      `INSERT INTO turns (turn_id, reply_id, source, status, started_at, stt_model, llm_model, tts_model, retry_of)
       VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?)`,
      t.turnId,
      t.replyId,
      t.source,
      t.startedAt,
      t.models.stt,
      t.models.llm,
      t.models.tts,
      t.retryOf ?? null,
    );
  }

  finishTurn(t: {
    turnId: string;
    status: MessageStatus | "no-speech";
    endReason: TurnEndReason;
    endedAt: number;
    errorCode?: string | undefined;
    backend: string;
    metrics: TurnMetrics;
    usage: TurnUsage;
  }): void {
    const { metrics: m, usage: u } = t;
    this.sql.exec(
      `UPDATE turns SET status = ?, end_reason = ?, ended_at = ?, error_code = ?, backend = ?,
         endpointing_ms = ?, stt_ms = ?, llm_first_token_ms = ?, first_audio_ms = ?, tts_ms = ?, total_ms = ?, retries = ?,
         audio_in_seconds = ?, prompt_tokens = ?, completion_tokens = ?, tts_characters = ?, tts_audio_seconds = ?, neurons = ?, usd = ?,
         end_of_turn = ?, speculative = ?, wasted_replies = ?, wasted_completion_tokens = ?, wasted_tts_audio_seconds = ?, wasted_neurons = ?, wasted_usd = ?,
         eot_calls = ?, eot_neurons = ?, eot_usd = ?, stt_start_ms = ?, llm_start_ms = ?, first_chunk_ms = ?
       WHERE turn_id = ?`,
      t.status,
      t.endReason,
      t.endedAt,
      t.errorCode ?? null,
      clampText(t.backend, TEXT_LIMITS.label),
      m.endpointingMs,
      m.sttMs,
      m.llmFirstTokenMs,
      m.firstAudioMs,
      m.ttsMs,
      m.totalMs,
      m.retries,
      u.audioInSeconds,
      u.promptTokens,
      u.completionTokens,
      u.ttsCharacters,
      u.ttsAudioSeconds,
      u.neurons,
      u.usd,
      m.endOfTurn ?? null,
      m.speculative ? 1 : 0,
      u.wasted?.replies ?? 0,
      u.wasted?.completionTokens ?? 0,
      u.wasted?.ttsAudioSeconds ?? 0,
      u.wasted?.neurons ?? 0,
      u.wasted?.usd ?? 0,
      u.endOfTurn?.calls ?? 0,
      u.endOfTurn?.neurons ?? 0,
      u.endOfTurn?.usd ?? 0,
      m.sttStartMs ?? null,
      m.llmStartMs ?? null,
      m.firstChunkMs ?? null,
      t.turnId,
    );
  }

  /** A client heard the reply's first audio this long after the end of the user's turn (the first report wins). */
  setClientFirstAudio(replyId: string, ms: number): void {
    this.sql.exec(`UPDATE turns SET client_first_audio_ms = ? WHERE reply_id = ? AND client_first_audio_ms IS NULL`, ms, replyId);
  }

  addSegment(replyId: string, index: number, text: string, durationMs: number, sentAt: number): void {
    this.sql.exec(
      `INSERT INTO segments (reply_id, idx, text, duration_ms, sent_at) VALUES (?, ?, ?, ?, ?)`,
      replyId,
      index,
      clampText(text, TEXT_LIMITS.reply),
      durationMs,
      sentAt,
    );
  }

  /** The segments sent for a reply, in order, and when the first one went out. */
  segments(replyId: string): { segments: SpokenSegment[]; firstSentAt: number | null } {
    const rows = this.sql
      .exec<{ text: string; duration_ms: number; sent_at: number }>(
        `SELECT text, duration_ms, sent_at FROM segments WHERE reply_id = ? ORDER BY idx`,
        replyId,
      )
      .toArray();
    return { segments: rows.map((r) => ({ text: r.text, durationMs: r.duration_ms })), firstSentAt: rows[0]?.sent_at ?? null };
  }

  /** Every reply's audio as sent: when its first segment went out and how long all of it plays (export cue times). */
  replyAudio(): ReplyAudio[] {
    return this.sql
      .exec<{ reply_id: string; first_sent_at: number; audio_ms: number; segments: number }>(
        `SELECT reply_id, MIN(sent_at) AS first_sent_at, SUM(duration_ms) AS audio_ms, COUNT(*) AS segments FROM segments GROUP BY reply_id ORDER BY first_sent_at`,
      )
      .toArray()
      .map((r) => ({
        replyId: textOf(r.reply_id),
        firstSentAt: Number(r.first_sent_at),
        audioMs: Number(r.audio_ms),
        segments: Number(r.segments),
      }));
  }

  /** The stored reply for `replyId`, if the turn has finished. */
  reply(replyId: string): { text: string; plannedText: string; status: MessageStatus } | undefined {
    const row = this.sql
      .exec<{ text: string; planned_text: string | null; status: MessageStatus }>(
        `SELECT text, planned_text, status FROM messages WHERE reply_id = ? AND role = 'assistant'`,
        replyId,
      )
      .toArray()[0];
    return row ? { text: row.text, plannedText: row.planned_text ?? row.text, status: row.status } : undefined;
  }

  /** Keep only what was heard of a reply whose playback was cut short (a failed reply stays failed). */
  markReplyHeard(replyId: string, heard: string): void {
    this.sql.exec(
      `UPDATE messages SET text = ?, status = CASE status WHEN 'failed' THEN 'failed' ELSE 'interrupted' END
       WHERE reply_id = ? AND role = 'assistant'`,
      clampText(heard, TEXT_LIMITS.reply),
      replyId,
    );
    this.sql.exec(`UPDATE turns SET status = 'interrupted' WHERE reply_id = ? AND status = 'complete'`, replyId);
  }

  /** The turn a stored reply belongs to. */
  turnIdOfReply(replyId: string): string | undefined {
    return this.sql.exec<{ turn_id: string }>(`SELECT turn_id FROM turns WHERE reply_id = ?`, replyId).toArray()[0]?.turn_id;
  }

  turnEndReason(turnId: string): TurnEndReason | undefined {
    const r = this.sql
      .exec<{ end_reason: string | null }>(`SELECT end_reason FROM turns WHERE turn_id = ?`, turnId)
      .toArray()[0]?.end_reason;
    return r === null || r === undefined ? undefined : (r as TurnEndReason);
  }

  setTurnEndReason(turnId: string, reason: TurnEndReason): void {
    this.sql.exec(`UPDATE turns SET end_reason = ? WHERE turn_id = ?`, reason, turnId);
  }

  addInterruption(r: InterruptionRecord): void {
    this.sql.exec(
      `INSERT INTO interruptions (reply_id, turn_id, source, opened_at, decided_at, decision, reason, transcript, segment, played_ms,
         stt_calls, audio_in_seconds, neurons, usd)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      r.replyId,
      r.turnId,
      r.source,
      r.openedAt,
      r.decidedAt,
      r.decision,
      r.reason,
      clampText(r.transcript, TEXT_LIMITS.transcript),
      r.segment,
      r.playedMs,
      r.sttCalls,
      r.audioInSeconds,
      r.neurons,
      r.usd,
    );
  }

  interruptions(): InterruptionRecord[] {
    return this.sql.exec<Row>(`SELECT * FROM interruptions ORDER BY id ASC`).toArray().map(toInterruptionRecord);
  }

  turns(): TurnRecord[] {
    return this.sql.exec<Row>(`SELECT * FROM turns ORDER BY started_at ASC, rowid ASC`).toArray().map(toTurnRecord);
  }

  /** Everything the session spent: its turns and the transcription of barge-in candidates. */
  totalUsd(): number {
    return (
      this.sql
        .exec<{ usd: number | null }>(
          `SELECT (SELECT COALESCE(SUM(usd), 0) FROM turns) + (SELECT COALESCE(SUM(usd), 0) FROM interruptions) AS usd`,
        )
        .one().usd ?? 0
    );
  }

  /** The whole conversation, its metrics, segments, barge-in candidates and settings (the session is being deleted). */
  deleteAll(): void {
    this.sql.exec(`DELETE FROM messages; DELETE FROM turns; DELETE FROM segments; DELETE FROM interruptions; DELETE FROM settings`);
  }

  getSetting(key: string): string | undefined {
    return this.sql.exec<{ value: string }>(`SELECT value FROM settings WHERE key = ?`, key).toArray()[0]?.value;
  }

  setSetting(key: string, value: string): void {
    this.sql.exec(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value);
  }
}

function toHistoryMessage(r: Row): HistoryMessage {
  const m: HistoryMessage = {
    id: Number(r.id),
    role: r.role as HistoryMessage["role"],
    text: textOf(r.text),
    status: r.status as MessageStatus,
    source: r.source as HistoryMessage["source"],
    turnId: textOf(r.turn_id),
    createdAt: Number(r.created_at),
  };
  if (r.planned_text !== null && r.planned_text !== r.text) m.plannedText = textOf(r.planned_text);
  if (r.reply_id !== null) m.replyId = textOf(r.reply_id);
  if (r.kind === "backchannel") m.kind = "backchannel";
  if (m.role === "assistant" && r.t_status !== null && r.t_status !== undefined && r.t_status !== "running") {
    const meta: ReplyMeta = {
      firstAudioMs: numOrNull(r.t_first_audio_ms ?? null),
      usd: Number(r.t_usd ?? 0),
      neurons: Number(r.t_neurons ?? 0),
      backend: r.t_backend === null || r.t_backend === undefined ? null : textOf(r.t_backend),
      endReason: r.t_end_reason === null || r.t_end_reason === undefined ? null : (textOf(r.t_end_reason) as TurnEndReason),
    };
    if (r.t_client_first_audio_ms !== null && r.t_client_first_audio_ms !== undefined)
      meta.clientFirstAudioMs = Number(r.t_client_first_audio_ms);
    if (r.t_error_code !== null && r.t_error_code !== undefined) meta.errorCode = textOf(r.t_error_code);
    m.meta = meta;
  }
  return m;
}

function toInterruptionRecord(r: Row): InterruptionRecord {
  return {
    replyId: textOf(r.reply_id),
    turnId: textOf(r.turn_id),
    source: r.source as InterruptionRecord["source"],
    openedAt: Number(r.opened_at),
    decidedAt: Number(r.decided_at),
    decision: r.decision as InterruptionRecord["decision"],
    reason: r.reason as InterruptionReason,
    transcript: textOf(r.transcript),
    segment: numOrNull(r.segment ?? null),
    playedMs: numOrNull(r.played_ms ?? null),
    sttCalls: Number(r.stt_calls),
    audioInSeconds: Number(r.audio_in_seconds),
    neurons: Number(r.neurons),
    usd: Number(r.usd),
  };
}

const numOrNull = (v: SqlStorageValue) => (v === null ? null : Number(v));

function toTurnRecord(r: Row): TurnRecord {
  return {
    turnId: textOf(r.turn_id),
    replyId: textOf(r.reply_id),
    source: r.source as TurnRecord["source"],
    status: r.status as TurnRecord["status"],
    endReason: r.end_reason === null || r.end_reason === undefined ? null : (textOf(r.end_reason) as TurnEndReason),
    startedAt: Number(r.started_at),
    endedAt: numOrNull(r.ended_at),
    errorCode: r.error_code === null ? null : textOf(r.error_code),
    models: { stt: textOf(r.stt_model), llm: textOf(r.llm_model), tts: textOf(r.tts_model) },
    backend: r.backend === null ? null : textOf(r.backend),
    metrics: {
      endpointingMs: Number(r.endpointing_ms),
      sttMs: Number(r.stt_ms),
      llmFirstTokenMs: numOrNull(r.llm_first_token_ms),
      firstAudioMs: numOrNull(r.first_audio_ms),
      ttsMs: Number(r.tts_ms),
      totalMs: Number(r.total_ms),
      retries: Number(r.retries),
      ...(r.end_of_turn !== null && r.end_of_turn !== undefined ? { endOfTurn: textOf(r.end_of_turn) as EndOfTurnSource } : {}),
      ...(Number(r.speculative) ? { speculative: true } : {}),
      ...(r.stt_start_ms !== null && r.stt_start_ms !== undefined ? { sttStartMs: Number(r.stt_start_ms) } : {}),
      ...(r.llm_start_ms !== null && r.llm_start_ms !== undefined ? { llmStartMs: Number(r.llm_start_ms) } : {}),
      ...(r.first_chunk_ms !== null && r.first_chunk_ms !== undefined ? { firstChunkMs: Number(r.first_chunk_ms) } : {}),
    },
    usage: {
      audioInSeconds: Number(r.audio_in_seconds),
      promptTokens: Number(r.prompt_tokens),
      completionTokens: Number(r.completion_tokens),
      ttsCharacters: Number(r.tts_characters),
      ttsAudioSeconds: Number(r.tts_audio_seconds),
      neurons: Number(r.neurons),
      usd: Number(r.usd),
      ...(Number(r.wasted_replies) > 0
        ? {
            wasted: {
              replies: Number(r.wasted_replies),
              completionTokens: Number(r.wasted_completion_tokens),
              ttsAudioSeconds: Number(r.wasted_tts_audio_seconds),
              neurons: Number(r.wasted_neurons),
              usd: Number(r.wasted_usd),
            },
          }
        : {}),
      ...(Number(r.eot_calls) > 0
        ? { endOfTurn: { calls: Number(r.eot_calls), neurons: Number(r.eot_neurons), usd: Number(r.eot_usd) } }
        : {}),
    },
    clientFirstAudioMs: numOrNull(r.client_first_audio_ms ?? null),
    ...(r.retry_of !== null && r.retry_of !== undefined ? { retryOf: textOf(r.retry_of) } : {}),
    ...(r.retry !== null && r.retry !== undefined ? { retry: r.retry as NonNullable<TurnRecord["retry"]> } : {}),
  };
}
