// The daily Workers AI budget across every session of a deployment: what was spent today (UTC, the
// day Workers AI's free allocation resets on) and what turns in flight have reserved. A turn reserves
// an upper bound of its cost before its first model call that matters (the LLM) and settles with what
// it really spent; a reservation that is never settled (its Durable Object crashed) expires. Kept in
// the SQLite of one Durable Object (daily-budget.ts); pure logic over that storage, no Cloudflare
// imports, so it is tested in Node.
import type { DailyBudgetStatus } from "../../shared/protocol.ts";

/** The day's figures (shared/protocol.ts: also what the operator's /api/health answers). */
export type BudgetStatus = DailyBudgetStatus;

export type Reservation = { ok: true; status: BudgetStatus } | { ok: false; status: BudgetStatus };

/** A reservation outlives any turn (the AI deadlines end a turn well within it), then it is forgotten. */
export const RESERVATION_TTL_MS = 10 * 60_000;

const SCHEMA = [
  "CREATE TABLE IF NOT EXISTS budget_days (day TEXT PRIMARY KEY, spent_neurons REAL NOT NULL DEFAULT 0)",
  "CREATE TABLE IF NOT EXISTS budget_reservations (id TEXT PRIMARY KEY, neurons REAL NOT NULL, expires_at INTEGER NOT NULL)",
];

const DAY_MS = 86_400_000;

/** The UTC day of `at` ("YYYY-MM-DD"). */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** The next 00:00 UTC after `at`. */
export function nextUtcMidnight(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS + DAY_MS;
}

// Figures come from usage estimates; a NaN or a negative must not corrupt the day.
const clean = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);

export class BudgetLedger {
  readonly #sql: SqlStorage;
  readonly #now: () => number;

  constructor(sql: SqlStorage, now: () => number = () => Date.now()) {
    this.#sql = sql;
    this.#now = now;
    for (const statement of SCHEMA) sql.exec(statement);
  }

  /** Reserve `neurons` for turn `id` if today's spending plus what is reserved leaves room for it. */
  reserve(id: string, neurons: number, limitNeurons: number | null): Reservation {
    const now = this.#now();
    this.#expire(now);
    const amount = clean(neurons);
    const before = this.status(limitNeurons);
    if (before.remainingNeurons !== null && amount > before.remainingNeurons) return { ok: false, status: before };
    this.#sql.exec(
      "INSERT INTO budget_reservations (id, neurons, expires_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET neurons = excluded.neurons, expires_at = excluded.expires_at",
      id,
      amount,
      now + RESERVATION_TTL_MS,
    );
    return { ok: true, status: this.status(limitNeurons) };
  }

  /** Turn `id` is over and spent `neurons`: its reservation (if any) gives way to the real figure. */
  settle(id: string, neurons: number): void {
    this.#sql.exec("DELETE FROM budget_reservations WHERE id = ?", id);
    this.charge(neurons);
  }

  /** Spending that was not reserved (an end-of-turn model call, a barge-in candidate's transcription). */
  charge(neurons: number): void {
    const amount = clean(neurons);
    if (amount === 0) return;
    this.#sql.exec(
      "INSERT INTO budget_days (day, spent_neurons) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET spent_neurons = spent_neurons + excluded.spent_neurons",
      utcDay(this.#now()),
      amount,
    );
  }

  status(limitNeurons: number | null): BudgetStatus {
    const now = this.#now();
    const day = utcDay(now);
    const spent = Number(this.#sql.exec("SELECT COALESCE(SUM(spent_neurons), 0) AS n FROM budget_days WHERE day = ?", day).one().n);
    const reserved = Number(
      this.#sql.exec("SELECT COALESCE(SUM(neurons), 0) AS n FROM budget_reservations WHERE expires_at > ?", now).one().n,
    );
    return {
      day,
      spentNeurons: spent,
      reservedNeurons: reserved,
      limitNeurons,
      remainingNeurons: limitNeurons === null ? null : Math.max(0, limitNeurons - spent - reserved),
      resetsAt: nextUtcMidnight(now),
    };
  }

  #expire(now: number): void {
    this.#sql.exec("DELETE FROM budget_reservations WHERE expires_at <= ?", now);
    // Older days are kept a week for the operator's eyes, then dropped.
    this.#sql.exec("DELETE FROM budget_days WHERE day < ?", utcDay(now - 7 * DAY_MS));
  }
}
