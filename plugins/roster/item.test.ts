/** The roster item model: parsing server items, cleaning names and groups, and the roster-set form. */
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import { describe, expect, it } from "vitest";
import { cleanGroups, cleanName, DEFAULT_LIMITS, ItemParseError, itemElement, parseItem, removeElement, sameItem, type RosterItem } from "./item.ts";

const item = (attrs: Record<string, string | undefined>, ...groups: string[]): XmlElement => xml("item", attrs, ...groups.map((g) => xml("group", {}, g)));

function parsed(el: XmlElement): RosterItem {
  const r = parseItem(el);
  if (r.remove) throw new Error("expected an item, got a removal");
  return r.item;
}

const codePoints = (s: string) => Array.from(s).length;
/** True when the string holds a lone (unpaired) surrogate. */
const hasLoneSurrogate = (s: string) => /(?:[\uD800-\uDBFF](?![\uDC00-\uDFFF]))|(?:(?<![\uD800-\uDBFF])[\uDC00-\uDFFF])/.test(s);

describe("parseItem", () => {
  it("parses a full item, normalizing the JID", () => {
    const it1 = parsed(item({ jid: "Alice@B.Test", name: "Alice", subscription: "both" }, "Friends", "Work"));
    expect(it1).toEqual({ jid: "alice@b.test", name: "Alice", groups: ["Friends", "Work"], subscription: "both", approved: false });
    expect(Object.isFrozen(it1)).toBe(true);
  });

  it("defaults to subscription none, no name, no groups", () => {
    const it1 = parsed(item({ jid: "bob@c.test" }));
    expect(it1).toEqual({ jid: "bob@c.test", groups: [], subscription: "none", approved: false });
    expect("name" in it1).toBe(false);
    expect("ask" in it1).toBe(false);
  });

  it.each(["none", "to", "from", "both"] as const)("accepts subscription %s", (sub) => {
    expect(parsed(item({ jid: "bob@c.test", subscription: sub })).subscription).toBe(sub);
  });

  it("keeps ask='subscribe' and ignores other ask values", () => {
    expect(parsed(item({ jid: "bob@c.test", ask: "subscribe" })).ask).toBe("subscribe");
    expect(parsed(item({ jid: "bob@c.test", ask: "unsubscribe" })).ask).toBeUndefined();
    expect(parsed(item({ jid: "bob@c.test", ask: "" })).ask).toBeUndefined();
  });

  it("reads approved as true or 1 only", () => {
    expect(parsed(item({ jid: "bob@c.test", approved: "true" })).approved).toBe(true);
    expect(parsed(item({ jid: "bob@c.test", approved: "1" })).approved).toBe(true);
    expect(parsed(item({ jid: "bob@c.test", approved: "false" })).approved).toBe(false);
    expect(parsed(item({ jid: "bob@c.test", approved: "yes" })).approved).toBe(false);
    expect(parsed(item({ jid: "bob@c.test" })).approved).toBe(false);
  });

  it("refuses an unknown subscription", () => {
    expect(() => parseItem(item({ jid: "bob@c.test", subscription: "pending" }))).toThrow(ItemParseError);
    expect(() => parseItem(item({ jid: "bob@c.test", subscription: "BOTH" }))).toThrow(/unknown subscription "BOTH"/);
  });

  it("returns a removal for subscription remove, whatever else the item says", () => {
    expect(parseItem(item({ jid: "Bob@C.test", subscription: "remove", name: "Bob" }, "G"))).toEqual({ remove: true, jid: "bob@c.test" });
  });

  it("refuses a missing, invalid or full JID", () => {
    expect(() => parseItem(item({}))).toThrow(/without jid/);
    expect(() => parseItem(item({ jid: "" }))).toThrow(/without jid/);
    expect(() => parseItem(item({ jid: "a@@b.test" }))).toThrow(/invalid jid/);
    expect(() => parseItem(item({ jid: "bob@c.test/phone" }))).toThrow(/bare JID/);
    expect(() => parseItem(item({ jid: "bob@c.test/phone", subscription: "remove" }))).toThrow(ItemParseError);
  });

  it("accepts a domain JID (e.g. a gateway)", () => {
    expect(parsed(item({ jid: "Gateway.C.test" })).jid).toBe("gateway.c.test");
  });

  it("cleans incoming groups and the name like outgoing ones", () => {
    const it1 = parsed(item({ jid: "bob@c.test", name: "  " }, "b", "a", "b", "", " ", "Cafe\u0301"));
    expect(it1.groups).toEqual(["Café", "a", "b"].sort());
    expect(it1.groups).toContain("Caf\u00e9");
    expect(it1.name).toBeUndefined();
  });

  it("applies the limits it is given", () => {
    const it1 = parseItem(item({ jid: "bob@c.test", name: "abcdef" }, "g1", "g2", "g3", "long-group"), { maxNameLength: 4, maxGroupLength: 5, maxGroups: 3 });
    expect(it1).toEqual({ remove: false, item: expect.objectContaining({ name: "abcd", groups: ["g1", "g2", "g3"] }) });
  });
});

describe("cleanGroups", () => {
  it("drops duplicates and sorts", () => {
    expect(cleanGroups(["Team", "Ops", "Team", "Ops", "Admin"])).toEqual(["Admin", "Ops", "Team"]);
  });

  it("drops empty and whitespace-only names, keeps other names as they are", () => {
    expect(cleanGroups(["", " ", "\t", "\n ", "\u00a0", "\u3000", " x "])).toEqual([" x "]);
  });

  it("normalizes to NFC, so canonically equal names fold into one", () => {
    const decomposed = "Cafe\u0301"; // e + combining acute
    const composed = "Caf\u00e9";
    const out = cleanGroups([decomposed, composed]);
    expect(out).toEqual([composed]);
    expect(out[0]!.normalize("NFC")).toBe(out[0]);
  });

  it("caps length in code points, not UTF-16 units", () => {
    const emoji = "😀"; // one code point, two UTF-16 units
    const [g] = cleanGroups([emoji.repeat(10)], { ...DEFAULT_LIMITS, maxGroupLength: 4 });
    expect(g).toBe(emoji.repeat(4));
    expect(g).toHaveLength(8);
    expect(codePoints(g!)).toBe(4);
  });

  it("never splits a surrogate pair when capping", () => {
    for (let cap = 1; cap <= 7; cap++) {
      // Mixed widths so every cut position is tried against a pair boundary.
      const [g] = cleanGroups(["a😀b𝄞c😀😀d𝄞"], { ...DEFAULT_LIMITS, maxGroupLength: cap });
      expect(codePoints(g!)).toBe(cap);
      expect(hasLoneSurrogate(g!)).toBe(false);
    }
  });

  it("caps the default length at 1024 code points", () => {
    const [g] = cleanGroups(["g".repeat(5000)]);
    expect(g).toHaveLength(1024);
    const [e] = cleanGroups(["😀".repeat(2000)]);
    expect(codePoints(e!)).toBe(1024);
    expect(hasLoneSurrogate(e!)).toBe(false);
  });

  it("folds names that become equal once capped", () => {
    expect(cleanGroups(["abcX", "abcY"], { ...DEFAULT_LIMITS, maxGroupLength: 3 })).toEqual(["abc"]);
  });

  it("caps the number of groups, keeping the first ones given", () => {
    expect(cleanGroups(["d", "c", "b", "a"], { ...DEFAULT_LIMITS, maxGroups: 2 })).toEqual(["c", "d"]);
    expect(cleanGroups(["a", "a", "a", "b", "c"], { ...DEFAULT_LIMITS, maxGroups: 2 })).toEqual(["a", "b"]);
    expect(cleanGroups(["", "a", " ", "b", "c"], { ...DEFAULT_LIMITS, maxGroups: 2 })).toEqual(["a", "b"]);
    expect(cleanGroups(["a"], { ...DEFAULT_LIMITS, maxGroups: 1 })).toEqual(["a"]);
  });

  it("10,000 groups on one item are capped at the default maxGroups (100), quickly", () => {
    const many = Array.from({ length: 10_000 }, (_, i) => `group-${String(i).padStart(5, "0")}`);
    const t0 = performance.now();
    const out = cleanGroups(many);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(out).toHaveLength(DEFAULT_LIMITS.maxGroups);
    expect(out[0]).toBe("group-00000");
    expect(out.at(-1)).toBe("group-00099");
  });

  it("10,000 groups on a parsed item are capped the same way", () => {
    const el = item({ jid: "bob@c.test" }, ...Array.from({ length: 10_000 }, (_, i) => `g${i}`));
    const p = parsed(el);
    expect(p.groups).toHaveLength(100);
    const all = parseItem(el, { ...DEFAULT_LIMITS, maxGroups: 10_000 });
    expect(all.remove === false && all.item.groups).toHaveLength(10_000);
  });

  it("accepts any iterable", () => {
    expect(cleanGroups(new Set(["b", "a"]))).toEqual(["a", "b"]);
    expect(cleanGroups([])).toEqual([]);
  });
});

describe("cleanName", () => {
  it("keeps undefined, drops empty and whitespace-only names", () => {
    expect(cleanName(undefined)).toBeUndefined();
    expect(cleanName("")).toBeUndefined();
    expect(cleanName("   \t")).toBeUndefined();
  });

  it("normalizes to NFC and caps by code points", () => {
    expect(cleanName("Jose\u0301")).toBe("Jos\u00e9");
    expect(cleanName("n".repeat(5000))).toHaveLength(1024);
    const capped = cleanName("😀".repeat(10), { ...DEFAULT_LIMITS, maxNameLength: 3 })!;
    expect(capped).toBe("😀😀😀");
    expect(hasLoneSurrogate(capped)).toBe(false);
  });

  it("keeps an ordinary name as given", () => {
    expect(cleanName(" Alice B. ")).toBe(" Alice B. ");
  });
});

describe("itemElement and removeElement", () => {
  it("a roster-set item carries jid, name and groups only", () => {
    const el = itemElement("alice@b.test", "Alice", ["Friends", "Work"]);
    expect(el.name).toBe("item");
    expect(Object.keys(el.attrs).sort()).toEqual(["jid", "name"]);
    expect(el.getChildren("group").map((g) => g.text())).toEqual(["Friends", "Work"]);
    const s = el.toString();
    expect(s).not.toMatch(/\bask=/);
    expect(s).not.toMatch(/\bapproved=/);
    expect(s).not.toMatch(/\bsubscription=/);
  });

  it("omits the name attribute when there is no name", () => {
    const s = itemElement("alice@b.test", undefined, []).toString();
    expect(s).toBe('<item jid="alice@b.test"/>');
  });

  it("never carries ask/approved/subscription even when built from a parsed item with them", () => {
    const p = parsed(item({ jid: "alice@b.test", name: "A", subscription: "both", ask: "subscribe", approved: "true" }, "G"));
    const s = itemElement(p.jid, p.name, p.groups).toString();
    expect(s).toBe('<item jid="alice@b.test" name="A"><group>G</group></item>');
  });

  it("escapes names and groups", () => {
    const s = itemElement("alice@b.test", 'A "<&>"', ["<g&>"]).toString();
    expect(s).not.toContain("<g&>");
    expect(s).toContain("&lt;g&amp;&gt;");
  });

  it("a removal carries subscription=remove and nothing else", () => {
    expect(removeElement("alice@b.test").toString()).toBe('<item jid="alice@b.test" subscription="remove"/>');
  });
});

describe("sameItem", () => {
  const base = parsed(item({ jid: "alice@b.test", name: "A", subscription: "both" }, "G1", "G2"));
  it("compares every field", () => {
    expect(sameItem(base, parsed(item({ jid: "alice@b.test", name: "A", subscription: "both" }, "G2", "G1")))).toBe(true);
    expect(sameItem(base, { ...base, name: "B" })).toBe(false);
    expect(sameItem(base, { ...base, groups: ["G1"] })).toBe(false);
    expect(sameItem(base, { ...base, subscription: "to" })).toBe(false);
    expect(sameItem(base, { ...base, ask: "subscribe" })).toBe(false);
    expect(sameItem(base, { ...base, approved: true })).toBe(false);
    expect(sameItem(base, undefined)).toBe(false);
    expect(sameItem(undefined, undefined)).toBe(true);
  });
});
