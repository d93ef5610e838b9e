/**
 * The roster plugin: an exact RFC 6121 roster copy, the subscription policy, group sync, and the
 * `roster` service other plugins use (see api.ts for the contract).
 */
import path from "node:path";
import { definePlugin, type PluginConfigIssue } from "../../bots/plugin.ts";
import { AuditLog } from "./audit.ts";
import { rosterCommands } from "./commands.ts";
import { rosterConfigSchema, type RosterConfig } from "./config.ts";
import { compileGroupRules, GroupRulesError } from "./group-sync/config.ts";
import { GroupSync } from "./group-sync/group-sync.ts";
import { compilePolicy, PolicyCompileError } from "./policy/compile.ts";
import { RosterClient } from "./roster-client.ts";
import { SubscriptionHandler } from "./subscription-handler.ts";

/** Rule problems the schema cannot see (list files, patterns), with paths into the plugin's section. */
export function checkRosterConfig(config: RosterConfig, configDir: string): PluginConfigIssue[] {
  const issues: PluginConfigIssue[] = [];
  try {
    compilePolicy(config.subscriptions.rules, { baseDir: configDir });
  } catch (err) {
    if (!(err instanceof PolicyCompileError)) throw err;
    issues.push(...err.issues.map((i) => ({ path: ["subscriptions", "rules", ...i.path], message: i.message })));
  }
  try {
    compileGroupRules(config.groups, { baseDir: configDir, limits: config.limits });
  } catch (err) {
    if (!(err instanceof GroupRulesError)) throw err;
    issues.push(...err.issues.map((i) => ({ path: ["groups", ...i.path], message: i.message })));
  }
  return issues;
}

export default definePlugin({
  name: "roster",
  config: rosterConfigSchema,
  check: (config, { configDir }) => checkRosterConfig(config, configDir),
  commands: rosterCommands,
  apply(ctx, config) {
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
    ctx.onReload((next) => {
      const c = next as RosterConfig;
      // Everything is compiled before anything is swapped: a bad section keeps the old config whole.
      const preparedGroups = groups.prepare(c.groups);
      subscriptions.reload(c.subscriptions);
      groups.swap(preparedGroups);
    });
    ctx.onDispose(() => audit.close());
    ctx.provide("roster", roster);
  },
});
