/**
 * Offline explanation of a subscription decision (`roster-bot explain`): which action the YAML
 * rules (or the default) give a JID, and why. No server, no roster: rules that depend on roster
 * state are evaluated as "not in the roster" and named, and plugin taps are not consulted.
 */
import { formatDuration } from "../../bots/config/units.ts";
import type { BlockSpec, SubscriptionExplanation } from "./api.ts";
import type { RosterConfig } from "./config.ts";
import { factsFor, type ContactFacts } from "./policy/facts.ts";
import { compilePolicy, type CompiledPolicy } from "./policy/compile.ts";
import type { SubscriptionAction } from "./policy/match-schema.ts";
import { blockTarget } from "./blocking/target.ts";

/**
 * What the rules, or else the default, answer for these facts. `live`: the facts hold the real
 * roster state (the running bot); otherwise rules that need it are named in `needsRoster`.
 * `blockingSupported`: whether this session's server has XEP-0191 (live only).
 */
export function explainDecision(policy: CompiledPolicy, defaultAction: SubscriptionAction, facts: ContactFacts, live: boolean, given?: string, blockingSupported?: boolean): SubscriptionExplanation {
  const explained = policy.explain(facts);
  const needsRoster = live ? [] : explained.needsRoster;
  const { decision } = explained;
  // The rules saw the normal form; say so when the JID was given in another spelling (A-labels,
  // width forms), but not for case alone, which every reader sees through.
  const typed = given?.split("/")[0];
  const input = typed !== undefined && typed.toLowerCase() !== facts.jid ? { input: typed } : {};
  const supported = live && blockingSupported !== undefined ? { blockingSupported } : {};
  if (decision) {
    const block = decision.block ? { block: decision.block } : {};
    return { jid: facts.jid, ...input, action: decision.action, decidedBy: "rules", rule: decision.rule, reason: decision.reason, needsRoster, ...block, ...supported };
  }
  return { jid: facts.jid, ...input, action: defaultAction, decidedBy: "default", rule: undefined, reason: "no rule matches", needsRoster, ...supported };
}

export function explainOffline(config: RosterConfig, configDir: string, jid: string): SubscriptionExplanation {
  const policy = compilePolicy(config.subscriptions.rules, { baseDir: configDir });
  return explainDecision(policy, config.subscriptions.default, factsFor(jid), false, jid);
}

/** "a@bücher.example (given as a@xn--bcher-kva.example)", or the JID alone when it was given so. */
export function explainedJid(e: Pick<SubscriptionExplanation, "jid" | "input">): string {
  return e.input === undefined ? e.jid : `${e.jid} (given as ${e.input})`;
}

/** "then block spam.example (domain) for 7d", or "... until lifted by hand". */
export function describeBlock(jid: string, block: BlockSpec): string {
  const what = block.scope === "domain" ? "domain" : "bare JID";
  const until = block.forMs === undefined ? "until lifted by hand" : `for ${formatDuration(block.forMs)}`;
  return `then block ${blockTarget(jid, block.scope).jid} (${what}) ${until}`;
}

/** Why a block may come to nothing: the server lacks XEP-0191 (live), or may (offline). */
function blockingNote(e: SubscriptionExplanation): string | undefined {
  if (!e.block || e.blockingSupported === true) return undefined;
  return e.blockingSupported === false
    ? "  note: this bot's server does not support blocking (XEP-0191): the request is only rejected"
    : "  note: on a server without blocking (XEP-0191) the request is only rejected";
}

/** 'decided by rule "x": reason', or 'decided by the default (reason)'. */
export function decidedByText(e: Pick<SubscriptionExplanation, "decidedBy" | "rule" | "reason">): string {
  return e.decidedBy === "rules" ? `decided by rule "${e.rule}": ${e.reason}` : `decided by the default (${e.reason})`;
}

export function formatExplanation(e: SubscriptionExplanation): string {
  const lines = [
    `${explainedJid(e)}: ${e.action}${e.block ? `, ${describeBlock(e.jid, e.block)}` : ""}`,
    `  ${decidedByText(e)}`,
  ];
  const note = blockingNote(e);
  if (note) lines.push(note);
  if (e.needsRoster.length) {
    lines.push(`  note: rule(s) ${e.needsRoster.map((r) => `"${r}"`).join(", ")} depend on live roster state and were evaluated as "not in the roster"`);
  }
  lines.push("  (plugins tapping the decision hook and rate limits can change this at run time)");
  return lines.join("\n") + "\n";
}
