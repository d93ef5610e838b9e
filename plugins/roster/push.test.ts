/** validatePush: who may push (RFC 6121 §2.1.6, checklist 6–8), and what a valid push carries. */
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, NS_ROSTER } from "./item.ts";
import { isFromOwnAccount, validatePush, type PushVerdict } from "./push.ts";

const ACCOUNT = "bot@a.test";

/** A roster push iq (from omitted when undefined) and its query. */
function push(from: string | undefined, items: XmlElement[], ver?: string): [XmlElement, XmlElement] {
  const query = xml("query", { xmlns: NS_ROSTER, ver }, ...items);
  const stanza = xml("iq", { type: "set", id: "push1", to: `${ACCOUNT}/roster-bot`, from }, query);
  return [stanza, query];
}

const item = (attrs: Record<string, string | undefined>, ...groups: string[]) => xml("item", attrs, ...groups.map((g) => xml("group", {}, g)));

function verdict(from: string | undefined, items: XmlElement[] = [item({ jid: "alice@b.test", subscription: "both" })], ver?: string): PushVerdict {
  const [stanza, query] = push(from, items, ver);
  return validatePush(stanza, query, ACCOUNT, DEFAULT_LIMITS);
}

function expectSecurity(v: PushVerdict): void {
  expect(v).toMatchObject({ ok: false, condition: "service-unavailable", security: true });
}

function expectBadRequest(v: PushVerdict): void {
  expect(v).toMatchObject({ ok: false, condition: "bad-request", security: false });
}

describe("validatePush: origin", () => {
  it("accepts a push without a from attribute", () => {
    const v = verdict(undefined);
    expect(v).toMatchObject({ ok: true, change: { remove: false, item: { jid: "alice@b.test", subscription: "both" } } });
  });

  it("accepts a push from the account's bare JID", () => {
    expect(verdict(ACCOUNT).ok).toBe(true);
  });

  it("accepts the account's bare JID written with other cases", () => {
    expect(verdict("Bot@A.Test").ok).toBe(true);
    expect(verdict("BOT@a.TEST").ok).toBe(true);
  });

  it("rejects a push from the server domain as a security event", () => {
    // xmpp.js reports the domain as ctx.from when the attribute is absent; a real stanza carrying it
    // cannot be forged by a client through the server, so this path is only reachable here.
    const v = verdict("a.test");
    expectSecurity(v);
    expect(v.ok === false && v.reason).toContain("a.test");
  });

  it("rejects a push from another account's bare JID", () => {
    expectSecurity(verdict("mallory@b.test"));
  });

  it("rejects a push from another account's full JID", () => {
    expectSecurity(verdict("mallory@b.test/laptop"));
  });

  it("rejects a push from the account itself with a resource (another of its resources, or its own)", () => {
    expectSecurity(verdict("bot@a.test/phone"));
    expectSecurity(verdict("bot@a.test/roster-bot"));
    expectSecurity(verdict("Bot@A.test/phone"));
  });

  it("rejects an unparsable from as a security event", () => {
    expectSecurity(verdict("bot@@a.test"));
    expectSecurity(verdict(""));
    expectSecurity(verdict("@a.test"));
  });

  it("a look-alike of the account (other domain, other local part) is not the account", () => {
    expectSecurity(verdict("bot@a.test.evil"));
    expectSecurity(verdict("bot2@a.test"));
    expectSecurity(verdict("a.test/bot"));
  });

  it("checks origin before content: a spoofed push with two items is still a security event", () => {
    expectSecurity(verdict("mallory@b.test", [item({ jid: "x@b.test" }), item({ jid: "y@b.test" })]));
  });

  it("isFromOwnAccount matches the bare JID only", () => {
    expect(isFromOwnAccount(undefined, ACCOUNT)).toBe(true);
    expect(isFromOwnAccount("BOT@a.test", ACCOUNT)).toBe(true);
    expect(isFromOwnAccount("bot@a.test/x", ACCOUNT)).toBe(false);
    expect(isFromOwnAccount("a.test", ACCOUNT)).toBe(false);
  });
});

describe("validatePush: content", () => {
  it("rejects a push with zero items as bad-request", () => {
    const v = verdict(undefined, []);
    expectBadRequest(v);
    expect(v.ok === false && v.reason).toContain("0 items");
  });

  it("rejects a push with two items as bad-request", () => {
    const v = verdict(ACCOUNT, [item({ jid: "x@b.test" }), item({ jid: "y@b.test" })]);
    expectBadRequest(v);
    expect(v.ok === false && v.reason).toContain("2 items");
  });

  it("rejects an item with an invalid JID as bad-request", () => {
    expectBadRequest(verdict(undefined, [item({ jid: "a@@b.test" })]));
    expectBadRequest(verdict(undefined, [item({ jid: "x".repeat(1100) + "@b.test" })]));
    expectBadRequest(verdict(undefined, [item({ jid: "" })]));
    expectBadRequest(verdict(undefined, [item({})]));
  });

  it("rejects an item with a full JID as bad-request", () => {
    const v = verdict(undefined, [item({ jid: "alice@b.test/phone" })]);
    expectBadRequest(v);
    expect(v.ok === false && v.reason).toMatch(/bare JID/);
  });

  it("rejects an item with an unknown subscription as bad-request", () => {
    expectBadRequest(verdict(undefined, [item({ jid: "alice@b.test", subscription: "sometimes" })]));
  });

  it("subscription=remove gives a removal of the normalized bare JID", () => {
    const v = verdict(undefined, [item({ jid: "Alice@B.test", subscription: "remove" })]);
    expect(v).toEqual({ ok: true, change: { remove: true, jid: "alice@b.test" }, ver: undefined });
  });

  it("carries the push's ver", () => {
    const v = verdict(undefined, [item({ jid: "alice@b.test", name: "Alice" }, "Friends")], "ver-42");
    expect(v).toMatchObject({ ok: true, ver: "ver-42", change: { remove: false, item: { name: "Alice", groups: ["Friends"] } } });
    const removal = verdict(ACCOUNT, [item({ jid: "alice@b.test", subscription: "remove" })], "ver-43");
    expect(removal).toMatchObject({ ok: true, ver: "ver-43" });
  });

  it("without ver the verdict has ver undefined", () => {
    const v = verdict(undefined);
    expect(v.ok && v.ver).toBeUndefined();
  });

  it("applies the limits it is given", () => {
    const [stanza, query] = push(undefined, [item({ jid: "alice@b.test", name: "abcdef" }, "g1", "g2", "g3")]);
    const v = validatePush(stanza, query, ACCOUNT, { maxNameLength: 3, maxGroupLength: 10, maxGroups: 2 });
    expect(v).toMatchObject({ ok: true, change: { item: { name: "abc", groups: ["g1", "g2"] } } });
  });
});
