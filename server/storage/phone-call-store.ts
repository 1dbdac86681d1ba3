// The phone calls a session took (migration 8): one row per call, written when the stream is admitted
// and completed when it ends. The cost of a call is what the session spent while it lasted (its turns
// and interruptions) plus its greeting.
import type { PhoneCallRecord } from "../../shared/protocol.ts";

export class PhoneCallStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
  }

  start(call: { callSid: string; caller: string; startedAt: number; usdBefore: number }): void {
    this.sql.exec(
      `INSERT OR REPLACE INTO phone_calls (call_sid, caller, started_at, usd_before) VALUES (?, ?, ?, ?)`,
      call.callSid,
      call.caller,
      call.startedAt,
      call.usdBefore,
    );
  }

  addGreetingCost(callSid: string, usd: number): void {
    this.sql.exec(`UPDATE phone_calls SET greeting_usd = greeting_usd + ? WHERE call_sid = ?`, usd, callSid);
  }

  /** The call ended: `usdNow` is the session's total spending now. */
  end(callSid: string, endedAt: number, reason: string, usdNow: number): void {
    this.sql.exec(
      `UPDATE phone_calls SET ended_at = ?, end_reason = ?, usd = MAX(0, ? - usd_before) + greeting_usd WHERE call_sid = ? AND ended_at IS NULL`,
      endedAt,
      reason,
      usdNow,
      callSid,
    );
  }

  calls(): PhoneCallRecord[] {
    return this.sql
      .exec<{
        call_sid: string;
        caller: string;
        started_at: number;
        ended_at: number | null;
        end_reason: string | null;
        usd: number | null;
      }>(`SELECT call_sid, caller, started_at, ended_at, end_reason, usd FROM phone_calls ORDER BY started_at`)
      .toArray()
      .map((r) => ({
        caller: r.caller,
        startedAt: r.started_at,
        endedAt: r.ended_at,
        durationMs: r.ended_at === null ? null : r.ended_at - r.started_at,
        endReason: r.end_reason,
        usd: r.usd,
      }));
  }

  deleteAll(): void {
    this.sql.exec(`DELETE FROM phone_calls`);
  }
}
