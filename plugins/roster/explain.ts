/**
 * Offline explanation of a subscription decision (`roster-bot explain`): which action the YAML
 * rules (or the default) give a JID, and why. No server, no roster: rules that depend on roster
 * state are evaluated as "not in the roster" and named, and plugin taps are not consulted.
 */
import type { SubscriptionExplanation } from "./api.ts";
import type { RosterConfig } from "./config.ts";
import { factsFor, type ContactFacts } from "./policy/facts.ts";
import { compilePolicy, type CompiledPolicy } from "./policy/compile.ts";
import type { SubscriptionAction } from "./policy/match-schema.ts";

/**
 * What the rules, or else the default, answer for these facts. `live`: the facts hold the real
 * roster state (the running bot); otherwise rules that need it are named in `needsRoster`.
 */
export function explainDecision(policy: CompiledPolicy, defaultAction: SubscriptionAction, facts: ContactFacts, live: boolean, given?: string): SubscriptionExplanation {
  const explained = policy.explain(facts);
  const needsRoster = live ? [] : explained.needsRoster;
  const { decision } = explained;
  // The rules saw the normal form; say so when the JID was given in another spelling (A-labels,
  // width forms), but not for case alone, which every reader sees through.
  const typed = given?.split("/")[0];
  const input = typed !== undefined && typed.toLowerCase() !== facts.jid ? { input: typed } : {};
  if (decision) {
    return { jid: facts.jid, ...input, action: decision.action, decidedBy: "rules", rule: decision.rule, reason: decision.reason, needsRoster };
  }
  return { jid: facts.jid, ...input, action: defaultAction, decidedBy: "default", rule: undefined, reason: "no rule matches", needsRoster };
}

export function explainOffline(config: RosterConfig, configDir: string, jid: string): SubscriptionExplanation {
  const policy = compilePolicy(config.subscriptions.rules, { baseDir: configDir });
  return explainDecision(policy, config.subscriptions.default, factsFor(jid), false, jid);
}

/** "a@bücher.example (given as a@xn--bcher-kva.example)", or the JID alone when it was given so. */
export function explainedJid(e: Pick<SubscriptionExplanation, "jid" | "input">): string {
  return e.input === undefined ? e.jid : `${e.jid} (given as ${e.input})`;
}

export function formatExplanation(e: SubscriptionExplanation): string {
  const lines = [
    `${explainedJid(e)}: ${e.action}`,
    e.decidedBy === "rules" ? `  decided by rule "${e.rule}": ${e.reason}` : `  decided by the default (${e.reason})`,
  ];
  if (e.needsRoster.length) {
    lines.push(`  note: rule(s) ${e.needsRoster.map((r) => `"${r}"`).join(", ")} depend on live roster state and were evaluated as "not in the roster"`);
  }
  lines.push("  (plugins tapping the decision hook and rate limits can change this at run time)");
  return lines.join("\n") + "\n";
}
