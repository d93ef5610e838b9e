/**
 * The roster plugin's composition root: builds its parts for one bot and provides the `roster`
 * service. Loaded by `apply`, so commands that only read the config (check, explain) never load it.
 *
 *   RosterClient        roster get and pushes -> copy -> cache, change hooks
 *   SubscriptionHandler presence subscribe -> decision -> answer -> audit, request hooks
 *   GroupSync           copy + rules -> plan -> roster sets through the client -> audit, sync hooks
 *   ServerBlocklist     disco#info + blocklist get and pushes -> list + owned entries -> expiry, block hooks
 *   PolicyService       running config -> policy test cases, replay of audit.log (roster.policy)
 */
import path from "node:path";
import type { PluginContext } from "../../bots/context.ts";
import { AuditLog, auditLogPath } from "./audit.ts";
import { blockingMetrics } from "./blocking/metrics.ts";
import { OwnedBlocks } from "./blocking/owned-blocks.ts";
import { ServerBlocklist } from "./blocking/server-blocklist.ts";
import type { RosterConfig } from "./config.ts";
import { GroupSync } from "./group-sync/group-sync.ts";
import { PendingRequests } from "./pending-requests.ts";
import { PolicyService } from "./policy-service.ts";
import { runPolicyTests } from "./policy-tests/index.ts";
import { auditFilesOf, replayAudit } from "./replay/index.ts";
import { heapCompactor } from "../../bots/heap.ts";
import { rosterMetrics } from "./metrics.ts";
import { RosterClient } from "./roster-client.ts";
import { rosterService } from "./service.ts";
import { RosterCache } from "./cache.ts";
import { SubscriptionHandler } from "./subscription-handler.ts";

const PUSH_WAIT_MS = 5_000;

export function composeRoster(ctx: PluginContext<RosterConfig>, config: RosterConfig): void {
  // Read at scrape time only; `client` and `pending` are built below.
  const metrics = rosterMetrics(ctx.metrics, { rosterItems: () => client.size, pendingRequests: () => pending.list().length });
  const auditLog = auditLogPath(ctx.bot.dataDir);
  const audit = new AuditLog(auditLog, ctx.bot.id, ctx.logger, { onWriteFailure: () => metrics.auditWriteFailed() });
  ctx.onReopenFiles(() => audit.reopen());
  ctx.onDispose(() => audit.close());
  // Built before the client: its session start (disco#info, blocklist get) runs alongside the roster get.
  const blocking = new ServerBlocklist(ctx, {
    owned: new OwnedBlocks(path.join(ctx.dataDir, "blocks.json"), ctx.logger),
    audit,
    metrics: blockingMetrics(ctx.metrics),
    config: config.blocking,
  });
  const cache = config.cache ? new RosterCache(path.join(ctx.dataDir, "roster.json"), ctx.bot.jid, ctx.logger) : undefined;
  const client = new RosterClient(ctx, { limits: config.limits, cache, pushWaitMs: PUSH_WAIT_MS, audit, heap: heapCompactor });
  // Before initial presence, the blocklist is known too.
  ctx.onSession(() => blocking.sessionReady());
  const pending = new PendingRequests(path.join(ctx.dataDir, "pending.json"), ctx.logger);
  const subscriptions = new SubscriptionHandler(ctx, { roster: client, pending, audit, metrics, blocking }, config.subscriptions);
  const groups = new GroupSync(ctx, { roster: client, pending }, config.groups, { limits: config.limits });
  ctx.tap(groups.hooks.afterGroupSync, (result) => metrics.groupSyncDone(result), { name: "roster.metrics" });
  const policy = new PolicyService(config, { configDir: ctx.bot.configDir, auditLog }, { runTests: runPolicyTests, replay: replayAudit, auditFiles: auditFilesOf });
  ctx.readyWhen("roster loaded", () => client.loaded);
  ctx.onReload((next) => {
    // Everything is compiled before anything is swapped: a bad section keeps the old config whole.
    const preparedGroups = groups.prepare(next.groups);
    subscriptions.reload(next.subscriptions);
    groups.swap(preparedGroups);
    blocking.reload(next.blocking);
    // Last: tests and replay follow the rules only once the bot runs them.
    policy.reload(next);
  });
  ctx.provide("roster", rosterService({ client, subscriptions, groups, blocking, policy }));
}
