/** Counts subscription decisions by action since the plugin started (for the `stats` command). */
import type { SubscriptionAction, SubscriptionDecision } from "../../index.ts";

export class DecisionCounter {
  readonly since = Date.now();
  private readonly counts = new Map<SubscriptionAction, number>();

  add(d: Pick<SubscriptionDecision, "action">): void {
    this.counts.set(d.action, (this.counts.get(d.action) ?? 0) + 1);
  }

  /** Counts by action, in a stable order. */
  get byAction(): ReadonlyMap<SubscriptionAction, number> {
    const order: SubscriptionAction[] = ["accept", "mutual", "reject", "ignore", "ask"];
    return new Map(order.filter((a) => this.counts.has(a)).map((a) => [a, this.counts.get(a)!]));
  }
}
