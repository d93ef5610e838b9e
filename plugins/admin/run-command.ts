/**
 * Runs one parsed admin command against the roster plugin's public service (plugins/roster/api.ts)
 * and returns the reply text and a short result for the audit line. Never throws: a failing call
 * becomes a reply that says so.
 */
import type { RosterService } from "../../index.ts";
import { closestJids } from "./closest.ts";
import { HELP_TEXT, type Command } from "./commands.ts";
import {
  decisionReply,
  explainReply,
  grantReply,
  notPendingReply,
  pendingReply,
  planReply,
  rosterReply,
  statsReply,
  syncReply,
} from "./replies.ts";
import type { DecisionCounter } from "./stats.ts";

export interface CommandEnv {
  roster: RosterService;
  counter: DecisionCounter;
  /** Bare JID of the admin who sent the command (recorded as who approved or denied). */
  admin: string;
  now?: () => number;
}

export interface CommandOutcome {
  reply: string;
  /** For the audit line: "ok", "not pending" (an approve that sent nothing) or "error: ...". */
  result: string;
}

const NOT_LOADED = "The roster is not loaded yet; try again in a moment.";

export async function runCommand(cmd: Command, env: CommandEnv): Promise<CommandOutcome> {
  try {
    const done = await execute(cmd, env);
    return typeof done === "string" ? { reply: done, result: "ok" } : done;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { reply: `${cmd.name} failed: ${message}`, result: `error: ${message}` };
  }
}

async function execute(cmd: Command, { roster, counter, admin, now = Date.now }: CommandEnv): Promise<string | CommandOutcome> {
  const subs = roster.subscriptions;
  if ((cmd.name === "approve" || cmd.name === "grant" || cmd.name === "deny") && cmd.jid === roster.account) return "That is the bot's own account.";
  switch (cmd.name) {
    case "help":
      return HELP_TEXT;
    case "pending":
      return pendingReply(subs.pending(), now());
    case "approve": {
      // Only a held request: a typo must never give a stranger the bot's presence (that is `grant`).
      const pending = subs.pending();
      if (!pending.some((p) => p.jid === cmd.jid)) {
        const closest = closestJids(cmd.jid, pending.map((p) => p.jid));
        return { reply: notPendingReply(cmd.jid, closest, pending.length), result: "not pending" };
      }
      return decisionReply(await subs.approve(cmd.jid, { by: admin, mutual: cmd.mutual }), true);
    }
    case "grant":
      return grantReply(await subs.grant(cmd.jid, { by: admin }));
    case "deny": {
      const wasPending = subs.pending().some((p) => p.jid === cmd.jid);
      return decisionReply(await subs.deny(cmd.jid, { by: admin }), wasPending);
    }
    case "explain":
      return explainReply(subs.explain(cmd.given ?? cmd.jid), roster.get(cmd.jid), subs.pending().find((p) => p.jid === cmd.jid), now());
    case "roster":
      if (!roster.loaded) return NOT_LOADED;
      return rosterReply(cmd.group === undefined ? roster.list() : roster.inGroup(cmd.group), cmd.group);
    case "stats":
      return statsReply({ items: roster.list(), pending: subs.pending().length, decisions: counter.byAction, since: counter.since, now: now() });
    case "plan":
      if (!roster.loaded) return NOT_LOADED;
      return planReply(roster.groups.plan());
    case "sync":
      if (!roster.loaded) return NOT_LOADED;
      return syncReply(await roster.groups.sync("manual"));
  }
}
