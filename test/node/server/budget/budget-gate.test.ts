import { describe, expect, it } from "vitest";
import { BudgetGate, type BudgetKeeper } from "../../../../server/budget/budget-gate.ts";
import { BudgetLedger, type BudgetStatus, type Reservation } from "../../../../server/budget/budget-ledger.ts";
import { dailyBudgetMessage, untilText } from "../../../../server/budget/budget-messages.ts";
import { nodeSqlStorage } from "../../../support/node-sql-storage.ts";

/** The ledger behind an RPC-like keeper that answers after `delayMs` (or never, or with an error). */
function keeper(o: { delayMs?: number; hang?: boolean; fail?: boolean } = {}) {
  const clock = { now: Date.UTC(2026, 10, 29, 21) };
  const ledger = new BudgetLedger(nodeSqlStorage(), () => clock.now);
  const calls: string[] = [];
  const later = <T>(f: () => T): Promise<T> =>
    o.hang
      ? new Promise<T>(() => {})
      : o.fail
        ? Promise.reject(new Error("keeper down"))
        : new Promise<T>((r) => setTimeout(() => r(f()), o.delayMs ?? 0));
  const k: BudgetKeeper = {
    reserve: (id, n, limit) => (calls.push(`reserve ${id}`), later<Reservation>(() => ledger.reserve(id, n, limit))),
    settle: (id, n) => (calls.push(`settle ${id}`), later(() => ledger.settle(id, n))),
    charge: (n) => (calls.push("charge"), later(() => ledger.charge(n))),
    status: (limit) => later<BudgetStatus>(() => ledger.status(limit)),
  };
  return { k, ledger, calls, clock };
}

const gateOptions = { nearLimitTurns: 20, timeoutMs: 200, recheckMs: 30_000 };

describe("BudgetGate", () => {
  it("far from the limit a turn goes ahead at once and its reservation travels in the background", async () => {
    const { k, ledger, calls } = keeper({ delayMs: 50 });
    const gate = new BudgetGate(k, { ...gateOptions, limitNeurons: 100_000 });
    await gate.status();
    const started = Date.now();
    expect(await gate.admit("t1", 100)).toEqual({ ok: true });
    expect(Date.now() - started).toBeLessThan(40);
    expect(calls).toContain("reserve t1");
    await new Promise((r) => setTimeout(r, 80));
    expect(ledger.status(100_000).reservedNeurons).toBe(100);
  });

  it("near the limit a turn waits for the keeper, and one that does not fit is refused with the day's figures", async () => {
    const { k, ledger } = keeper({ delayMs: 10 });
    ledger.charge(950);
    const gate = new BudgetGate(k, { ...gateOptions, limitNeurons: 1000 });
    expect(await gate.admit("t1", 40)).toEqual({ ok: true });
    const refused = await gate.admit("t2", 40);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.status).toMatchObject({ spentNeurons: 950, reservedNeurons: 40, remainingNeurons: 10 });
  });

  it("once refused, turns are refused without asking again until the recheck", async () => {
    const { k, ledger, calls } = keeper();
    ledger.charge(1000);
    let now = 0;
    const gate = new BudgetGate(k, { ...gateOptions, limitNeurons: 1000, now: () => now });
    expect((await gate.admit("t1", 10)).ok).toBe(false);
    expect(gate.refusal()).not.toBeNull();
    expect((await gate.admit("t2", 10)).ok).toBe(false);
    expect(calls.filter((c) => c.startsWith("reserve"))).toEqual(["reserve t1"]);
    now += 30_001;
    expect(gate.refusal()).toBeNull();
    await gate.admit("t3", 10);
    expect(calls.filter((c) => c.startsWith("reserve"))).toEqual(["reserve t1", "reserve t3"]);
  });

  it("a keeper that does not answer in time, or fails, lets the turn through and says so", async () => {
    for (const o of [{ hang: true }, { fail: true }]) {
      const { k } = keeper(o);
      const errors: unknown[] = [];
      const gate = new BudgetGate(k, { ...gateOptions, limitNeurons: 1000, onError: (e) => errors.push(e) });
      expect(await gate.admit("t", 10)).toEqual({ ok: true });
      expect(errors).toHaveLength(1);
    }
  });

  it("with no daily limit nothing is asked before a turn, and spending is still recorded", async () => {
    const { k, ledger, calls } = keeper();
    const gate = new BudgetGate(k, { ...gateOptions, limitNeurons: null });
    expect(await gate.admit("t", 10)).toEqual({ ok: true });
    gate.settle("t", 7);
    gate.charge(3);
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toEqual(["settle t", "charge"]);
    expect(ledger.status(null).spentNeurons).toBe(10);
  });

  it("tells the user when the budget resets", () => {
    const now = Date.UTC(2026, 10, 29, 20, 47, 30);
    const msg = dailyBudgetMessage(
      {
        day: "2026-11-29",
        spentNeurons: 10_000,
        reservedNeurons: 0,
        limitNeurons: 10_000,
        remainingNeurons: 0,
        resetsAt: Date.UTC(2026, 10, 30),
      },
      now,
    );
    expect(msg).toBe(
      "Today's Workers AI budget (10,000 neurons) is used up. It resets at 00:00 UTC, in 3 h 12 min; the operator can raise DAILY_BUDGET_NEURONS.",
    );
    expect(untilText(30_000)).toBe("under a minute");
    expect(untilText(45 * 60_000)).toBe("45 min");
  });
});
