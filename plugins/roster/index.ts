/**
 * The roster plugin: an exact RFC 6121 roster copy, the subscription policy, group sync, and the
 * `roster` service other plugins use (see api.ts for the contract).
 */
import { definePlugin, type PluginConfigIssue } from "../../bots/plugin.ts";
import { rosterCommands } from "./commands.ts";
import { rosterConfigSchema, type RosterConfig } from "./config.ts";
import { compileGroupRules, GroupRulesError } from "./group-sync/config.ts";
import { compilePolicy, PolicyCompileError } from "./policy/compile.ts";

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

// Outside `export default`: tsc 5.9 does not rewrite a `.ts` dynamic import inside that expression.
const loadComposition = () => import("./compose.ts");

export default definePlugin({
  name: "roster",
  config: rosterConfigSchema,
  check: (config, { configDir }) => checkRosterConfig(config, configDir),
  commands: rosterCommands,
  async apply(ctx, config) {
    const { composeRoster } = await loadComposition();
    composeRoster(ctx, config);
  },
});
