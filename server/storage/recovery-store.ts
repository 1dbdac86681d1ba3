// What a restart must not lose, kept in the session's SQLite beside the conversation: the user's
// utterance until its transcript is stored, the clients' latest playback report per reply, and
// where a reply cut off by a restart stands with its one retry. The rules are server/turn/turn-recovery.ts.
import type { EndOfTurnSource } from "../../shared/protocol.ts";
import { concatArrays } from "../../shared/typed-arrays.ts";
import type { PlaybackReport } from "../turn/heard-text.ts";
import { textOf } from "./sql-values.ts";

/** Durable Object SQLite takes at most 2 MB per row: an utterance (up to 120 s, 3.84 MB of PCM16) is kept in chunks of this size. */
export const UTTERANCE_CHUNK_BYTES = 512 * 1024;
/** Playback reports are needed only for replies that may still be playing or be cut short: the newest few are kept (here and in the session's memory). */
export const PLAYBACK_REPORTS_KEPT = 8;

export interface KeptUtterance {
  turnId: string;
  /** 16 kHz mono PCM16. */
  audio: Int16Array;
  endpointingMs: number;
  endOfTurn: EndOfTurnSource | null;
  /** How many times it has been sent to speech-to-text (1 for the first run). */
  attempt: number;
  createdAt: number;
}

/** Which turn and reply, and how the user spoke: the columns every turn query here reads. */
interface TurnRef {
  turnId: string;
  replyId: string;
  source: "voice" | "text";
}

/** A turn the store still shows as running (at start-up: one a restart cut off). */
export interface RunningTurn extends TurnRef {
  startedAt: number;
  retryOf: string | null;
  /** The user's words were stored (speech-to-text was over; a retry answers words stored with the turn it retries). */
  userStored: boolean;
  /** Its reply was stored (only its turn record was left to finish). */
  replyStored: boolean;
}

export type RetryState = "pending" | "started" | "skipped";

export interface CutReply extends TurnRef {
  /** What the user said in that turn (the words the retry answers). */
  userText: string;
  /** What they heard of the reply before it was cut off. */
  heard: string;
  /** When anything of the turn last happened: its start, or the last segment sent. */
  lastActivityAt: number;
}

type Row = Record<string, SqlStorageValue>;

function turnRef(r: Row): TurnRef {
  return { turnId: textOf(r.turn_id), replyId: textOf(r.reply_id), source: r.source as TurnRef["source"] };
}

export class RecoveryStore {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Keep a turn's utterance (once per turn: a run again is a new turn). */
  saveUtterance(u: KeptUtterance): void {
    this.#sql.exec(
      `INSERT INTO pending_utterances (turn_id, endpointing_ms, end_of_turn, attempt, created_at) VALUES (?, ?, ?, ?, ?)`,
      u.turnId,
      u.endpointingMs,
      u.endOfTurn,
      u.attempt,
      u.createdAt,
    );
    const bytes = new Uint8Array(u.audio.buffer, u.audio.byteOffset, u.audio.byteLength);
    for (let i = 0, idx = 0; i < bytes.byteLength; i += UTTERANCE_CHUNK_BYTES, idx++) {
      this.#sql.exec(
        `INSERT INTO utterance_chunks (turn_id, idx, pcm) VALUES (?, ?, ?)`,
        u.turnId,
        idx,
        bytes.slice(i, i + UTTERANCE_CHUNK_BYTES).buffer,
      );
    }
  }

  /** The kept utterances, oldest first. */
  utterances(): KeptUtterance[] {
    const rows = this.#sql.exec<Row>(`SELECT * FROM pending_utterances ORDER BY created_at ASC, rowid ASC`).toArray();
    return rows.map((r) => {
      const turnId = textOf(r.turn_id);
      const chunks = this.#sql
        .exec<{ pcm: ArrayBuffer }>(`SELECT pcm FROM utterance_chunks WHERE turn_id = ? ORDER BY idx`, turnId)
        .toArray()
        .map((c) => new Uint8Array(c.pcm));
      const bytes = concatArrays(Uint8Array, chunks);
      return {
        turnId,
        audio: new Int16Array(bytes.buffer, 0, bytes.byteLength >> 1),
        endpointingMs: Number(r.endpointing_ms),
        endOfTurn: r.end_of_turn === null ? null : (textOf(r.end_of_turn) as EndOfTurnSource),
        attempt: Number(r.attempt),
        createdAt: Number(r.created_at),
      };
    });
  }

  dropUtterance(turnId: string): void {
    this.#sql.exec(`DELETE FROM pending_utterances WHERE turn_id = ?`, turnId);
    this.#sql.exec(`DELETE FROM utterance_chunks WHERE turn_id = ?`, turnId);
  }

  /** Everything kept for a restart (the session is being deleted). */
  deleteAll(): void {
    this.#sql.exec(`DELETE FROM pending_utterances; DELETE FROM utterance_chunks; DELETE FROM playback_reports`);
  }

  savePlaybackReport(replyId: string, r: PlaybackReport): void {
    this.#sql.exec(
      `INSERT INTO playback_reports (reply_id, segment, played_ms, state, at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (reply_id) DO UPDATE SET segment = excluded.segment, played_ms = excluded.played_ms, state = excluded.state, at = excluded.at`,
      replyId,
      r.segment,
      r.playedMs,
      r.state,
      r.at,
    );
    this.#sql.exec(
      `DELETE FROM playback_reports WHERE reply_id NOT IN (SELECT reply_id FROM playback_reports ORDER BY at DESC, rowid DESC LIMIT ?)`,
      PLAYBACK_REPORTS_KEPT,
    );
  }

  /** The kept reports, oldest first. */
  playbackReports(): [string, PlaybackReport][] {
    return this.#sql
      .exec<Row>(`SELECT * FROM playback_reports ORDER BY at ASC, rowid ASC`)
      .toArray()
      .map((r) => [
        textOf(r.reply_id),
        { segment: Number(r.segment), playedMs: Number(r.played_ms), state: r.state as PlaybackReport["state"], at: Number(r.at) },
      ]);
  }

  runningTurns(): RunningTurn[] {
    return this.#sql
      .exec<Row>(
        `SELECT t.turn_id, t.reply_id, t.source, t.started_at, t.retry_of,
                (t.retry_of IS NOT NULL OR EXISTS (SELECT 1 FROM messages m WHERE m.turn_id = t.turn_id AND m.role = 'user' AND m.kind = 'turn')) AS user_stored,
                EXISTS (SELECT 1 FROM messages m WHERE m.turn_id = t.turn_id AND m.role = 'assistant') AS reply_stored
         FROM turns t WHERE t.status = 'running' ORDER BY t.rowid ASC`,
      )
      .toArray()
      .map((r) => ({
        ...turnRef(r),
        startedAt: Number(r.started_at),
        retryOf: r.retry_of === null ? null : textOf(r.retry_of),
        userStored: Number(r.user_stored) === 1,
        replyStored: Number(r.reply_stored) === 1,
      }));
  }

  /** A turn that never got past speech-to-text: it failed, cut off by the restart (its utterance runs again as a new turn). */
  markTurnAbandoned(turnId: string, now: number): void {
    this.#sql.exec(
      `UPDATE turns SET status = 'failed', end_reason = 'shutdown', ended_at = ?, error_code = 'internal' WHERE turn_id = ?`,
      now,
      turnId,
    );
  }

  /** A reply a restart or shutdown cut off: interrupted, end reason `shutdown`. */
  markReplyCut(turnId: string, now: number): void {
    this.#sql.exec(`UPDATE turns SET status = 'interrupted', end_reason = 'shutdown', ended_at = ? WHERE turn_id = ?`, now, turnId);
  }

  retryOf(turnId: string): string | null | undefined {
    const row = this.#sql.exec<{ retry_of: string | null }>(`SELECT retry_of FROM turns WHERE turn_id = ?`, turnId).toArray()[0];
    return row ? row.retry_of : undefined;
  }

  setRetry(turnId: string, state: RetryState): void {
    this.#sql.exec(`UPDATE turns SET retry = ? WHERE turn_id = ?`, state, turnId);
  }

  /** Replies waiting for their retry, newest first. */
  pendingRetries(): CutReply[] {
    return this.#sql
      .exec<Row>(
        `SELECT t.turn_id, t.reply_id, t.source, t.started_at,
                COALESCE((SELECT GROUP_CONCAT(text, ' ') FROM (SELECT text FROM messages WHERE turn_id = t.turn_id AND role = 'user' AND kind = 'turn' ORDER BY id)), '') AS user_text,
                COALESCE((SELECT text FROM messages WHERE turn_id = t.turn_id AND role = 'assistant' ORDER BY id DESC LIMIT 1), '') AS heard,
                COALESCE((SELECT MAX(sent_at) FROM segments WHERE reply_id = t.reply_id), t.started_at) AS last_activity
         FROM turns t WHERE t.retry = 'pending' ORDER BY t.rowid DESC`,
      )
      .toArray()
      .map((r) => ({
        ...turnRef(r),
        userText: textOf(r.user_text),
        heard: textOf(r.heard),
        lastActivityAt: Number(r.last_activity),
      }));
  }

  /** The user said or typed something after `turnId` started: a later turn (not a retry), or an utterance kept since. */
  userSpokeSince(turnId: string): boolean {
    const row = this.#sql
      .exec<{ n: number }>(
        `SELECT (SELECT COUNT(*) FROM turns WHERE retry_of IS NULL AND rowid > (SELECT rowid FROM turns WHERE turn_id = ?))
              + (SELECT COUNT(*) FROM pending_utterances WHERE turn_id != ? AND created_at >= (SELECT started_at FROM turns WHERE turn_id = ?)) AS n`,
        turnId,
        turnId,
        turnId,
      )
      .one();
    return Number(row.n) > 0;
  }
}
