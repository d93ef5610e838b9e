/**
 * The roster plugin's composition root: builds its parts for one bot and provides the `roster`
 * service. Loaded by the plugin's `apply`, so that commands which only read the config (check,
 * explain) do not load the roster client.
 */
import path from "node:path";
import type { PluginContext } from "../../bots/context.ts";
import { AuditLog } from "./audit.ts";
import type { RosterConfig } from "./config.ts";
import { GroupSync } from "./group-sync/group-sync.ts";
import { RosterClient } from "./roster-client.ts";
import { SubscriptionHandler } from "./subscription-handler.ts";

export function composeRoster(ctx: PluginContext<RosterConfig>, config: RosterConfig): void {
  const audit = new AuditLog(path.join(ctx.bot.dataDir, "audit.log"), ctx.bot.id, (err) =>
    ctx.logger.error({ err: err.message }, "audit line not written"),
  );
  const roster = new RosterClient(ctx, {
    limits: config.limits,
    cache: config.cache,
    pushWaitMs: 5_000,
    hookTimeoutMs: config.subscriptions.hookTimeout,
    audit,
  });
  const subscriptions = new SubscriptionHandler(ctx, roster, audit, config.subscriptions);
  roster.subscriptions = subscriptions;
  const groups = new GroupSync(ctx, roster, config.groups, { limits: config.limits });
  roster.groups = groups;
  ctx.onReload((c) => {
    // Everything is compiled before anything is swapped: a bad section keeps the old config whole.
    const preparedGroups = groups.prepare(c.groups);
    subscriptions.reload(c.subscriptions);
    groups.swap(preparedGroups);
  });
  ctx.onDispose(() => audit.close());
  ctx.provide("roster", roster);
}
