import { describe, expect, it } from "vitest";
import type { GroupChange } from "../api.ts";
import { cleanGroups, DEFAULT_LIMITS, type RosterItem, type Subscription } from "../item.ts";
import { compileGroupRules, groupsSchema, type GroupRules } from "./config.ts";
import { planContact, planSync } from "./planner.ts";

function rules(config: unknown, limits = DEFAULT_LIMITS): GroupRules {
  return compileGroupRules(groupsSchema.parse(config), { baseDir: "/", limits, readFile: () => "listed@x.test\n" });
}

function item(jid: string, groups: string[] = [], extra: { name?: string; subscription?: Subscription; ask?: "subscribe"; approved?: boolean } = {}): RosterItem {
  return Object.freeze({
    jid,
    ...(extra.name !== undefined ? { name: extra.name } : {}),
    groups: cleanGroups(groups),
    subscription: extra.subscription ?? "none",
    ...(extra.ask ? { ask: extra.ask } : {}),
    approved: extra.approved ?? false,
  });
}

/** The item the server would store after our set (subscription state unchanged). */
function applied(before: RosterItem | undefined, change: GroupChange): RosterItem {
  return item(change.jid, change.groups.after, {
    name: change.name.after,
    subscription: before?.subscription,
    ask: before?.ask,
  });
}

const STAFF = {
  managed: ["Staff", "Partners", "VIP"],
  assign: [
    { group: "Staff", match: { domain: "example.org" } },
    { group: "VIP", match: { jid: ["ceo@example.org"] } },
    { group: "Partners", match: { jid: "*@partner.test" } },
  ],
};

describe("planContact", () => {
  it("adds the assigned groups and keeps groups set by hand", () => {
    const r = rules(STAFF);
    const { change } = planContact("ceo@example.org", item("ceo@example.org", ["Friends"], { name: "Boss" }), r);
    expect(change).toEqual({
      jid: "ceo@example.org",
      op: "update",
      groups: { before: ["Friends"], after: ["Friends", "Staff", "VIP"] },
      name: { before: "Boss", after: "Boss" },
    });
  });

  it("removes an owned group no rule wants, and only owned ones", () => {
    const r = rules(STAFF);
    const { change } = planContact("bob@other.test", item("bob@other.test", ["Staff", "Golf", "VIP"]), r);
    expect(change?.groups).toEqual({ before: ["Golf", "Staff", "VIP"], after: ["Golf"] });
  });

  it("needs nothing when the contact is as desired", () => {
    const r = rules(STAFF);
    expect(planContact("a@example.org", item("a@example.org", ["Golf", "Staff"]), r).change).toBeUndefined();
    expect(planContact("x@nowhere.test", item("x@nowhere.test", ["Golf"]), r).change).toBeUndefined();
  });

  it("changes a name only where a declaration gives one", () => {
    const r = rules({ managed: ["Staff"], contacts: [{ jid: "ops@example.org", name: "Ops desk", groups: ["Staff"] }, { jid: "keep@example.org", groups: ["Staff"] }] });
    expect(planContact("ops@example.org", item("ops@example.org", ["Staff"], { name: "ops" }), r).change?.name).toEqual({ before: "ops", after: "Ops desk" });
    expect(planContact("keep@example.org", item("keep@example.org", ["Staff"], { name: "Mine" }), r).change).toBeUndefined();
  });

  it("plans an add for a missing declared contact, with subscribe", () => {
    const r = rules({ contacts: [{ jid: "Ops@Example.org", name: "Ops desk", groups: ["Staff"], subscribe: true }] });
    expect(planContact("ops@example.org", undefined, r).change).toEqual({
      jid: "ops@example.org",
      op: "add",
      groups: { before: [], after: ["Staff"] },
      name: { before: undefined, after: "Ops desk" },
      subscribe: true,
    });
  });

  it("subscribes a declared contact once: not when subscribed, asking, or already asked", () => {
    const r = rules({ contacts: [{ jid: "ops@example.org", subscribe: true }] });
    const jid = "ops@example.org";
    expect(planContact(jid, item(jid), r).change).toMatchObject({ op: "update", subscribe: true, groups: { before: [], after: [] } });
    expect(planContact(jid, item(jid, [], { subscription: "to" }), r).change).toBeUndefined();
    expect(planContact(jid, item(jid, [], { subscription: "both" }), r).change).toBeUndefined();
    expect(planContact(jid, item(jid, [], { ask: "subscribe" }), r).change).toBeUndefined();
    expect(planContact(jid, item(jid), r, { asked: new Set([jid]) }).change).toBeUndefined();
  });

  it("rules see only the groups the bot does not own, so a rule cannot feed on its own output", () => {
    // "not in VIP -> VIP" would flip on every sync if the rule saw VIP.
    const r = rules({ assign: [{ group: "VIP", match: { not: { group: "VIP" } } }, { group: "Golfers", match: { group: "Golf" } }] });
    const first = planContact("a@x.test", item("a@x.test"), r).change!;
    expect(first.groups.after).toEqual(["VIP"]);
    expect(planContact("a@x.test", applied(item("a@x.test"), first), r).change).toBeUndefined();
    expect(planContact("b@x.test", item("b@x.test", ["Golf"]), r).change?.groups.after).toEqual(["Golf", "Golfers", "VIP"]);
  });

  it("rules on subscription state see the roster item", () => {
    const r = rules({ assign: [{ group: "Mutual", match: { subscription: "both" } }] });
    expect(planContact("a@x.test", item("a@x.test", [], { subscription: "both" }), r).change?.groups.after).toEqual(["Mutual"]);
    expect(planContact("a@x.test", item("a@x.test", ["Mutual"], { subscription: "to" }), r).change?.groups.after).toEqual([]);
  });

  it("never plans the account itself", () => {
    const r = rules({ assign: [{ group: "All", match: { domain: "x.test" } }] });
    expect(planContact("bot@x.test", item("bot@x.test"), r, { account: "bot@x.test" })).toEqual({ change: undefined, prunable: false });
  });

  it("normalizes group names like every roster set does (NFC, duplicates, blanks)", () => {
    const r = rules({ managed: ["Cafe\u0301"], assign: [{ group: "Cafe\u0301", match: { domain: "x.test" } }] });
    const { change } = planContact("a@x.test", item("a@x.test"), r);
    expect(change?.groups.after).toEqual(["Caf\u00e9"]);
    expect(planContact("a@x.test", applied(item("a@x.test"), change!), r).change).toBeUndefined();
  });

  it("keeps groups set by hand when the group count limit cuts", () => {
    const limits = { ...DEFAULT_LIMITS, maxGroups: 2 };
    const r = rules({ assign: [{ group: "Staff", match: { domain: "x.test" } }] }, limits);
    // Already at the limit with hand-made groups: Staff cannot fit, and nothing is sent.
    expect(planContact("a@x.test", item("a@x.test", ["A", "B"]), r).change).toBeUndefined();
  });
});

describe("planSync", () => {
  const roster = [
    item("alice@example.org", ["Friends"]),
    item("ceo@example.org", ["Staff", "VIP"]),
    item("pat@partner.test", []),
    item("old@gone.test", ["Staff"]),
    item("hand@gone.test", ["Golf"]),
    item("held@gone.test", []),
  ];

  it("is the minimal list of changes, adds first, then updates, then removals", () => {
    const r = rules({ ...STAFF, contacts: [{ jid: "ops@example.org", name: "Ops desk", groups: ["Staff"] }] });
    const plan = planSync(roster, r);
    expect(plan.heldBack).toBe(0);
    expect(plan.changes.map((c) => `${c.op} ${c.jid} ${c.groups.after.join(",")}`)).toEqual([
      "add ops@example.org Staff",
      "update alice@example.org Friends,Staff",
      "update old@gone.test ",
      "update pat@partner.test Partners",
    ]);
  });

  it("converges: after applying the plan, the next plan is empty", () => {
    const r = rules({ ...STAFF, contacts: [{ jid: "ops@example.org", name: "Ops desk", groups: ["Staff", "Desk"], subscribe: true }] });
    const plan = planSync(roster, r);
    const byJid = new Map(roster.map((i) => [i.jid, i]));
    for (const c of plan.changes) byJid.set(c.jid, applied(byJid.get(c.jid), c));
    expect(planSync(byJid.values(), r, { asked: new Set(["ops@example.org"]) }).changes).toEqual([]);
  });

  it("prunes unwanted contacts, never declared, wanted, held or more than maxPerRun", () => {
    const r = rules({ ...STAFF, contacts: [{ jid: "hand@gone.test" }], prune: { enabled: true, maxPerRun: 1 } });
    const plan = planSync(roster, r, { held: new Set(["held@gone.test"]) });
    const removes = plan.changes.filter((c) => c.op === "remove");
    // Candidates: old@gone.test only (hand is declared, held is held, the rest are wanted).
    expect(removes.map((c) => c.jid)).toEqual(["old@gone.test"]);
    expect(removes[0]).toEqual({ jid: "old@gone.test", op: "remove", groups: { before: ["Staff"], after: [] }, name: { before: undefined, after: undefined } });
    expect(plan.heldBack).toBe(0);
    // The pruned contact has no separate update.
    expect(plan.changes.filter((c) => c.jid === "old@gone.test")).toHaveLength(1);
  });

  it("holds back removals over maxPerRun (in JID order), keeping their updates", () => {
    const r = rules({ managed: ["Staff"], prune: { enabled: true, maxPerRun: 2 } });
    const items = ["d", "a", "c", "b", "e"].map((l) => item(`${l}@x.test`, l === "e" ? ["Staff"] : []));
    const plan = planSync(items, r);
    expect(plan.changes.filter((c) => c.op === "remove").map((c) => c.jid)).toEqual(["a@x.test", "b@x.test"]);
    expect(plan.heldBack).toBe(3);
    expect(plan.changes.find((c) => c.jid === "e@x.test")).toMatchObject({ op: "update", groups: { after: [] } });
  });

  it("does not prune when pruning is off", () => {
    const r = rules({ managed: ["Staff"] });
    const plan = planSync([item("a@x.test"), item("b@x.test")], r);
    expect(plan).toEqual({ changes: [], heldBack: 0 });
    expect(planContact("a@x.test", item("a@x.test"), r).prunable).toBe(true);
  });

  it("an empty config plans nothing", () => {
    expect(planSync(roster, rules({}))).toEqual({ changes: [], heldBack: 0 });
  });

  it("list files work in assign rules", () => {
    const r = rules({ assign: [{ group: "Listed", match: { list: "./l.txt" } }] });
    expect(planSync([item("listed@x.test"), item("other@x.test")], r).changes.map((c) => c.jid)).toEqual(["listed@x.test"]);
  });

  it("plans 10,000 contacts quickly", () => {
    const r = rules(STAFF);
    const many = Array.from({ length: 10_000 }, (_, i) => item(`user${i}@${i % 3 === 0 ? "example.org" : "other.test"}`, i % 20 === 0 ? [] : i % 3 === 0 ? ["Staff"] : ["Friends"]));
    planSync(many, r);
    const t0 = performance.now();
    const plan = planSync(many, r);
    const ms = performance.now() - t0;
    expect(plan.changes.length).toBe(167);
    expect(ms).toBeLessThan(200); // generous for CI; bench/group-sync.ts measures properly
  });
});

describe("items the bot cannot read exactly", () => {
  it("no change is planned for a blocked JID: no update, no prune, and no add of a declared contact (its canonical twin)", () => {
    const r = rules({ ...STAFF, prune: { enabled: true }, contacts: [{ jid: "mixed@example.org", groups: ["VIP"] }] });
    const unreadable = { blocks: (jid: string) => jid === "mixed@example.org" || jid === "dup@example.org" };
    const items = [item("dup@example.org", ["VIP"]), item("bob@example.org")];
    const guarded = planSync(items, r, { unreadable });
    expect(guarded.changes.map((c) => `${c.op} ${c.jid}`)).toEqual(["update bob@example.org"]);
    // Without the guard the same input adds the twin and changes the item: the guard is what stops it.
    expect(planSync(items, r).changes.map((c) => `${c.op} ${c.jid}`)).toEqual(["add mixed@example.org", "update bob@example.org", "update dup@example.org"]);
  });
});
