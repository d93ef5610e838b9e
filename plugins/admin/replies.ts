/**
 * The text of every admin reply (pure: data in, plain text out). Short lines for a phone screen;
 * long lists are cut at MAX_LIST_LINES with "… and N more".
 */
import {
  domainOf,
  RosterError,
  theyHaveOurPresence,
  type BlockEntry,
  type BlocklistPlan,
  type BlockOutcome,
  type BlockSpec,
  type UnblockResult,
  type GrantResult,
  type GroupChange,
  type PendingRequest,
  type PolicyCaseFailure,
  type PolicyTestReport,
  type ReplayFlipGroup,
  type ReplayReport,
  type RosterItem,
  type SubscriptionAction,
  type SubscriptionDecision,
  type SubscriptionExplanation,
  type SyncPlan,
  type SyncResult,
} from "../../index.ts";
import { formatDuration, span } from "./duration-text.ts";

export const MAX_LIST_LINES = 30;

export function capped(lines: string[], max = MAX_LIST_LINES): string[] {
  return lines.length <= max ? lines : [...lines.slice(0, max), `… and ${lines.length - max} more`];
}

/** "45s", "12m", "3h", "2d": how long ago an ISO time was. */
export function age(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return "?";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

export function notifyAsk(d: SubscriptionDecision): string {
  return [`${d.jid} asks to see the bot's presence (held: ${d.reason}).`, `Reply "approve ${d.jid}" or "deny ${d.jid}".`].join("\n");
}

export function pendingReply(pending: readonly PendingRequest[], now: number): string {
  if (pending.length === 0) return "No pending requests.";
  const lines = pending.map((p) => `${p.jid} - ${age(p.since, now)} ago${p.rule ? ` (rule ${p.rule})` : ""}`);
  return [`${pending.length} pending:`, ...capped(lines), `Answer with "approve JID" or "deny JID".`].join("\n");
}

export function decisionReply(d: SubscriptionDecision, wasPending: boolean): string {
  const verb = d.action === "reject" ? "Denied" : "Approved";
  const note = wasPending ? "" : " (it was not pending)";
  if (d.sent.length === 0) return `${verb} ${d.jid}${note}, but the answer could not be sent; try again when the bot is online.`;
  return `${verb} ${d.jid}${note}: sent ${d.sent.join(" + ")}.`;
}

/** An `approve` of a JID with no held request: nothing was sent; the closest held ones, if any. */
export function notPendingReply(jid: string, closest: readonly string[], pendingCount: number): string {
  const lines = [`No request from ${jid} is held; nothing sent.`];
  if (closest.length) lines.push(`Did you mean ${closest.join(" or ")}?`);
  else lines.push(pendingCount ? `${pendingCount} pending; send "pending" for the list.` : "Nothing is pending.");
  lines.push(`To give ${jid} the bot's presence without a request, send "grant ${jid}".`);
  return lines.join("\n");
}

/** Says what `grant` sent and what the server's roster showed afterwards. */
export function grantReply(g: GrantResult): string {
  const sent = g.sent.join(" + ");
  if (g.outcome === "already") return `${g.jid} already receives the bot's presence (subscription ${g.before?.subscription}); nothing sent.`;
  if (g.sent.length === 0) return `Granted nothing: the answer to ${g.jid} could not be sent; try again when the bot is online.`;
  if (g.outcome === "approved") return `${g.jid} had a held request, so it was approved: sent ${sent}.`;
  const lines = [`Granted ${g.jid} without a request: sent ${sent}.`];
  if (theyHaveOurPresence(g.after)) {
    lines.push(`The server held a request from them: they now receive the bot's presence (subscription ${g.after!.subscription}).`);
  } else if (g.preApproval) {
    lines.push("The server keeps them pre-approved (RFC 6121 §3.4): when they ask, it accepts without asking the bot.");
  } else {
    lines.push("The server does not advertise pre-approval, so it keeps nothing: they must ask first, then be approved.");
  }
  if (!g.before && g.after) lines.push(`It added them to the roster (subscription ${g.after.subscription}).`);
  else if (!g.pushed) lines.push("The server sent no roster change.");
  return lines.join("\n");
}

/** ", then block spam.example (domain) for 7d": what a rule's block option adds to its reject. */
function thenBlock(jid: string, block: BlockSpec): string {
  const entry = block.scope === "domain" ? `${domainOf(jid)} (domain)` : jid;
  return `, then block ${entry} ${block.forMs === undefined ? "until unblocked" : `for ${formatDuration(block.forMs)}`}`;
}

/** What decided: "rule partners: from a partner domain", or "default (no rule matches)". */
function decidedLine(e: SubscriptionExplanation): string {
  return e.decidedBy === "rules" ? `rule ${e.rule}: ${e.reason}` : `default (${e.reason})`;
}

/** `blocked`: the blocklist entry (if any) that stops this JID's stanzas at the server now. */
export function explainReply(e: SubscriptionExplanation, item: RosterItem | undefined, pending: PendingRequest | undefined, now: number, blocked?: BlockEntry): string {
  const given = e.input === undefined ? "" : ` (given as ${e.input})`;
  const lines = [`${e.jid}${given}: ${e.action}${e.block ? thenBlock(e.jid, e.block) : ""}`, decidedLine(e)];
  if (e.block && e.blockingSupported === false) lines.push(`${UNSUPPORTED}: this rule rejects only`);
  lines.push(item ? `in roster: ${item.subscription}${item.groups.length ? ` [${item.groups.join(", ")}]` : ""}` : "not in roster");
  if (pending) lines.push(`pending for ${age(pending.since, now)}`);
  if (blocked) lines.push(`blocked at the server: ${entryLine(blocked, now)}`);
  lines.push("(rules only: plugins and rate limits may answer otherwise)");
  return lines.join("\n");
}

function itemLine(i: RosterItem): string {
  const name = i.name ? ` "${i.name}"` : "";
  const ask = i.ask ? " (asked)" : "";
  const groups = i.groups.length ? ` [${i.groups.join(", ")}]` : "";
  return `${i.jid}${name} ${i.subscription}${ask}${groups}`;
}

export function rosterReply(items: readonly RosterItem[], group: string | undefined): string {
  const where = group === undefined ? "" : ` in group "${group}"`;
  if (items.length === 0) return `No contacts${where}.`;
  const sorted = [...items].sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));
  return [`${items.length} contact${items.length === 1 ? "" : "s"}${where}:`, ...capped(sorted.map(itemLine))].join("\n");
}

export interface StatsInput {
  items: readonly RosterItem[];
  pending: number;
  decisions: ReadonlyMap<SubscriptionAction, number>;
  since: number;
  now: number;
}

export function statsReply(s: StatsInput): string {
  const bySub = { both: 0, from: 0, to: 0, none: 0 };
  for (const i of s.items) bySub[i.subscription]++;
  const subs = (Object.keys(bySub) as (keyof typeof bySub)[]).map((k) => `${k} ${bySub[k]}`).join(", ");
  const decided = [...s.decisions.entries()].filter(([, n]) => n > 0);
  const total = decided.reduce((sum, [, n]) => sum + n, 0);
  return [
    `Contacts: ${s.items.length} (${subs})`,
    `Pending: ${s.pending}`,
    `Decisions since start (${age(new Date(s.since).toISOString(), s.now)} ago): ${total}${total ? ` (${decided.map(([a, n]) => `${a} ${n}`).join(", ")})` : ""}`,
  ].join("\n");
}

function list(groups: readonly string[]): string {
  return `[${groups.join(", ")}]`;
}

function changeLine(c: GroupChange): string {
  if (c.op === "remove") return `- ${c.jid}`;
  const parts: string[] = [];
  if (c.op === "add") {
    parts.push(`+ ${c.jid} ${list(c.groups.after)}`);
    if (c.name.after) parts.push(`"${c.name.after}"`);
  } else {
    parts.push(`~ ${c.jid}`);
    if (list(c.groups.before) !== list(c.groups.after)) parts.push(`${list(c.groups.before)} -> ${list(c.groups.after)}`);
    if (c.name.before !== c.name.after) parts.push(`name "${c.name.before ?? ""}" -> "${c.name.after ?? ""}"`);
  }
  if (c.subscribe) parts.push("+subscribe");
  return parts.join(" ");
}

/** The roster items group sync leaves alone (not readable exactly), each JID cut to 64 characters. */
function skippedLines(plan: SyncPlan): string[] {
  const skipped = plan.skipped ?? [];
  if (skipped.length === 0) return [];
  const cut = (jid: string) => (jid.length > 64 ? `${jid.slice(0, 64)}…` : jid);
  return [`Skipped ${skipped.length} roster item${skipped.length === 1 ? "" : "s"} I cannot read exactly (a person must mend them):`, ...capped(skipped.map((s) => `${cut(s.jid)}: ${s.reason}`))];
}

/** The group sync plan, then (when given) what a session start would change in the blocklist. */
export function planReply(plan: SyncPlan, blocklist?: BlocklistPlan, now = Date.now()): string {
  return [groupPlanText(plan), ...(blocklist ? [blocklistPlanText(blocklist, now)] : [])].join("\n");
}

function groupPlanText(plan: SyncPlan): string {
  const held = plan.heldBack ? `${plan.heldBack} removal${plan.heldBack === 1 ? "" : "s"} held back by maxPerRun.` : undefined;
  if (plan.changes.length === 0) return ["Group sync: nothing to change.", ...(held ? [held] : []), ...skippedLines(plan)].join("\n");
  return [
    `Group sync would make ${plan.changes.length} change${plan.changes.length === 1 ? "" : "s"}:`,
    ...capped(plan.changes.map(changeLine)),
    ...(held ? [held] : []),
    ...skippedLines(plan),
    `Send "sync" to apply.`,
  ].join("\n");
}

export function syncReply(r: SyncResult): string {
  const planned = r.plan.changes.length;
  if (planned === 0 && r.failed.length === 0) return "Group sync: nothing to change.";
  const lines = [`Group sync: applied ${r.applied.length} of ${planned}${r.failed.length ? `, ${r.failed.length} failed` : ""}.`];
  lines.push(...capped(r.failed.map((f) => `failed ${f.change.jid}: ${f.error}`), 10));
  if (r.plan.heldBack) lines.push(`${r.plan.heldBack} removal${r.plan.heldBack === 1 ? "" : "s"} held back by maxPerRun.`);
  return lines.join("\n");
}

// ---- blocking at the server (XEP-0191) ----

const UNSUPPORTED = "the server does not support blocking (no XEP-0191)";

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** An entry's name: a domain entry (no "@", no resource) says so. */
export function entryName(jid: string): string {
  return jid.includes("@") || jid.includes("/") ? jid : `${jid} (domain)`;
}

/** "2026-12-07 22:48 UTC" */
function clock(iso: string): string {
  return `${iso.slice(0, 16).replace("T", " ")} UTC`;
}

function expiry(expires: string | undefined, now: number): string {
  if (expires === undefined) return "no expiry";
  const left = Date.parse(expires) - now;
  return left > 0 ? `expires in ${span(left)}` : "expired, to be lifted";
}

/** Who made the bot add an owned entry: "rule spammers", "admin:boss@example.org", "rate-limit". */
function addedBy(e: BlockEntry): string {
  if (!e.owned) return "not the bot";
  if (e.by === "rules" && e.rule) return `rule ${e.rule}`;
  return `${e.by ?? "the bot"}${e.rule ? ` (rule ${e.rule})` : ""}`;
}

/** "admin:boss@example.org, 2h ago, expires in 6d 22h" */
function entryDetails(e: BlockEntry, now: number): string {
  const parts = [addedBy(e)];
  if (e.since) parts.push(`${age(e.since, now)} ago`);
  if (e.owned) parts.push(expiry(e.expires, now));
  return parts.join(", ");
}

/** "spam.example (domain) - admin:boss@example.org, 2h ago, expires in 6d 22h" */
function entryLine(e: BlockEntry, now: number): string {
  return `${entryName(e.jid)} - ${entryDetails(e, now)}`;
}

/**
 * What `block` did. `held`: the entry the blocklist holds for it afterwards (for "already": whose
 * it is, and when it expires); `asked`: the JID or domain the admin named.
 */
export function blockReply(o: BlockOutcome, held: BlockEntry | undefined, now: number, asked = o.jid): string {
  const name = entryName(o.outcome === "already" ? asked : o.jid);
  switch (o.outcome) {
    case "blocked":
      return o.expires === undefined
        ? `Blocked ${name} at the server, with no expiry: "unblock ${o.jid}" lifts it.`
        : `Blocked ${name} at the server until ${clock(o.expires)} (${span(Date.parse(o.expires) - now)}).`;
    case "already": {
      if (!held) return `${name} is already being blocked; nothing more sent.`;
      const via = held.jid === asked ? "" : ` (entry ${entryName(held.jid)})`;
      if (!held.owned) return `${name} is already blocked${via}, by a person (not the bot): left as it is.`;
      return [
        `${name} is already blocked${via}: ${entryDetails(held, now)}.`,
        `Left as it is; to change its expiry, "unblock ${held.jid}" then block again.`,
      ].join("\n");
    }
    case "unsupported":
      return `Nothing blocked: ${UNSUPPORTED}.`;
    case "failed":
      return `Blocking ${name} failed${o.error ? `: ${o.error}` : ""}; nothing blocked.`;
  }
}

/** What `unblock` did. `was`: the entry before (whose it was); `covering`: an entry that still blocks the JID (its domain's). */
export function unblockReply(r: UnblockResult, was: BlockEntry | undefined, covering: BlockEntry | undefined): string {
  const name = entryName(r.jid);
  if (r.outcome === "unblocked") {
    const whose = was ? (was.owned ? ` It was added by ${addedBy(was)}.` : " It was a person's entry (not the bot's).") : "";
    return `Unblocked ${name}.${whose}`;
  }
  const lines = [`${name} is not blocked; nothing to lift.`];
  if (covering && covering.jid !== r.jid) lines.push(`It is blocked by the entry ${entryName(covering.jid)}: send "unblock ${covering.jid}" to lift that.`);
  return lines.join("\n");
}

/** A block or unblock that threw: offline, no XEP-0191, or the server's refusal, in plain words. */
export function blockingErrorReply(verb: "block" | "unblock", jid: string, err: unknown): string {
  const nothing = verb === "block" ? "nothing blocked" : "nothing lifted";
  const condition = err instanceof RosterError ? err.condition : undefined;
  if (condition === "offline") return `The bot is not connected to its server; ${nothing}. Try again when it is online.`;
  if (condition === "not-supported") return `${UNSUPPORTED[0]!.toUpperCase()}${UNSUPPORTED.slice(1)}; ${nothing}.`;
  if (condition === "timeout") return `The server did not answer the ${verb} of ${entryName(jid)}; ${nothing} for sure. Send "blocked" to see the list.`;
  if (condition) return `The server refused to ${verb} ${entryName(jid)} (${condition}); ${nothing}.`;
  return `${verb} ${jid} failed: ${err instanceof Error ? err.message : String(err)}`;
}

/** `blocked`: every entry of the blocklist, whose it is, since when, and when the bot lifts it. */
export function blockedReply(entries: readonly BlockEntry[], supported: boolean, now: number): string {
  if (entries.length === 0) return supported ? "The blocklist is empty." : `No blocklist: ${UNSUPPORTED}.`;
  const owned = entries.filter((e) => e.owned).length;
  return [
    `${plural(entries.length, "entry", "entries")} blocked (${owned} by the bot, ${entries.length - owned} not the bot):`,
    ...capped(entries.map((e) => entryLine(e, now))),
  ].join("\n");
}

/** What a session start would change in the blocklist (plan). */
function blocklistPlanText(p: BlocklistPlan, now: number): string {
  if (!p.supported) return `Blocklist: ${UNSUPPORTED}; rules with block reject only.`;
  if (p.lift.length === 0 && p.forget.length === 0) return "Blocklist: nothing to change.";
  const heads: string[] = [];
  if (p.lift.length) heads.push(`lift ${plural(p.lift.length, "expired entry", "expired entries")}`);
  if (p.forget.length) heads.push(`forget ${plural(p.forget.length, "entry", "entries")} a person removed`);
  return [
    `Blocklist: would ${heads.join(" and ")}:`,
    ...capped([
      ...p.lift.map((e) => `lift ${entryName(e.jid)} - ${addedBy(e)}${e.expires ? `, expired ${age(e.expires, now)} ago` : ""}`),
      ...p.forget.map((e) => `forget ${entryName(e.jid)} - ${addedBy(e)} (not re-added)`),
    ]),
  ].join("\n");
}

// ---- policy tests and replay ----

/** Failing cases shown in full; the rest are counted. */
export const MAX_FAILED_CASES = 10;
/** Flip groups shown, and JIDs shown in each. */
export const MAX_FLIP_GROUPS = 5;
export const MAX_FLIP_JIDS = 5;

export const NO_POLICY_TESTS =
  "No policy tests configured: name a case file in the roster section's subscriptions.tests key (e.g. tests: ./policy.test.yaml).";

/** "partners are let in (alice@partner.example) at policy.test.yaml:3:3", then what differs and what decided. */
function failedCaseLines(f: PolicyCaseFailure): string[] {
  const who = f.name === f.jid ? f.jid : `${f.name} (${f.jid})`;
  return [`✗ ${who} at ${f.at}`, ...f.mismatches.map((m) => `  ${m}`), `  ${decidedLine(f.explanation)}`];
}

/** `test`: all passed in one line, else each failing case (the first MAX_FAILED_CASES) in a few lines. */
export function policyTestReply(r: PolicyTestReport): string {
  if (r.files.length === 0) return NO_POLICY_TESTS;
  const cases = plural(r.total, "case", "cases");
  if (r.total === 0) return `Policy tests: no cases in ${r.files.join(", ")}.`;
  if (r.failed.length === 0) return `Policy tests: ${cases}, all passed.`;
  const lines = [`Policy tests: ${r.failed.length} of ${cases} failed:`, ...r.failed.slice(0, MAX_FAILED_CASES).flatMap(failedCaseLines)];
  const rest = r.failed.length - MAX_FAILED_CASES;
  if (rest > 0) lines.push(`… and ${rest} more failing`);
  return lines.join("\n");
}

/** "accept -> reject: 10" for each old -> new action pair that changed, largest first. */
function changedPairs(matrix: ReplayReport["matrix"]): string[] {
  const pairs: [string, number][] = [];
  for (const [from, row] of Object.entries(matrix)) {
    for (const [to, n] of Object.entries(row ?? {})) if (from !== to && n) pairs.push([`${from} -> ${to}`, n]);
  }
  return pairs.sort((a, b) => b[1] - a[1]).map(([pair, n]) => `${pair}: ${n}`);
}

function flipLines(g: ReplayFlipGroup): string[] {
  const by = g.rule === undefined ? "the default" : `rule ${g.rule}`;
  const from = Object.entries(g.from)
    .filter(([, n]) => n)
    .map(([action, n]) => `${action} ${n}`)
    .join(", ");
  const jids = g.jids.slice(0, MAX_FLIP_JIDS).join(", ");
  const more = g.more || g.jids.length > MAX_FLIP_JIDS ? ", …" : "";
  return [`now ${g.action} by ${by}: ${g.count} (was ${from})`, ...(jids ? [`  ${jids}${more}`] : [])];
}

/** Decisions the rules alone cannot redo, by who made them: "plugin 3, admin 1". */
function apartText(apart: ReplayReport["apart"]): string | undefined {
  const parts = [
    ["plugin", apart.plugin],
    ["admin", apart.admin],
    ["rate limit", apart.rateLimit],
    ["other", apart.other],
  ].filter(([, n]) => n);
  return parts.length ? parts.map(([who, n]) => `${who} ${n}`).join(", ") : undefined;
}

/**
 * `replay DAYS`: what the running rules would have answered otherwise, bounded for a phone screen. No
 * audit file read (none yet, or none written in those days) reads as no request decided.
 */
export function replayReply(r: ReplayReport, days: number): string {
  const since = r.since ? ` (since ${clock(r.since)})` : "";
  const lines = [`Replay of the last ${plural(days, "day", "days")}${since} against the running rules:`];
  if (r.decisions === 0) {
    lines.push("no subscription requests were decided.");
  } else {
    const verdict = r.changed === 0 ? "none would change" : `${r.changed} would change`;
    lines.push(`${plural(r.decisions, "decision", "decisions")}, ${r.replayed} of them by the rules (replayed): ${verdict}.`);
    lines.push(...capped(changedPairs(r.matrix), 10));
    lines.push(...r.flips.slice(0, MAX_FLIP_GROUPS).flatMap(flipLines));
    const rest = r.flips.slice(MAX_FLIP_GROUPS);
    if (rest.length) lines.push(`… and ${plural(rest.length, "more group", "more groups")} (${rest.reduce((n, g) => n + g.count, 0)} decisions)`);
  }
  const apart = apartText(r.apart);
  if (apart) lines.push(`Not replayed (the rules alone cannot say): ${apart}.`);
  if (r.withoutRosterFacts) lines.push(`${r.withoutRosterFacts} replayed as "not in the roster" (their audit lines have no roster state).`);
  if (r.malformed) lines.push(`${plural(r.malformed, "malformed line", "malformed lines")} skipped.`);
  return lines.join("\n");
}

export const REFUSED = "Sorry, I only take commands from my admins.";
export const UNKNOWN_HINT = `Unknown command. Send "help" for the list.`;
