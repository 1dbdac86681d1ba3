// What the user and the operator are told when a budget stops a reply. Pure.
import type { BudgetStatus } from "./budget-ledger.ts";

/** "3 h 12 min", "45 min", "under a minute". */
export function untilText(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return "under a minute";
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h ${m} min` : `${m} min`;
}

export function dailyBudgetMessage(s: BudgetStatus, now: number): string {
  const limit = s.limitNeurons === null ? "" : ` (${Math.round(s.limitNeurons).toLocaleString("en-US")} neurons)`;
  return `Today's Workers AI budget${limit} is used up. It resets at 00:00 UTC, in ${untilText(s.resetsAt - now)}; the operator can raise DAILY_BUDGET_NEURONS.`;
}

/** The budgets as the transcript shows them: this session's spending against its limit, and (for the owner) the day's. */
export interface BudgetView {
  session: { spentUsd: number; limitUsd: number | null };
  daily: BudgetStatus | null;
}

export function sessionBudgetView(spentUsd: number, limitUsd: number, daily: BudgetStatus | null): BudgetView {
  return { session: { spentUsd, limitUsd: limitUsd > 0 ? limitUsd : null }, daily };
}
