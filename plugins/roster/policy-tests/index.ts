/**
 * Policy as code: test cases that pin down what the subscription rules and group sync must decide
 * (`roster-bot test`, `check`, hot reload).
 */
import path from "node:path";
import type { PolicyTestReport } from "../api.ts";
import type { RosterConfig } from "../config.ts";
import { compileGroupRules } from "../group-sync/config.ts";
import { compilePolicy } from "../policy/compile.ts";
import type { ConfigIssue } from "../../../bots/config/source.ts";
import { loadCaseFile, PolicyTestFileError, shownPath, type PolicyCase } from "./load-cases.ts";
import { runCases, type CaseContext } from "./run-cases.ts";

export { formatPolicyTestReport } from "./format.ts";
export { PolicyTestFileError, shownPath } from "./load-cases.ts";
export type { CaseContext } from "./run-cases.ts";

/** The configured case files (`subscriptions.tests`), absolute; none when the key is not set. */
export function configuredCaseFiles(config: RosterConfig, configDir: string): string[] {
  const tests = config.subscriptions.tests;
  if (tests === undefined) return [];
  return (typeof tests === "string" ? [tests] : tests).map((f) => path.resolve(configDir, f));
}

/**
 * Runs case files against already compiled rules (what `check` has at hand). `files` absolute or
 * relative to the working directory. Throws PolicyTestFileError with the issues of every bad or
 * missing file, before any case runs.
 */
export function runCaseFiles(files: readonly string[], ctx: CaseContext): PolicyTestReport {
  const all: PolicyCase[] = [];
  const issues: ConfigIssue[] = [];
  for (const file of files) {
    try {
      all.push(...loadCaseFile(file));
    } catch (err) {
      if (!(err instanceof PolicyTestFileError)) throw err;
      issues.push(...err.issues);
    }
  }
  if (issues.length) throw new PolicyTestFileError(issues);
  const failed = runCases(all, ctx);
  return { files: files.map((f) => shownPath(f)), total: all.length, passed: all.length - failed.length, failed };
}

/**
 * Runs the policy test cases: `files` (relative to the working directory), else the configured ones
 * (relative to `configDir`). Throws PolicyCompileError / GroupRulesError for rules that do not
 * compile, PolicyTestFileError for a bad or missing case file.
 */
export function runPolicyTests(config: RosterConfig, configDir: string, files?: string[]): PolicyTestReport {
  const ctx: CaseContext = {
    policy: compilePolicy(config.subscriptions.rules, { baseDir: configDir }),
    defaultAction: config.subscriptions.default,
    groups: compileGroupRules(config.groups, { baseDir: configDir, limits: config.limits }),
  };
  return runCaseFiles(files ?? configuredCaseFiles(config, configDir), ctx);
}
