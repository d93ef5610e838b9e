/**
 * Metrics of the blocklist, registered through the plugin's context like the roster's own
 * (metrics.ts). No label holds a JID: `by` keeps only what precedes a colon ("admin:a@x" -> "admin").
 */
import type { PluginMetrics } from "../../../bots/metrics.ts";
import type { BlockOutcome } from "../api.ts";

export interface BlockingMetrics {
  /** A block asked for, and what came of it. */
  block(by: string, result: BlockOutcome["outcome"]): void;
  /** An entry left the blocklist: lifted by the bot, or removed by a person (`by` "account"). */
  unblock(by: string): void;
  /** How many entries the server's list holds, those the bot owns and the others. */
  entries(owned: number, others: number): void;
}

/** The kind of asker, without the JID an "admin:<jid>" carries. */
export function byLabel(by: string): string {
  const colon = by.indexOf(":");
  return colon === -1 ? by : by.slice(0, colon);
}

export function blockingMetrics(metrics: PluginMetrics): BlockingMetrics {
  const blocks = metrics.counter<"by" | "result">({
    name: "roster_bot_blocks_total",
    help: "Blocks asked for (XEP-0191), by who asked (rules, rate-limit, admin, api, a plugin) and result (blocked, already, unsupported, failed)",
    labelNames: ["by", "result"],
  });
  const unblocks = metrics.counter<"by">({
    name: "roster_bot_unblocks_total",
    help: "Entries that left the blocklist, by who removed them (expired, admin, api, a plugin; account: another client of the account)",
    labelNames: ["by"],
  });
  const entries = metrics.gauge<"owned">({
    name: "roster_bot_blocklist_entries",
    help: "Entries of the account's blocklist at its server, by whether the bot added them (owned=true) or a person did",
    labelNames: ["owned"],
  });
  entries.set(0, { owned: "true" });
  entries.set(0, { owned: "false" });
  return {
    block: (by, result) => blocks.inc({ by: byLabel(by), result }),
    unblock: (by) => unblocks.inc({ by: byLabel(by) }),
    entries: (owned, others) => {
      entries.set(owned, { owned: "true" });
      entries.set(others, { owned: "false" });
    },
  };
}
