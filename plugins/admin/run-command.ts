/**
 * Runs one parsed admin command against the roster plugin's public service (plugins/roster/api.ts)
 * and returns the reply text and a short result for the audit line. Never throws: a failing call
 * becomes a reply that says so.
 */
import { domainOf, type BlockEntry, type BlockingApi, type RosterService } from "../../index.ts";
import { closestJids } from "./closest.ts";
import { HELP_TEXT, type Command } from "./commands.ts";
import {
  blockedReply,
  blockingErrorReply,
  blockReply,
  capped,
  decisionReply,
  explainReply,
  grantReply,
  notPendingReply,
  pendingReply,
  planReply,
  policyTestReply,
  replayReply,
  rosterReply,
  statsReply,
  syncReply,
  unblockReply,
} from "./replies.ts";
import type { DecisionCounter } from "./stats.ts";

export interface CommandEnv {
  roster: RosterService;
  counter: DecisionCounter;
  /** Bare JID of the admin who sent the command (recorded as who approved, denied, blocked or unblocked). */
  admin: string;
  /** Every admin's bare JID: `block` refuses an entry that would stop an admin's commands. */
  admins?: ReadonlySet<string>;
  now?: () => number;
}

export interface CommandOutcome {
  reply: string;
  /**
   * For the audit line: "ok", "not pending" (an approve that sent nothing), "refused" (a block of
   * the bot or an admin), a block's "already" / "unsupported", "not blocked", failing policy test
   * cases ("2 of 12 cases failed"), or "error: ...".
   */
  result: string;
}

const NOT_LOADED = "The roster is not loaded yet; try again in a moment.";
const DAY_MS = 86_400_000;
/** Lines of a case file's problems shown; the rest are counted. */
const MAX_CASE_FILE_ISSUES = 10;

export async function runCommand(cmd: Command, env: CommandEnv): Promise<CommandOutcome> {
  try {
    const done = await execute(cmd, env);
    return typeof done === "string" ? { reply: done, result: "ok" } : done;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { reply: `${cmd.name} failed: ${message}`, result: `error: ${message}` };
  }
}

/** True when a blocklist entry (a bare JID, or a domain) stops stanzas from this bare JID. */
function covers(entry: string, jid: string): boolean {
  return entry === jid || (!entry.includes("@") && entry === domainOf(jid));
}

/** Why an entry must not be blocked from chat: it would cut off the bot's account or an admin. */
function selfHarm(entry: string, env: CommandEnv): string | undefined {
  if (covers(entry, env.roster.account)) return "That would block the bot's own account (or its server); nothing blocked.";
  if (covers(entry, env.admin)) return "That would block your own messages to the bot; nothing blocked.";
  const admin = [...(env.admins ?? [])].find((a) => covers(entry, a));
  return admin ? `That would stop admin ${admin}'s commands reaching the bot; nothing blocked.` : undefined;
}

/** The entry the blocklist holds under this exact JID, else the one that covers it (its domain's). */
function heldEntry(blocking: BlockingApi, jid: string): BlockEntry | undefined {
  return blocking.list().find((e) => e.jid === jid) ?? blocking.blockedBy(jid);
}

async function block(cmd: Extract<Command, { name: "block" }>, env: CommandEnv): Promise<CommandOutcome> {
  const refusal = selfHarm(cmd.jid, env);
  if (refusal) return { reply: refusal, result: "refused" };
  const blocking = env.roster.blocking;
  const now = env.now ?? Date.now;
  try {
    const outcome = await blocking.block(cmd.given ?? cmd.jid, { by: `admin:${env.admin}`, ...(cmd.forMs === undefined ? {} : { forMs: cmd.forMs }) });
    // For "already", the outcome names the entry that holds it (the JID's own, or its domain's).
    const reply = blockReply(outcome, outcome.outcome === "already" ? heldEntry(blocking, outcome.jid) : undefined, now(), cmd.jid);
    const result = outcome.outcome === "blocked" ? "ok" : outcome.outcome === "failed" ? `error: ${outcome.error ?? "failed"}` : outcome.outcome;
    return { reply, result };
  } catch (err) {
    return { reply: blockingErrorReply("block", cmd.jid, err), result: `error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

async function unblock(cmd: Extract<Command, { name: "unblock" }>, env: CommandEnv): Promise<CommandOutcome> {
  const blocking = env.roster.blocking;
  // A person's entry may name one resource: a full JID typed is lifted as such when the list holds it.
  const entries = blocking.list();
  const full = cmd.full === undefined ? undefined : entries.find((e) => e.jid === cmd.full);
  const target = full ? full.jid : cmd.jid;
  const was = full ?? entries.find((e) => e.jid === cmd.jid);
  try {
    const r = await blocking.unblock(full ? full.jid : (cmd.given ?? cmd.jid), { by: `admin:${env.admin}` });
    const covering = r.outcome === "not-blocked" ? blocking.blockedBy(target) : undefined;
    return { reply: unblockReply(r, was, covering), result: r.outcome === "unblocked" ? "ok" : "not blocked" };
  } catch (err) {
    return { reply: blockingErrorReply("unblock", target, err), result: `error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** `test`: the report, or why the case files could not be read (each problem with its file:line:column). */
async function policyTests(roster: RosterService): Promise<CommandOutcome> {
  try {
    const report = await roster.policy.test();
    return { reply: policyTestReply(report), result: report.failed.length ? `${report.failed.length} of ${report.total} cases failed` : "ok" };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const issues = message.split("\n");
    return { reply: ["The policy test cases could not be run:", ...capped(issues, MAX_CASE_FILE_ISSUES)].join("\n"), result: `error: ${issues[0]}` };
  }
}

async function execute(cmd: Command, env: CommandEnv): Promise<string | CommandOutcome> {
  const { roster, counter, admin, now = Date.now } = env;
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
      return explainReply(subs.explain(cmd.given ?? cmd.jid), roster.get(cmd.jid), subs.pending().find((p) => p.jid === cmd.jid), now(), roster.blocking.blockedBy(cmd.jid));
    case "block":
      return block(cmd, env);
    case "unblock":
      return unblock(cmd, env);
    case "blocked": {
      if (!roster.loaded) return NOT_LOADED;
      const blocking = roster.blocking;
      return blockedReply(blocking.list(), blocking.supported, now());
    }
    case "roster":
      if (!roster.loaded) return NOT_LOADED;
      return rosterReply(cmd.group === undefined ? roster.list() : roster.inGroup(cmd.group), cmd.group);
    case "stats":
      return statsReply({ items: roster.list(), pending: subs.pending().length, decisions: counter.byAction, since: counter.since, now: now() });
    case "plan":
      if (!roster.loaded) return NOT_LOADED;
      return planReply(roster.groups.plan(), roster.blocking.plan(), now());
    case "sync":
      if (!roster.loaded) return NOT_LOADED;
      return syncReply(await roster.groups.sync("manual"));
    case "test":
      return policyTests(roster);
    case "replay":
      return replayReply(await roster.policy.replay({ since: new Date(now() - cmd.days * DAY_MS) }), cmd.days);
  }
}
