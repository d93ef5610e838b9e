/** Sorting a roster result into the items the bot reads exactly and the others; the set of the others. */
import { describe, expect, it } from "vitest";
import { xml } from "../../bots/xmpp.ts";
import { DEFAULT_LIMITS } from "./item.ts";
import { isIdnaSpelling, MAX_NAMED, shownJid, sortRosterItems, UnreadableItems, unreadableLogFields } from "./unreadable.ts";

const item = (jid: string | undefined, attrs: Record<string, string> = {}) => xml("item", { jid, subscription: "both", ...attrs });

describe("sortRosterItems", () => {
  it("keeps canonical items; a non-canonical one and its canonical twin both go, an unrelated non-canonical one alone", () => {
    const { items, unreadable } = sortRosterItems(
      [item("Dup@example.org"), item("dup@example.org", { name: "Hand" }), item("Mixed@Example.ORG"), item("ok@example.org"), item("ｗｉｄｅ@example.org"), item("caf\u0065\u0301@example.org")],
      DEFAULT_LIMITS,
    );
    expect(items.map((i) => i.jid)).toEqual(["ok@example.org"]);
    expect(unreadable).toEqual([
      { raw: "dup@example.org", canonical: "dup@example.org", reason: "another item has the same canonical JID (dup@example.org)" },
      { raw: "Dup@example.org", canonical: "dup@example.org", reason: "not in canonical form (dup@example.org)" },
      { raw: "Mixed@Example.ORG", canonical: "mixed@example.org", reason: "not in canonical form (mixed@example.org)" },
      { raw: "ｗｉｄｅ@example.org", canonical: "wide@example.org", reason: "not in canonical form (wide@example.org)" },
      { raw: "caf\u0065\u0301@example.org", canonical: "caf\u00e9@example.org", reason: "not in canonical form (caf\u00e9@example.org)" },
    ]);
  });

  it("invalid items are named with the parser's reason; a valid JID with a bad field still blocks its JID", () => {
    const { items, unreadable } = sortRosterItems([item("a@b@example.org"), item("full@example.org/r"), item(undefined), item("odd@example.org", { subscription: "lots" })], DEFAULT_LIMITS);
    expect(items).toEqual([]);
    expect(unreadable.map((u) => [u.raw, u.canonical])).toEqual([
      ["a@b@example.org", undefined],
      ["full@example.org/r", undefined],
      ["", undefined],
      ["odd@example.org", "odd@example.org"],
    ]);
    expect(unreadable[0]!.reason).toMatch(/invalid jid/);
  });

  it("an item held in the A-label spelling of its domain is readable, and its spelling is returned", () => {
    const { items, unreadable, spellings } = sortRosterItems([item("a@xn--bcher-kva.test"), item("xn--bcher-kva.test"), item("ok@x.org")], DEFAULT_LIMITS);
    expect(items.map((i) => i.jid)).toEqual(["a@bücher.test", "bücher.test", "ok@x.org"]);
    expect(unreadable).toEqual([]);
    expect([...spellings]).toEqual([
      ["a@bücher.test", "a@xn--bcher-kva.test"],
      ["bücher.test", "xn--bcher-kva.test"],
    ]);
  });

  it("an A-label item with a U-label or a case twin is unreadable with its twin; other case or domain forms stay unreadable", () => {
    const { items, unreadable, spellings } = sortRosterItems(
      [item("a@xn--bcher-kva.test"), item("a@bücher.test"), item("b@xn--bcher-kva.test"), item("B@xn--bcher-kva.test"), item("c@XN--BCHER-KVA.test"), item("d@xn--bcher-kva.TEST")],
      DEFAULT_LIMITS,
    );
    expect(items).toEqual([]);
    expect(spellings.size).toBe(0);
    expect(unreadable.map((u) => [u.raw, u.canonical, u.reason.split(" (")[0]])).toEqual([
      ["a@xn--bcher-kva.test", "a@bücher.test", "another item has the same canonical JID"],
      ["a@bücher.test", "a@bücher.test", "another item has the same canonical JID"],
      ["b@xn--bcher-kva.test", "b@bücher.test", "another item has the same canonical JID"],
      ["B@xn--bcher-kva.test", "b@bücher.test", "not in canonical form"],
      ["c@XN--BCHER-KVA.test", "c@bücher.test", "not in canonical form"],
      ["d@xn--bcher-kva.TEST", "d@bücher.test", "not in canonical form"],
    ]);
  });

  it("calls onRead for readable items only", () => {
    const seen: string[] = [];
    sortRosterItems([item("a@x.org"), item("B@x.org")], DEFAULT_LIMITS, (_el, i) => seen.push(i.jid));
    expect(seen).toEqual(["a@x.org"]);
  });
});

describe("isIdnaSpelling", () => {
  it("holds only for the same local part exactly and the domain in its lower-case A-labels", () => {
    expect(isIdnaSpelling("a@xn--bcher-kva.test", "a@bücher.test")).toBe(true);
    expect(isIdnaSpelling("xn--bcher-kva.test", "bücher.test")).toBe(true);
    expect(isIdnaSpelling("a@x.xn--bcher-kva.test", "a@x.bücher.test")).toBe(true);
    expect(isIdnaSpelling("A@xn--bcher-kva.test", "a@bücher.test")).toBe(false); // case of the local part
    expect(isIdnaSpelling("a@Xn--bcher-kva.test", "a@bücher.test")).toBe(false);
    expect(isIdnaSpelling("a@xn--bcher-kva.test.", "a@bücher.test")).toBe(false); // trailing dot
    expect(isIdnaSpelling("a@xn--bcher-kva.bücher.test", "a@bücher.bücher.test")).toBe(false); // mixed forms
    expect(isIdnaSpelling("a@Example.org", "a@example.org")).toBe(false); // no A-label
  });
});

describe("UnreadableItems", () => {
  it("blocks a canonical JID while any item with it is known", () => {
    const set = new UnreadableItems();
    expect(set.add({ raw: "Dup@x.org", canonical: "dup@x.org", reason: "r" })).toBe(true);
    expect(set.add({ raw: "dup@x.org", canonical: "dup@x.org", reason: "r" })).toBe(true);
    expect(set.add({ raw: "dup@x.org", canonical: "dup@x.org", reason: "again" })).toBe(false);
    expect(set.blocks("dup@x.org")).toBe(true);
    set.delete("Dup@x.org");
    expect(set.blocks("dup@x.org")).toBe(true);
    set.delete("dup@x.org");
    expect(set.blocks("dup@x.org")).toBe(false);
    expect(set.size).toBe(0);
  });

  it("key() is the same for the same items in any order", () => {
    const a = new UnreadableItems();
    const b = new UnreadableItems();
    a.replaceAll([{ raw: "x", canonical: undefined, reason: "" }, { raw: "y", canonical: undefined, reason: "" }]);
    b.replaceAll([{ raw: "y", canonical: undefined, reason: "" }, { raw: "x", canonical: undefined, reason: "" }]);
    expect(a.key()).toBe(b.key());
  });
});

describe("log fields", () => {
  it("cut each JID to 64 characters and name at most MAX_NAMED, counting the rest", () => {
    const long = "x".repeat(100) + "@example.org";
    expect(shownJid(long)).toBe("x".repeat(64) + "…");
    expect(shownJid("😀".repeat(64))).toBe("😀".repeat(64)); // code points, not UTF-16 units
    const many = Array.from({ length: MAX_NAMED + 5 }, (_, i) => ({ raw: i === 0 ? long : `u${i}@x.org`, canonical: undefined, reason: "bad" }));
    const fields = unreadableLogFields(many);
    expect(fields).toMatchObject({ count: MAX_NAMED + 5, more: 5 });
    expect(fields.items).toHaveLength(MAX_NAMED);
    expect(fields.items[0]).toBe(`${"x".repeat(64)}… (bad)`);
  });
});
