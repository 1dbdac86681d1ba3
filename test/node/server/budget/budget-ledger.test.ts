import { describe, expect, it } from "vitest";
import { BudgetLedger, RESERVATION_TTL_MS, nextUtcMidnight, utcDay } from "../../../../server/budget/budget-ledger.ts";
import { nodeSqlStorage } from "../../../support/node-sql-storage.ts";

const T0 = Date.UTC(2026, 10, 29, 21, 0, 0);

function ledger(start = T0) {
  const clock = { now: start };
  return { l: new BudgetLedger(nodeSqlStorage(), () => clock.now), clock };
}

describe("BudgetLedger", () => {
  it("reserves while today's spending plus what is reserved leaves room, and refuses the reservation that would not fit", () => {
    const { l } = ledger();
    expect(l.reserve("t1", 400, 1000)).toMatchObject({ ok: true, status: { reservedNeurons: 400, remainingNeurons: 600 } });
    expect(l.reserve("t2", 500, 1000)).toMatchObject({ ok: true, status: { remainingNeurons: 100 } });
    const refused = l.reserve("t3", 101, 1000);
    expect(refused.ok).toBe(false);
    expect(refused.status).toMatchObject({ spentNeurons: 0, reservedNeurons: 900, remainingNeurons: 100, limitNeurons: 1000 });
  });

  it("settling replaces a turn's reservation with what it spent", () => {
    const { l } = ledger();
    l.reserve("t1", 400, 1000);
    l.settle("t1", 37.5);
    expect(l.status(1000)).toMatchObject({ spentNeurons: 37.5, reservedNeurons: 0, remainingNeurons: 962.5 });
    // A settle without a reservation (the keeper restarted, or the turn never asked) still counts.
    l.settle("t-unknown", 2.5);
    expect(l.status(1000).spentNeurons).toBe(40);
  });

  it("spending outside a reservation is charged to the day; NaN and negative figures are ignored", () => {
    const { l } = ledger();
    l.charge(12);
    l.charge(Number.NaN);
    l.charge(-5);
    expect(l.status(null)).toMatchObject({ spentNeurons: 12, limitNeurons: null, remainingNeurons: null });
  });

  it("a reservation never settled (its session crashed) expires and gives its room back", () => {
    const { l, clock } = ledger();
    l.reserve("crashed", 900, 1000);
    expect(l.reserve("next", 200, 1000).ok).toBe(false);
    clock.now += RESERVATION_TTL_MS + 1;
    expect(l.reserve("next", 200, 1000).ok).toBe(true);
  });

  it("the day's spending starts from zero at 00:00 UTC, and the refusal says when", () => {
    const { l, clock } = ledger();
    l.charge(1000);
    const refused = l.reserve("t", 1, 1000);
    expect(refused.ok).toBe(false);
    expect(refused.status.resetsAt).toBe(Date.UTC(2026, 10, 30));
    clock.now = Date.UTC(2026, 10, 30, 0, 0, 1);
    expect(l.reserve("t", 1, 1000)).toMatchObject({ ok: true, status: { day: "2026-11-30", spentNeurons: 0 } });
  });

  it("without a limit every reservation is granted and spending is still counted", () => {
    const { l } = ledger();
    l.charge(1e9);
    expect(l.reserve("t", 1e6, null).ok).toBe(true);
    expect(l.status(null).spentNeurons).toBe(1e9);
  });

  it("knows UTC days and midnights", () => {
    expect(utcDay(Date.UTC(2026, 0, 1, 23, 59, 59))).toBe("2026-01-01");
    expect(nextUtcMidnight(Date.UTC(2026, 0, 1, 23, 59, 59))).toBe(Date.UTC(2026, 0, 2));
    expect(nextUtcMidnight(Date.UTC(2026, 0, 2))).toBe(Date.UTC(2026, 0, 3));
  });
});
