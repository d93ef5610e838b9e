/**
 * The roster plugin's Prometheus metrics, registered through its context (so the `bot` label is
 * bound and the series go when the plugin stops). No label ever holds a contact's JID.
 */
import type { PluginMetrics } from "../../bots/metrics.ts";
import type { SubscriptionDecision, SyncResult } from "./api.ts";

/** Seconds from a subscription request's arrival to its answer: most are well under 10 ms. */
const DECISION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the subscription handler reports. */
export interface DecisionMetrics {
  decided(decision: Pick<SubscriptionDecision, "action" | "decidedBy" | "rule">): void;
  /** A request answered: seconds since it arrived. */
  answered(seconds: number): void;
  rateLimited(): void;
}

export interface RosterMetrics extends DecisionMetrics {
  groupSyncDone(result: Pick<SyncResult, "applied" | "failed">): void;
  /** Counts audit log writes that failed (the audit log's failure callback calls it; `count` defaults to 1). */
  auditWriteFailed(count?: number): void;
}

export function rosterMetrics(metrics: PluginMetrics, read: { rosterItems: () => number; pendingRequests: () => number }): RosterMetrics {
  const decisions = metrics.counter<"action" | "decided_by" | "rule">({
    name: "roster_bot_subscription_decisions_total",
    help: "Subscription requests decided, by action, who decided (rule tap, plugin, default, rate-limit, admin) and rule name",
    labelNames: ["action", "decided_by", "rule"],
  });
  const seconds = metrics.histogram({
    name: "roster_bot_decision_seconds",
    help: "Time from a subscription request's arrival to the answer being sent",
    buckets: DECISION_BUCKETS,
  });
  const rateLimited = metrics.counter({ name: "roster_bot_rate_limited_total", help: "Subscription requests over a rate limit" });
  const groupSync = metrics.counter<"op" | "result">({
    name: "roster_bot_group_sync_changes_total",
    help: "Group sync changes, by operation (add, update, remove) and result (applied, failed)",
    labelNames: ["op", "result"],
  });
  const auditFailures = metrics.counter({ name: "roster_bot_audit_write_failures_total", help: "Audit log writes that failed" });
  // Series from the start (at 0): increase() and alerts need a first sample.
  rateLimited.inc(undefined, 0);
  auditFailures.inc(undefined, 0);
  metrics.gauge({ name: "roster_bot_roster_items", help: "Contacts in the bot's roster copy", collect: read.rosterItems });
  metrics.gauge({ name: "roster_bot_pending_requests", help: "Subscription requests held for an answer (the ask action)", collect: read.pendingRequests });
  return {
    decided: (d) => decisions.inc({ action: d.action, decided_by: d.decidedBy, rule: d.rule ?? "" }),
    answered: (s) => seconds.observe(s),
    rateLimited: () => rateLimited.inc(),
    groupSyncDone: ({ applied, failed }) => {
      for (const c of applied) groupSync.inc({ op: c.op, result: "applied" });
      for (const { change } of failed) groupSync.inc({ op: change.op, result: "failed" });
    },
    auditWriteFailed: (count = 1) => auditFailures.inc(undefined, count),
  };
}
