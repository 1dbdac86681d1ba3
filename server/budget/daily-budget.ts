// The one Durable Object that keeps the deployment's daily Workers AI budget (budget-ledger.ts), so
// that opening more sessions does not multiply what can be spent. Every session's turns reserve and
// settle through it by RPC (`env.DailyBudget.getByName(DAILY_BUDGET_NAME)`).
import { DurableObject } from "cloudflare:workers";
import { BudgetLedger, type BudgetStatus, type Reservation } from "./budget-ledger.ts";

export const DAILY_BUDGET_NAME = "daily";

export class DailyBudget extends DurableObject<Env> {
  readonly #ledger: BudgetLedger;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#ledger = new BudgetLedger(ctx.storage.sql);
  }

  reserve(id: string, neurons: number, limitNeurons: number | null): Reservation {
    return this.#ledger.reserve(id, neurons, limitNeurons);
  }

  settle(id: string, neurons: number): void {
    this.#ledger.settle(id, neurons);
  }

  charge(neurons: number): void {
    this.#ledger.charge(neurons);
  }

  status(limitNeurons: number | null): BudgetStatus {
    return this.#ledger.status(limitNeurons);
  }
}
