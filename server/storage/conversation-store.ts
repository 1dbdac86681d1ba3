// Queries over a session's SQLite: the conversation, per-turn metrics/usage, settings.
import type { HistoryMessage, MessageStatus, TurnMetrics, TurnUsage } from "../../shared/protocol.ts";
import type { SpokenSegment } from "../turn/heard-text.ts";

type Row = Record<string, SqlStorageValue>;

export interface TurnRecord {
  turnId: string;
  replyId: string;
  source: "voice" | "text";
  status: "running" | MessageStatus | "no-speech";
  startedAt: number;
  endedAt: number | null;
  errorCode: string | null;
  models: { stt: string; llm: string; tts: string };
  backend: string | null;
  metrics: TurnMetrics;
  usage: TurnUsage;
}

export class ConversationStore {
  constructor(private readonly sql: SqlStorage) {}

  addMessage(m: {
    role: "user" | "assistant";
    text: string;
    plannedText?: string | undefined;
    status: MessageStatus;
    source: "voice" | "text";
    turnId: string;
    replyId?: string | undefined;
    createdAt: number;
  }): number {
    const row = this.sql
      .exec<{ id: number }>(
        `INSERT INTO messages (role, text, planned_text, status, source, turn_id, reply_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        m.role,
        m.text,
        m.plannedText ?? null,
        m.status,
        m.source,
        m.turnId,
        m.replyId ?? null,
        m.createdAt,
      )
      .one();
    return row.id;
  }

  /** The whole conversation, oldest first (or the newest `limit` messages). */
  history(limit = 10_000): HistoryMessage[] {
    return this.sql
      .exec<Row>(`SELECT * FROM (SELECT * FROM messages ORDER BY id DESC LIMIT ?) ORDER BY id ASC`, limit)
      .toArray()
      .map(toHistoryMessage);
  }

  startTurn(t: { turnId: string; replyId: string; source: "voice" | "text"; startedAt: number; models: { stt: string; llm: string; tts: string } }): void {
    this.sql.exec(
      `INSERT INTO turns (turn_id, reply_id, source, status, started_at, stt_model, llm_model, tts_model)
       VALUES (?, ?, ?, 'running', ?, ?, ?, ?)`,
      t.turnId,
      t.replyId,
      t.source,
      t.startedAt,
      t.models.stt,
      t.models.llm,
      t.models.tts,
    );
  }

  finishTurn(t: {
    turnId: string;
    status: MessageStatus | "no-speech";
    endedAt: number;
    errorCode?: string | undefined;
    backend: string;
    metrics: TurnMetrics;
    usage: TurnUsage;
  }): void {
    const { metrics: m, usage: u } = t;
    this.sql.exec(
      `UPDATE turns SET status = ?, ended_at = ?, error_code = ?, backend = ?,
         endpointing_ms = ?, stt_ms = ?, llm_first_token_ms = ?, first_audio_ms = ?, tts_ms = ?, total_ms = ?, retries = ?,
         audio_in_seconds = ?, prompt_tokens = ?, completion_tokens = ?, tts_characters = ?, tts_audio_seconds = ?, neurons = ?, usd = ?
       WHERE turn_id = ?`,
      t.status,
      t.endedAt,
      t.errorCode ?? null,
      t.backend,
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
      t.turnId,
    );
  }

  /**
   * A turn still 'running' when the object starts was cut off by a restart or deploy: mark it failed,
   * and give a user message that never got its reply a failed (empty) one, so the conversation never
   * shows a turn that will not finish and the LLM context stays well-formed.
   */
  markAbandonedTurns(now: number): number {
    const abandoned = this.sql.exec<{ turn_id: string; reply_id: string }>(`SELECT turn_id, reply_id FROM turns WHERE status = 'running'`).toArray();
    for (const { turn_id, reply_id } of abandoned) {
      this.sql.exec(`UPDATE turns SET status = 'failed', ended_at = ?, error_code = 'internal' WHERE turn_id = ?`, now, turn_id);
      const roles = this.sql.exec<{ role: string }>(`SELECT role FROM messages WHERE turn_id = ?`, turn_id).toArray().map((r) => r.role);
      if (roles.includes("user") && !roles.includes("assistant")) {
        this.addMessage({ role: "assistant", text: "", status: "failed", source: "voice", turnId: turn_id, replyId: reply_id, createdAt: now });
      }
    }
    return abandoned.length;
  }

  addSegment(replyId: string, index: number, text: string, durationMs: number, sentAt: number): void {
    this.sql.exec(`INSERT INTO segments (reply_id, idx, text, duration_ms, sent_at) VALUES (?, ?, ?, ?, ?)`, replyId, index, text, durationMs, sentAt);
  }

  /** The segments sent for a reply, in order, and when the first one went out. */
  segments(replyId: string): { segments: SpokenSegment[]; firstSentAt: number | null } {
    const rows = this.sql
      .exec<{ text: string; duration_ms: number; sent_at: number }>(`SELECT text, duration_ms, sent_at FROM segments WHERE reply_id = ? ORDER BY idx`, replyId)
      .toArray();
    return { segments: rows.map((r) => ({ text: r.text, durationMs: r.duration_ms })), firstSentAt: rows[0]?.sent_at ?? null };
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
      heard,
      replyId,
    );
    this.sql.exec(`UPDATE turns SET status = 'interrupted' WHERE reply_id = ? AND status = 'complete'`, replyId);
  }

  turns(): TurnRecord[] {
    return this.sql.exec<Row>(`SELECT * FROM turns ORDER BY started_at ASC, rowid ASC`).toArray().map(toTurnRecord);
  }

  totalUsd(): number {
    return this.sql.exec<{ usd: number | null }>(`SELECT SUM(usd) AS usd FROM turns`).one().usd ?? 0;
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
    text: String(r.text),
    status: r.status as MessageStatus,
    source: r.source as HistoryMessage["source"],
    createdAt: Number(r.created_at),
  };
  if (r.planned_text !== null && r.planned_text !== r.text) m.plannedText = String(r.planned_text);
  if (r.reply_id !== null) m.replyId = String(r.reply_id);
  return m;
}

const numOrNull = (v: SqlStorageValue) => (v === null ? null : Number(v));

function toTurnRecord(r: Row): TurnRecord {
  return {
    turnId: String(r.turn_id),
    replyId: String(r.reply_id),
    source: r.source as TurnRecord["source"],
    status: r.status as TurnRecord["status"],
    startedAt: Number(r.started_at),
    endedAt: numOrNull(r.ended_at),
    errorCode: r.error_code === null ? null : String(r.error_code),
    models: { stt: String(r.stt_model), llm: String(r.llm_model), tts: String(r.tts_model) },
    backend: r.backend === null ? null : String(r.backend),
    metrics: {
      endpointingMs: Number(r.endpointing_ms),
      sttMs: Number(r.stt_ms),
      llmFirstTokenMs: numOrNull(r.llm_first_token_ms),
      firstAudioMs: numOrNull(r.first_audio_ms),
      ttsMs: Number(r.tts_ms),
      totalMs: Number(r.total_ms),
      retries: Number(r.retries),
    },
    usage: {
      audioInSeconds: Number(r.audio_in_seconds),
      promptTokens: Number(r.prompt_tokens),
      completionTokens: Number(r.completion_tokens),
      ttsCharacters: Number(r.tts_characters),
      ttsAudioSeconds: Number(r.tts_audio_seconds),
      neurons: Number(r.neurons),
      usd: Number(r.usd),
    },
  };
}
