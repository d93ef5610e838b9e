/** How `roster-bot plan` and `roster-bot sync` show a plan and a result (text and JSON). */
import type { BlockEntry, BlocklistPlan, GroupChange, PendingRequest, SyncPlan, SyncResult } from "../api.ts";
import { shownJid } from "../unreadable.ts";

/** How many skipped items the text form of a plan lists; the rest are counted. */
const MAX_SKIPPED_SHOWN = 50;

function changeJson(c: GroupChange) {
  return {
    jid: c.jid,
    op: c.op,
    groups: { before: c.groups.before, after: c.groups.after },
    name: { before: c.name.before ?? null, after: c.name.after ?? null },
    ...(c.subscribe ? { subscribe: true } : {}),
  };
}

function blockEntryJson(e: BlockEntry) {
  return { jid: e.jid, by: e.by ?? null, rule: e.rule ?? null, since: e.since ?? null, expires: e.expires ?? null };
}

/** The `plan --json` document: `{ changes, heldBack, skipped, pending, blocklist }`. */
export function planJson(plan: SyncPlan, pending: readonly PendingRequest[], blocklist?: BlocklistPlan) {
  return {
    changes: plan.changes.map(changeJson),
    heldBack: plan.heldBack,
    skipped: plan.skipped ?? [],
    pending: pending.map((p) => ({ jid: p.jid, since: p.since, rule: p.rule ?? null, reason: p.reason })),
    ...(blocklist ? { blocklist: { supported: blocklist.supported, lift: blocklist.lift.map(blockEntryJson), forget: blocklist.forget.map(blockEntryJson) } } : {}),
  };
}

/** "added by rule \"flooders\" at …": who made the bot add an entry, from what it knows. */
function addedBy(e: BlockEntry): string {
  const who = e.rule ? `rule "${e.rule}"` : (e.by ?? "the bot");
  return `added by ${who}${e.since ? ` at ${e.since}` : ""}`;
}

/** The blocklist part of `plan`: what a session start with `blocking.auto` would change. */
export function formatBlocklistPlan(plan: BlocklistPlan): string[] {
  if (!plan.supported) return ["blocklist: the server does not support blocking (XEP-0191): rules with block only reject"];
  if (plan.lift.length === 0 && plan.forget.length === 0) return ["blocklist: no changes"];
  const lines: string[] = [];
  if (plan.lift.length > 0) {
    lines.push(`blocklist: ${plan.lift.length} block(s) whose time is up would be lifted:`);
    for (const e of plan.lift) lines.push(`  ${e.jid}  expired ${e.expires ?? "(no expiry)"}  ${addedBy(e)}`);
  }
  if (plan.forget.length > 0) {
    lines.push(`blocklist: ${plan.forget.length} block(s) a person removed at the server would be forgotten (never re-added until the sender offends again):`);
    for (const e of plan.forget) lines.push(`  ${e.jid}  ${addedBy(e)}`);
  }
  return lines;
}

/** The `sync --json` document. */
export function resultJson(result: SyncResult) {
  return {
    trigger: result.trigger,
    applied: result.applied.map(changeJson),
    failed: result.failed.map((f) => ({ ...changeJson(f.change), error: f.error })),
    heldBack: result.plan.heldBack,
  };
}

const SIGN = { add: "+", update: "~", remove: "-" } as const;
const quote = (s: string | undefined) => (s === undefined ? "(none)" : JSON.stringify(s));

export function describeChange(c: GroupChange): string {
  const parts = [`${SIGN[c.op]} ${c.jid}`];
  if (c.op === "remove") {
    parts.push("remove (prune)");
  } else {
    const before = new Set(c.groups.before);
    const after = new Set(c.groups.after);
    const diff = [...c.groups.after.filter((g) => !before.has(g)).map((g) => `+${g}`), ...c.groups.before.filter((g) => !after.has(g)).map((g) => `-${g}`)];
    if (c.op === "add") parts.push(`groups: ${c.groups.after.join(", ") || "(none)"}`);
    else if (diff.length) parts.push(`groups: ${diff.join(" ")} (now: ${c.groups.after.join(", ") || "(none)"})`);
    if (c.name.before !== c.name.after) parts.push(c.op === "add" ? `name: ${quote(c.name.after)}` : `name: ${quote(c.name.before)} -> ${quote(c.name.after)}`);
    if (c.subscribe) parts.push("subscribe");
  }
  return parts.join("  ");
}

export function formatPlan(plan: SyncPlan, pending: readonly PendingRequest[], blocklist?: BlocklistPlan): string {
  const lines: string[] = [];
  if (plan.changes.length === 0) lines.push("no changes: the roster matches the group sync config");
  else lines.push(`${plan.changes.length} change(s) would be made:`, ...plan.changes.map((c) => `  ${describeChange(c)}`));
  if (plan.heldBack > 0) lines.push(`${plan.heldBack} more removal(s) held back by prune.maxPerRun`);
  const skipped = plan.skipped ?? [];
  if (skipped.length > 0) {
    lines.push(`${skipped.length} roster item(s) skipped: the bot cannot read them exactly, a person must mend them:`);
    for (const s of skipped.slice(0, MAX_SKIPPED_SHOWN)) lines.push(`  ${shownJid(s.jid)}  ${s.reason}`);
    if (skipped.length > MAX_SKIPPED_SHOWN) lines.push(`  and ${skipped.length - MAX_SKIPPED_SHOWN} more (plan --json lists all)`);
  }
  if (pending.length > 0) {
    lines.push(`${pending.length} subscription request(s) held for an answer (never pruned):`);
    for (const p of pending) lines.push(`  ${p.jid}  since ${p.since}${p.rule ? `  rule "${p.rule}"` : ""}`);
  }
  if (blocklist) lines.push(...formatBlocklistPlan(blocklist));
  return lines.join("\n") + "\n";
}

export function formatResult(result: SyncResult): string {
  const lines = [`${result.applied.length} change(s) applied, ${result.failed.length} failed`];
  for (const c of result.applied) lines.push(`  ${describeChange(c)}`);
  for (const f of result.failed) lines.push(`  FAILED ${describeChange(f.change)}: ${f.error}`);
  if (result.plan.heldBack > 0) lines.push(`${result.plan.heldBack} removal(s) held back by prune.maxPerRun`);
  return lines.join("\n") + "\n";
}
