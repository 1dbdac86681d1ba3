// Which recordings of a session's turns exist in R2 (a row is written once its object is stored), so
// the transcript can say so and the retention alarm knows what expires when without listing R2.
import type { RecordingKind } from "../recordings/turn-audio.ts";
import { textOf } from "./sql-values.ts";

export interface RecordingRow {
  turnId: string;
  kind: RecordingKind;
  key: string;
  contentType: string;
  bytes: number;
  durationMs: number;
  /** When it was recorded (epoch ms): it expires RECORDING_RETENTION_DAYS later. */
  createdAt: number;
}

type Row = Record<string, SqlStorageValue>;

export class RecordingRows {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** A recording was stored (again: a reply cut after it was recorded replaces its row). */
  put(r: RecordingRow): void {
    this.#sql.exec(
      `INSERT INTO recordings (turn_id, kind, r2_key, content_type, bytes, duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (turn_id, kind) DO UPDATE SET r2_key = excluded.r2_key, content_type = excluded.content_type, bytes = excluded.bytes,
         duration_ms = excluded.duration_ms, created_at = excluded.created_at`,
      r.turnId,
      r.kind,
      r.key,
      r.contentType,
      r.bytes,
      r.durationMs,
      r.createdAt,
    );
  }

  get(turnId: string, kind: RecordingKind): RecordingRow | undefined {
    const row = this.#sql.exec<Row>(`SELECT * FROM recordings WHERE turn_id = ? AND kind = ?`, turnId, kind).toArray()[0];
    return row ? toRow(row) : undefined;
  }

  /** Per turn, which of its recordings exist. */
  byTurn(): Map<string, { user: boolean; reply: boolean }> {
    const out = new Map<string, { user: boolean; reply: boolean }>();
    for (const r of this.#sql.exec<{ turn_id: string; kind: RecordingKind }>(`SELECT turn_id, kind FROM recordings`)) {
      const entry = out.get(r.turn_id) ?? { user: false, reply: false };
      entry[r.kind] = true;
      out.set(r.turn_id, entry);
    }
    return out;
  }

  /** Recordings made before `cutoff` (epoch ms), oldest first. */
  madeBefore(cutoff: number): RecordingRow[] {
    return this.#sql.exec<Row>(`SELECT * FROM recordings WHERE created_at < ? ORDER BY created_at`, cutoff).toArray().map(toRow);
  }

  /** When the oldest recording was made, or null when there is none. */
  oldestCreatedAt(): number | null {
    const v = this.#sql.exec<{ at: number | null }>(`SELECT MIN(created_at) AS at FROM recordings`).one().at;
    return v === null ? null : Number(v);
  }

  delete(rows: readonly Pick<RecordingRow, "turnId" | "kind">[]): void {
    for (const r of rows) this.#sql.exec(`DELETE FROM recordings WHERE turn_id = ? AND kind = ?`, r.turnId, r.kind);
  }

  /** The session is being deleted (its objects are deleted by prefix: server/recordings/recording-store.ts). */
  deleteAll(): void {
    this.#sql.exec(`DELETE FROM recordings`);
  }
}

function toRow(r: Row): RecordingRow {
  return {
    turnId: textOf(r.turn_id),
    kind: r.kind as RecordingKind,
    key: textOf(r.r2_key),
    contentType: textOf(r.content_type),
    bytes: Number(r.bytes),
    durationMs: Number(r.duration_ms),
    createdAt: Number(r.created_at),
  };
}
