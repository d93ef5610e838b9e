/**
 * The roster plugin: an exact RFC 6121 roster copy, the subscription policy, group sync, and the
 * `roster` service other plugins use (see api.ts for the contract).
 */
import { formatIssues } from "../../bots/config/source.ts";
import { definePlugin, type CheckEnv, type PluginConfigIssue } from "../../bots/plugin.ts";
import { rosterCommands } from "./commands.ts";
import { decidedByText } from "./explain.ts";
import { rosterConfigSchema, type RosterConfig } from "./config.ts";
import { compileGroupRules, GroupRulesError, type GroupRules } from "./group-sync/config.ts";
import { compilePolicy, PolicyCompileError, type CompiledPolicy } from "./policy/compile.ts";
import { configuredCaseFiles, PolicyTestFileError, runCaseFiles, shownPath } from "./policy-tests/index.ts";

/**
 * Rule problems the schema cannot see (list files, patterns), with paths into the plugin's section;
 * and, unless a command loads the config (`forCommand`), every failing policy test case and case-file
 * problem, at `subscriptions.tests`.
 */
export function checkRosterConfig(config: RosterConfig, configDir: string, env: Pick<CheckEnv, "forCommand"> = {}): PluginConfigIssue[] {
  const issues: PluginConfigIssue[] = [];
  let policy: CompiledPolicy | undefined;
  let groups: GroupRules | undefined;
  try {
    policy = compilePolicy(config.subscriptions.rules, { baseDir: configDir });
  } catch (err) {
    if (!(err instanceof PolicyCompileError)) throw err;
    issues.push(...err.issues.map((i) => ({ path: ["subscriptions", "rules", ...i.path], message: i.message })));
  }
  try {
    groups = compileGroupRules(config.groups, { baseDir: configDir, limits: config.limits });
  } catch (err) {
    if (!(err instanceof GroupRulesError)) throw err;
    issues.push(...err.issues.map((i) => ({ path: ["groups", ...i.path], message: i.message })));
  }
  if (policy && groups && !env.forCommand) issues.push(...policyTestIssues(config, configDir, policy, groups));
  return issues;
}

/** The configured cases, run against the rules just compiled: each failure or case-file problem is an issue. */
function policyTestIssues(config: RosterConfig, configDir: string, policy: CompiledPolicy, groups: GroupRules): PluginConfigIssue[] {
  const files = configuredCaseFiles(config, configDir);
  if (!files.length) return [];
  // One file: the `tests` value itself; a list: its entry for the file.
  const at = (i: number) => (typeof config.subscriptions.tests === "string" ? ["subscriptions", "tests"] : ["subscriptions", "tests", i]);
  const shown = files.map((f) => shownPath(f));
  try {
    const report = runCaseFiles(files, { policy, defaultAction: config.subscriptions.default, groups });
    return report.failed.map((f) => ({
      path: at(Math.max(0, shown.findIndex((s) => f.at.startsWith(`${s}:`)))),
      message: `policy test ${f.at} ${f.name} (${f.jid}) fails: ${f.mismatches.join("; ")} (${decidedByText(f.explanation)})`,
    }));
  } catch (err) {
    if (!(err instanceof PolicyTestFileError)) throw err;
    return err.issues.map((i) => ({ path: at(Math.max(0, shown.indexOf(i.file))), message: `policy test cases: ${formatIssues([i])}` }));
  }
}

// Outside `export default`: tsc 5.9 does not rewrite a `.ts` dynamic import inside that expression.
const loadComposition = () => import("./compose.ts");

export default definePlugin({
  name: "roster",
  config: rosterConfigSchema,
  check: (config, { configDir, forCommand }) => checkRosterConfig(config, configDir, { forCommand }),
  commands: rosterCommands,
  async apply(ctx, config) {
    const { composeRoster } = await loadComposition();
    composeRoster(ctx, config);
  },
});
