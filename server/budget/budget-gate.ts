// A session's door to the daily budget (the DailyBudget Durable Object). Far from the limit a turn
// goes ahead at once and its reservation travels in the background, so the budget adds no wait to
// the first audio; near the limit (fewer than `nearLimitTurns` reservations left, as last heard) the
// turn waits for the keeper's answer, so the limit holds. Once refused, turns are refused without
// asking again for `recheckMs` (the keeper's answer says when the day resets). A keeper that does not
// answer within `timeoutMs` lets the turn through: the spending is still settled, so the day's figure
// stays right, only the ceiling may be overshot while the keeper is unreachable. Pure.
import type { BudgetStatus, Reservation } from "./budget-ledger.ts";
import { withDefaults } from "../../shared/options.ts";

/** The DailyBudget Durable Object's RPC methods (or a test's stand-in). */
export interface BudgetKeeper {
  reserve(id: string, neurons: number, limitNeurons: number | null): Promise<Reservation>;
  settle(id: string, neurons: number): Promise<void>;
  charge(neurons: number): Promise<void>;
  status(limitNeurons: number | null): Promise<BudgetStatus>;
}

export type Admission = { ok: true } | { ok: false; status: BudgetStatus };

export interface BudgetGateOptions {
  /** Neurons all sessions may spend per UTC day (the session passes budgets.dailyNeurons); null: no daily limit (nothing is asked before a turn; spending is still recorded). */
  limitNeurons: number | null;
  /** A turn waits for the keeper's answer once fewer than this many reservations of its size are left, as last heard; default 20. */
  nearLimitTurns: number;
  /** A keeper that has not answered within this long lets the turn through (ms), default 1000. */
  timeoutMs: number;
  /** Once refused, turns are refused without asking for this long at most (ms), default 30000. */
  recheckMs: number;
  /** Clock (ms since the epoch), default Date.now. */
  now: () => number;
  /** Told about a keeper that failed or was slow (the turn went ahead), default: nothing. */
  onError: (err: unknown) => void;
}

export const DEFAULT_BUDGET_GATE: Readonly<Omit<BudgetGateOptions, "limitNeurons">> = Object.freeze({
  nearLimitTurns: 20,
  timeoutMs: 1_000,
  recheckMs: 30_000,
  now: () => Date.now(),
  onError: () => {},
});

export class BudgetGate {
  readonly #keeper: BudgetKeeper;
  readonly #o: Readonly<BudgetGateOptions>;
  #last: BudgetStatus | null = null;
  #refusedUntil = 0;

  constructor(keeper: BudgetKeeper, o: Pick<BudgetGateOptions, "limitNeurons"> & Partial<BudgetGateOptions>) {
    this.#keeper = keeper;
    this.#o = withDefaults<BudgetGateOptions, keyof typeof DEFAULT_BUDGET_GATE>(DEFAULT_BUDGET_GATE, o);
  }

  /** The daily budget as last heard from the keeper (null before the first answer). */
  get lastStatus(): BudgetStatus | null {
    return this.#last;
  }

  /** The budget's last answer while it still refuses every turn (null when a turn may ask). */
  refusal(): BudgetStatus | null {
    return this.#last && this.#o.now() < this.#refusedUntil ? this.#last : null;
  }

  /** May turn `id`, which may spend up to `neurons`, go ahead? */
  async admit(id: string, neurons: number): Promise<Admission> {
    const { limitNeurons, nearLimitTurns, timeoutMs, recheckMs } = this.#o;
    if (limitNeurons === null) return { ok: true };
    const refused = this.refusal();
    if (refused) return { ok: false, status: refused };
    const answer = this.#keeper.reserve(id, neurons, limitNeurons).then((r) => {
      this.#learn(r.status);
      this.#refusedUntil = r.ok ? 0 : Math.min(r.status.resetsAt, this.#o.now() + recheckMs);
      return r;
    });
    const far = this.#last?.remainingNeurons != null && this.#last.remainingNeurons >= neurons * nearLimitTurns;
    if (far) {
      answer.catch((err) => this.#o.onError(err));
      return { ok: true };
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const r = await Promise.race([answer, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), timeoutMs)))]);
      if (r === null) {
        this.#o.onError(new Error(`the daily budget did not answer within ${timeoutMs} ms; letting the turn through`));
        return { ok: true };
      }
      return r.ok ? { ok: true } : { ok: false, status: r.status };
    } catch (err) {
      this.#o.onError(err);
      return { ok: true };
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Turn `id` is over and spent `neurons` (its reservation, if any, is released). */
  settle(id: string, neurons: number): void {
    if (this.#o.limitNeurons === null && neurons <= 0) return;
    this.#keeper.settle(id, neurons).catch((err) => this.#o.onError(err));
  }

  /** Spending outside a turn's reservation (an end-of-turn model call, a barge-in's transcription). */
  charge(neurons: number): void {
    if (!(neurons > 0)) return;
    this.#keeper.charge(neurons).catch((err) => this.#o.onError(err));
  }

  /** The keeper's current figures (for the transcript and the operator's health view). */
  async status(): Promise<BudgetStatus> {
    const s = await this.#keeper.status(this.#o.limitNeurons);
    this.#learn(s);
    return s;
  }

  #learn(s: BudgetStatus): void {
    this.#last = s;
  }
}
