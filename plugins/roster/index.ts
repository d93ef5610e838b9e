/**
 * The roster plugin: an exact RFC 6121 roster copy, the subscription policy, and the `roster`
 * service other plugins use (see api.ts for the contract).
 */
import path from "node:path";
import { definePlugin, type PluginConfigIssue } from "../../bots/plugin.ts";
import { AuditLog } from "./audit.ts";
import { rosterConfigSchema, type RosterConfig } from "./config.ts";
import { compilePolicy, PolicyCompileError } from "./policy/compile.ts";
import { RosterClient } from "./roster-client.ts";
import { SubscriptionHandler } from "./subscription-handler.ts";

/** Rule problems the schema cannot see (list files, patterns), with paths into the plugin's section. */
export function checkRosterConfig(config: RosterConfig, configDir: string): PluginConfigIssue[] {
  try {
    compilePolicy(config.subscriptions.rules, { baseDir: configDir });
    return [];
  } catch (err) {
    if (err instanceof PolicyCompileError) return err.issues.map((i) => ({ path: ["subscriptions", "rules", ...i.path], message: i.message }));
    throw err;
  }
}

export default definePlugin({
  name: "roster",
  config: rosterConfigSchema,
  check: (config, { configDir }) => checkRosterConfig(config, configDir),
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
    ctx.onReload((next) => subscriptions.reload((next as RosterConfig).subscriptions));
    ctx.onDispose(() => audit.close());
    ctx.provide("roster", roster);
  },
});
