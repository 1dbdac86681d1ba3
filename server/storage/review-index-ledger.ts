// The session's side of the review index, in its own SQLite: the facts its summary row is made of,
// the messages the index has not acknowledged (new, or changed since: a reply cut to what was heard
// changes its status and length), the acknowledgements, and the update counter.
import { OWNER_EMAIL_SETTING, OWNER_ID_SETTING } from "../http/session-requests.ts";
import type { IndexAck, MessageRow, SessionFacts } from "../review-index/index-writer.ts";

const SEQ_SETTING = "review-index-seq";

export class ReviewIndexLedger {
  private readonly sql: SqlStorage;
  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  facts(id: string): SessionFacts {
    const r = this.sql
      .exec<
        Pick<SessionFacts, "turns" | "interruptions" | "messages" | "neurons" | "usd" | "backend" | "mode"> & {
          title: string | null;
          started_at: number | null;
          last_at: number | null;
          owner_email: string | null;
          owner_id: string | null;
          phone_caller: string | null;
        }
      >(
        `SELECT
           (SELECT text FROM messages WHERE role = 'user' AND kind = 'turn' ORDER BY id LIMIT 1) AS title,
           (SELECT MIN(v) FROM (SELECT MIN(started_at) AS v FROM turns UNION ALL SELECT MIN(created_at) FROM messages)) AS started_at,
           (SELECT MAX(v) FROM (SELECT MAX(COALESCE(ended_at, started_at)) AS v FROM turns
                                UNION ALL SELECT MAX(created_at) FROM messages
                                UNION ALL SELECT MAX(decided_at) FROM interruptions)) AS last_at,
           (SELECT COUNT(*) FROM turns WHERE status != 'no-speech') AS turns,
           (SELECT COUNT(*) FROM interruptions WHERE decision = 'confirmed') AS interruptions,
           (SELECT COUNT(*) FROM messages) AS messages,
           (SELECT COALESCE(SUM(neurons), 0) FROM turns) + (SELECT COALESCE(SUM(neurons), 0) FROM interruptions) AS neurons,
           (SELECT COALESCE(SUM(usd), 0) FROM turns) + (SELECT COALESCE(SUM(usd), 0) FROM interruptions) AS usd,
           (SELECT backend FROM turns WHERE backend IS NOT NULL ORDER BY started_at DESC, rowid DESC LIMIT 1) AS backend,
           (SELECT value FROM settings WHERE key = 'mode') AS mode,
           (SELECT value FROM settings WHERE key = ?) AS owner_email,
           (SELECT value FROM settings WHERE key = ?) AS owner_id,
           (SELECT caller FROM phone_calls ORDER BY started_at DESC LIMIT 1) AS phone_caller`,
        OWNER_EMAIL_SETTING,
        OWNER_ID_SETTING,
      )
      .one();
    const { title, started_at, last_at, owner_email, owner_id, phone_caller, ...counts } = r;
    return {
      id,
      ownerEmail: owner_email,
      ownerId: owner_id,
      phoneCaller: phone_caller,
      firstUserText: title,
      startedAt: started_at,
      lastActivityAt: last_at,
      ...counts,
    };
  }

  /** Messages the index has not acknowledged as they are now, oldest first: up to `limit`, and whether more wait. */
  unacknowledged(limit: number): { messages: MessageRow[]; acks: IndexAck[]; more: boolean } {
    const rows = this.sql
      .exec<{
        id: number;
        role: "user" | "assistant";
        kind: string;
        status: string;
        text: string;
        created_at: number;
        text_length: number;
      }>(
        `SELECT m.id, m.role, m.kind, m.status, m.text, m.created_at, length(m.text) AS text_length FROM messages m
         LEFT JOIN review_index_acks a ON a.message_id = m.id
         WHERE a.message_id IS NULL OR a.status != m.status OR a.text_length != length(m.text)
         ORDER BY m.id LIMIT ?`,
        limit + 1,
      )
      .toArray();
    const kept = rows.slice(0, limit);
    return {
      messages: kept.map((r) => ({ messageId: r.id, role: r.role, kind: r.kind, status: r.status, text: r.text, createdAt: r.created_at })),
      acks: kept.map((r) => ({ messageId: r.id, status: r.status, textLength: r.text_length })),
      more: rows.length > limit,
    };
  }

  /**
   * The index holds these messages as they were when collected (status, stored length): one changed
   * while the write was in flight no longer matches its acknowledgement, and is sent again.
   */
  acknowledge(acks: readonly IndexAck[]): void {
    for (const a of acks) {
      this.sql.exec(
        `INSERT INTO review_index_acks (message_id, status, text_length) VALUES (?, ?, ?)
         ON CONFLICT (message_id) DO UPDATE SET status = excluded.status, text_length = excluded.text_length`,
        a.messageId,
        a.status,
        a.textLength,
      );
    }
  }

  /** Forget every acknowledgement: the next update sends the whole conversation again (its index entry was removed). */
  forgetAcknowledgements(): void {
    this.sql.exec("DELETE FROM review_index_acks");
  }

  /** The next update's counter (kept across restarts, so a late write from before one never wins). */
  nextSeq(): number {
    const row = this.sql
      .exec<{ value: string }>(
        `INSERT INTO settings (key, value) VALUES (?, '1')
         ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value`,
        SEQ_SETTING,
      )
      .one();
    return Number(row.value);
  }
}
