/**
 * Runs policy test cases against the compiled rules, deciding exactly as the running bot does: the
 * same compiled policy and default (explainDecision, with the case's roster facts as live state) and
 * the same group-sync planner for the groups a contact ends up in.
 */
import type { PolicyCaseFailure, SubscriptionExplanation } from "../api.ts";
import { explainDecision } from "../explain.ts";
import type { GroupRules } from "../group-sync/config.ts";
import { desiredGroups, wantedGroups } from "../group-sync/planner.ts";
import { cleanGroups, type RosterItem } from "../item.ts";
import type { CompiledPolicy } from "../policy/compile.ts";
import { factsFor, type RosterFacts } from "../policy/facts.ts";
import type { SubscriptionAction } from "../policy/match-schema.ts";
import type { BlockExpectation } from "./case-schema.ts";
import type { PolicyCase } from "./load-cases.ts";

/** What the cases run against: the running bot's compiled rules. */
export interface CaseContext {
  policy: CompiledPolicy;
  defaultAction: SubscriptionAction;
  groups: GroupRules;
}

/** The rule name a case gives for "no rule matches". */
export const DEFAULT_RULE = "default";

const quoted = (groups: readonly string[]) => `[${groups.join(", ")}]`;

function decider(e: SubscriptionExplanation): string {
  return e.decidedBy === "rules" ? `rule "${e.rule}"` : "the default";
}

function gave(e: SubscriptionExplanation): string {
  return e.decidedBy === "rules" ? "the rules gave" : "the default gave";
}

function ruleMismatch(expected: string, e: SubscriptionExplanation, names: ReadonlySet<string>): string | undefined {
  if (expected === DEFAULT_RULE) return e.decidedBy === "default" ? undefined : `expected the default to decide, ${decider(e)} did`;
  if (!names.has(expected)) return `expected rule "${expected}" to decide, but the config has no rule "${expected}" (renamed or removed?); ${decider(e)} decided`;
  return e.decidedBy === "rules" && e.rule === expected ? undefined : `expected rule "${expected}" to decide, ${decider(e)} did`;
}

function blockOf(e: SubscriptionExplanation): BlockExpectation {
  return e.block?.scope ?? "none";
}

/** The groups group sync leaves on the contact; without roster facts, those it gives a contact just added. */
function groupsAfterSync(jid: string, roster: RosterFacts | undefined, rules: GroupRules): string[] {
  const item: RosterItem | undefined = roster && { jid, groups: roster.groups, subscription: roster.subscription, approved: false };
  const wanted = wantedGroups(jid, item, rules.contacts.get(jid), rules);
  return [...desiredGroups(item?.groups ?? [], wanted, rules)];
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((g) => b.includes(g));

/** One case: undefined when it passes. Throws JidError only for a JID the schema let through (never). */
export function runCase(c: PolicyCase, ctx: CaseContext, ruleNames: ReadonlySet<string>): PolicyCaseFailure | undefined {
  // The roster copy holds groups cleaned (sorted, unique, within limits): so do the facts here.
  const roster = c.roster && { groups: cleanGroups(c.roster.groups, ctx.groups.limits), subscription: c.roster.subscription };
  const facts = factsFor(c.jid, roster);
  const explanation = explainDecision(ctx.policy, ctx.defaultAction, facts, true, c.jid);
  const mismatches: string[] = [];
  if (c.expect !== undefined && explanation.action !== c.expect) mismatches.push(`expected ${c.expect}, ${gave(explanation)} ${explanation.action}`);
  if (c.rule !== undefined) {
    const wrong = ruleMismatch(c.rule, explanation, ruleNames);
    if (wrong) mismatches.push(wrong);
  }
  if (c.block !== undefined && blockOf(explanation) !== c.block) mismatches.push(`expected block ${c.block}, ${gave(explanation)} block ${blockOf(explanation)}`);
  let groups: PolicyCaseFailure["groups"];
  if (c.groups !== undefined) {
    const expected = cleanGroups(c.groups, ctx.groups.limits);
    const actual = groupsAfterSync(facts.jid, roster, ctx.groups);
    if (!sameSet(expected, actual)) {
      mismatches.push(`expected groups ${quoted(expected)}, group sync gives ${quoted([...actual].sort())}`);
      groups = { expected, actual };
    }
  }
  if (!mismatches.length) return undefined;
  return { at: c.at, name: c.name ?? c.jid, jid: c.jid, mismatches, explanation, ...(groups ? { groups } : {}) };
}

/** Runs the cases in order; the failures, in order. */
export function runCases(cases: readonly PolicyCase[], ctx: CaseContext): PolicyCaseFailure[] {
  const ruleNames = new Set(ctx.policy.rules.map((r) => r.name));
  const failed: PolicyCaseFailure[] = [];
  for (const c of cases) {
    const failure = runCase(c, ctx, ruleNames);
    if (failure) failed.push(failure);
  }
  return failed;
}
