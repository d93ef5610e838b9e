/** RosterCopy: pushes applied one at a time, and a full result replacing the copy. */
import { describe, expect, it } from "vitest";
import type { RosterItem } from "./item.ts";
import { RosterCopy } from "./copy.ts";

function mk(jid: string, extra: Partial<RosterItem> = {}): RosterItem {
  return Object.freeze({ jid, groups: [], subscription: "none", approved: false, ...extra });
}

const alice = mk("alice@b.test", { name: "Alice", subscription: "both", groups: ["Friends"] });
const bob = mk("bob@c.test", { subscription: "from" });
const carol = mk("carol@b.test", { name: "Carol" });

describe("RosterCopy.apply", () => {
  it("adds a new item", () => {
    const s = new RosterCopy();
    expect(s.apply({ remove: false, item: alice })).toEqual({ jid: alice.jid, before: undefined, after: alice });
    expect(s.size).toBe(1);
    expect(s.get(alice.jid)).toBe(alice);
  });

  it("updates an item and reports before and after", () => {
    const s = new RosterCopy();
    s.apply({ remove: false, item: alice });
    const renamed = mk(alice.jid, { ...alice, name: "Alice B." });
    expect(s.apply({ remove: false, item: renamed })).toEqual({ jid: alice.jid, before: alice, after: renamed });
    expect(s.get(alice.jid)).toBe(renamed);
    expect(s.size).toBe(1);
  });

  it("an update of only the subscription, ask, approval or groups is a change", () => {
    const s = new RosterCopy();
    s.apply({ remove: false, item: bob });
    for (const next of [
      mk(bob.jid, { subscription: "both" }),
      mk(bob.jid, { subscription: "both", ask: "subscribe" }),
      mk(bob.jid, { subscription: "both", ask: "subscribe", approved: true }),
      mk(bob.jid, { subscription: "both", ask: "subscribe", approved: true, groups: ["G"] }),
    ]) {
      expect(s.apply({ remove: false, item: next })?.after).toBe(next);
    }
  });

  it("an identical item (e.g. our own set echoed back) is a no-op", () => {
    const s = new RosterCopy();
    s.apply({ remove: false, item: alice });
    const same = mk(alice.jid, { name: "Alice", subscription: "both", groups: ["Friends"] });
    expect(same).not.toBe(alice);
    expect(s.apply({ remove: false, item: same })).toBeUndefined();
    // The stored object is kept, so references held by others stay current.
    expect(s.get(alice.jid)).toBe(alice);
  });

  it("removes an item", () => {
    const s = new RosterCopy();
    s.apply({ remove: false, item: alice });
    s.apply({ remove: false, item: bob });
    expect(s.apply({ remove: true, jid: alice.jid })).toEqual({ jid: alice.jid, before: alice, after: undefined });
    expect(s.get(alice.jid)).toBeUndefined();
    expect(s.list()).toEqual([bob]);
  });

  it("removing an unknown item is a no-op", () => {
    const s = new RosterCopy();
    s.apply({ remove: false, item: bob });
    expect(s.apply({ remove: true, jid: "nobody@b.test" })).toBeUndefined();
    expect(s.size).toBe(1);
  });

  it("does not touch the version", () => {
    const s = new RosterCopy();
    s.ver = "5";
    s.apply({ remove: false, item: alice });
    expect(s.ver).toBe("5");
  });

  it("list() is a copy", () => {
    const s = new RosterCopy();
    s.apply({ remove: false, item: alice });
    const l = s.list();
    l.pop();
    expect(s.size).toBe(1);
  });
});

describe("RosterCopy.replaceAll", () => {
  it("on an empty copy, every item is an addition and the version is set", () => {
    const s = new RosterCopy();
    const changes = s.replaceAll([alice, bob], "v1");
    expect(changes).toEqual([
      { jid: alice.jid, before: undefined, after: alice },
      { jid: bob.jid, before: undefined, after: bob },
    ]);
    expect(s.ver).toBe("v1");
    expect(s.size).toBe(2);
  });

  it("reports additions, updates and removals, and nothing for unchanged items", () => {
    const s = new RosterCopy();
    s.replaceAll([alice, bob], "v1");
    const bobBoth = mk(bob.jid, { subscription: "both" });
    const aliceCopy = mk(alice.jid, { name: "Alice", subscription: "both", groups: ["Friends"] });
    const changes = s.replaceAll([aliceCopy, bobBoth, carol], "v2");
    expect(changes).toHaveLength(2);
    expect(changes).toContainEqual({ jid: bob.jid, before: bob, after: bobBoth });
    expect(changes).toContainEqual({ jid: carol.jid, before: undefined, after: carol });
    expect(s.ver).toBe("v2");
    expect(s.list().map((i) => i.jid).sort()).toEqual([alice.jid, carol.jid, bob.jid].sort());

    const removed = s.replaceAll([carol], "v3");
    expect(removed).toHaveLength(2);
    expect(removed).toContainEqual({ jid: alice.jid, before: aliceCopy, after: undefined });
    expect(removed).toContainEqual({ jid: bob.jid, before: bobBoth, after: undefined });
    expect(s.list()).toEqual([carol]);
  });

  it("the same roster again gives no changes", () => {
    const s = new RosterCopy();
    s.replaceAll([alice, bob], "v1");
    expect(s.replaceAll([mk(bob.jid, { subscription: "from" }), alice], "v1")).toEqual([]);
  });

  it("an empty roster removes everything; an undefined version clears the version", () => {
    const s = new RosterCopy();
    s.replaceAll([alice, bob], "v1");
    const changes = s.replaceAll([], undefined);
    expect(changes.map((c) => c.after)).toEqual([undefined, undefined]);
    expect(s.size).toBe(0);
    expect(s.ver).toBeUndefined();
  });

  it("the last of two items with the same JID wins", () => {
    const s = new RosterCopy();
    const alice2 = mk(alice.jid, { name: "Second" });
    s.replaceAll([alice, alice2], "v1");
    expect(s.get(alice.jid)).toBe(alice2);
    expect(s.size).toBe(1);
  });

  it("handles 10,000 items", () => {
    const s = new RosterCopy();
    const items = Array.from({ length: 10_000 }, (_, i) => mk(`c${i}@b.test`));
    expect(s.replaceAll(items, "v1")).toHaveLength(10_000);
    const next = items.slice(50).concat([mk("new@b.test")]);
    const changes = s.replaceAll(next, "v2");
    expect(changes).toHaveLength(51);
    expect(changes.filter((c) => c.after === undefined)).toHaveLength(50);
  });
});
