/**
 * The group-sync planner: a pure function from the roster copy and the compiled rules to the minimal
 * SyncPlan. Desired groups: those the bot does not own, as a person set them, plus the owned ones
 * that assign rules or the declaration want; desired name: the declaration's, else the roster's.
 * Groups go through the same cleanGroups as every roster set and parsed push, so our set's echo
 * plans nothing: no loops.
 */
import type { GroupChange, SyncPlan } from "../api.ts";
import { cleanGroups, sameGroups, type RosterItem } from "../item.ts";
import { haveOrAskedTheirPresence } from "../subscription.ts";
import type { ContactFacts } from "../policy/facts.ts";
import type { DeclaredContact, GroupRules } from "./config.ts";

export interface PlanGuards {
  /** JIDs with a subscription request held for an admin (`ask`): never pruned. */
  held?: { has(jid: string): boolean };
  /** Declared contacts already sent a `subscribe` by group sync: not asked again automatically. */
  asked?: { has(jid: string): boolean };
  /** The account's own bare JID: never planned. */
  account?: string;
  /** Canonical JIDs of items the bot cannot read exactly: never planned (no set, no twin added). */
  unreadable?: { blocks(jid: string): boolean };
}

export interface ContactVerdict {
  /** The add/update this contact needs (never a removal), or undefined. */
  change: GroupChange | undefined;
  /** No assign rule and no declaration wants it, and it is safe to remove (a prune candidate). */
  prunable: boolean;
}

const NO_GROUPS: readonly string[] = Object.freeze([]);

/**
 * What assign rules see: the contact without the groups the bot owns, so a rule cannot depend on its
 * own output (e.g. "not in VIP -> VIP"), which would flip on every sync.
 */
function factsOf(jid: string, item: RosterItem | undefined, rules: GroupRules): ContactFacts {
  // Roster JIDs and declared JIDs are normalized bare JIDs already; a local part cannot hold "@".
  const at = jid.indexOf("@");
  const local = at === -1 ? "" : jid.slice(0, at);
  const domain = at === -1 ? jid : jid.slice(at + 1);
  const groups = rules.needsRoster && item ? item.groups.filter((g) => !rules.owned.has(g)) : NO_GROUPS;
  return { jid, local, domain, roster: { groups, subscription: item?.subscription ?? "none" } };
}

/** The owned groups that rules and the declaration want for this contact (unique, clean). */
export function wantedGroups(jid: string, item: RosterItem | undefined, declared: DeclaredContact | undefined, rules: GroupRules): string[] {
  const wanted = declared ? declared.groups.slice() : [];
  if (rules.assign.length === 0) return wanted;
  const facts = factsOf(jid, item, rules);
  for (const rule of rules.assign) {
    if (!wanted.includes(rule.group) && rule.match.test(facts)) wanted.push(rule.group);
  }
  return wanted;
}

/**
 * The contact's groups with the owned part replaced by `wanted`. Returns `current` itself when
 * nothing changes (checked without allocating in the common case).
 */
export function desiredGroups(current: readonly string[], wanted: readonly string[], rules: GroupRules): readonly string[] {
  let ownedPresent = 0;
  let same = true;
  for (const g of current) {
    if (!rules.owned.has(g)) continue;
    if (!wanted.includes(g)) {
      same = false;
      break;
    }
    ownedPresent++;
  }
  if (same && ownedPresent === wanted.length) return current;
  // Groups set by hand first, so that when the count limit cuts, it is never a person's group.
  const next = cleanGroups([...current.filter((g) => !rules.owned.has(g)), ...wanted], rules.limits);
  return sameGroups(next, current) ? current : next;
}

function subscribeNeeded(jid: string, item: RosterItem | undefined, declared: DeclaredContact | undefined, guards: PlanGuards): boolean {
  return !!declared?.subscribe && !guards.asked?.has(jid) && !haveOrAskedTheirPresence(item);
}

/** What one contact needs (`item` undefined: not in the roster). */
export function planContact(jid: string, item: RosterItem | undefined, rules: GroupRules, guards: PlanGuards = {}): ContactVerdict {
  if (jid === guards.account || guards.unreadable?.blocks(jid)) return { change: undefined, prunable: false };
  const declared = rules.contacts.get(jid);
  if (!item && !declared) return { change: undefined, prunable: false };
  const wanted = wantedGroups(jid, item, declared, rules);
  const before = item?.groups ?? NO_GROUPS;
  const after = desiredGroups(before, wanted, rules);
  const nameBefore = item?.name;
  const nameAfter = declared?.name ?? nameBefore;
  const subscribe = subscribeNeeded(jid, item, declared, guards);
  const prunable = item !== undefined && declared === undefined && wanted.length === 0 && !guards.held?.has(jid);
  if (item && after === before && nameAfter === nameBefore && !subscribe) return { change: undefined, prunable };
  const change: GroupChange = {
    jid,
    op: item ? "update" : "add",
    groups: { before: [...before], after: [...after] },
    name: { before: nameBefore, after: nameAfter },
    ...(subscribe ? { subscribe: true } : {}),
  };
  return { change, prunable };
}

const byJid = (a: GroupChange, b: GroupChange) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0);

/**
 * The whole plan: adds (missing declared contacts), updates, then removals (prune), each sorted by
 * JID. Prune removes at most `maxPerRun` candidates (in JID order) and counts the rest in `heldBack`;
 * a held-back candidate still gets its update, if it needs one.
 */
export function planSync(items: Iterable<RosterItem>, rules: GroupRules, guards: PlanGuards = {}): SyncPlan {
  const adds: GroupChange[] = [];
  let updates: GroupChange[] = [];
  const prunable: RosterItem[] = [];
  const present = new Set<string>();
  for (const item of items) {
    if (rules.contacts.has(item.jid)) present.add(item.jid);
    const verdict = planContact(item.jid, item, rules, guards);
    if (verdict.change) updates.push(verdict.change);
    if (verdict.prunable) prunable.push(item);
  }
  for (const jid of rules.contacts.keys()) {
    if (present.has(jid)) continue;
    const { change } = planContact(jid, undefined, rules, guards);
    if (change) adds.push(change);
  }
  let removes: GroupChange[] = [];
  let heldBack = 0;
  if (rules.prune.enabled && prunable.length > 0) {
    prunable.sort((a, b) => (a.jid < b.jid ? -1 : a.jid > b.jid ? 1 : 0));
    const taken = prunable.slice(0, rules.prune.maxPerRun);
    heldBack = prunable.length - taken.length;
    removes = taken.map((item) => ({
      jid: item.jid,
      op: "remove" as const,
      groups: { before: [...item.groups], after: [] },
      name: { before: item.name, after: undefined },
    }));
    const removed = new Set(taken.map((i) => i.jid));
    updates = updates.filter((c) => !removed.has(c.jid));
  }
  return { changes: [...adds.sort(byJid), ...updates.sort(byJid), ...removes], heldBack };
}
