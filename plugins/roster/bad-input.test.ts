/**
 * Bad input (issue #7) that a client cannot send through a real server, thrown at the roster plugin
 * without a network: a roster result and pushes with zero, many, malformed or oversized items,
 * presence without a usable `from`, look-alike senders. Each gets a clear log line or error reply
 * (an item kept shortened by the limits is a warning);
 * what the bot had already decided or stored (the roster copy, held requests, the cache on disk)
 * is unchanged, and a normal request is still answered afterwards.
 *
 * (push.test.ts and item.test.ts cover the validation functions one by one; this drives the whole
 * plugin. test/faults/bad-input.test.ts throws the client-producible part through Prosody.)
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { memoryLogger } from "../../test/helpers/logger.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { RosterService, SubscriptionDecision } from "./api.ts";
import { RosterCache } from "./cache.ts";
import { rosterConfigSchema } from "./config.ts";
import roster from "./index.ts";

const NS = "jabber:iq:roster";
const BOT = "bot@x.org";
const CYRILLIC_A = "\u0430";

describe("bad input to a running roster plugin", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let ctx: ReturnType<typeof env.context>;
  let service: RosterService;
  let decisions: SubscriptionDecision[];

  const push = (items: XmlElement[], attrs: Record<string, string> = {}) => {
    const query = xml("query", { xmlns: NS }, ...items);
    return env.router.routeIq(xml("iq", { type: "set", id: "push", ...attrs }, query), query);
  };
  const presence = (attrs: Record<string, string>) => env.router.routeStanza(xml("presence", attrs));
  const answers = () => env.sent.filter((s) => s.name === "presence").map((s) => `${s.attrs.to} ${s.attrs.type}`);
  const logged = (msg: string) => env.logs.lines.filter((l) => l.msg === msg);

  beforeEach(async () => {
    tmp = tempDir("roster-bad-input-");
    env = fakeShared(tmp.dir, BOT);
    ctx = env.context("roster");
    const config = rosterConfigSchema.parse({
      cache: true,
      subscriptions: {
        default: "reject",
        rules: [
          { name: "partners", match: { domain: "partner.test" }, action: "accept" },
          { name: "hold", match: { domain: "hold.test" }, action: "ask" },
        ],
      },
    });
    await roster.apply(ctx, config);
    service = env.shared.services.get("roster")!.value as RosterService;
    decisions = [];
    service.hooks.subscriptionDecided.tap("test", (d) => void decisions.push(d));
    // The login: the server's roster result holds good items and bad ones.
    env.connection.request = async (s: XmlElement) =>
      xml(
        "iq",
        { type: "result", id: s.attrs.id },
        xml(
          "query",
          { xmlns: NS, ver: "7" },
          xml("item", { jid: "alice@partner.test", subscription: "both", name: "Alice" }, xml("group", {}, "Friends")),
          xml("item", { jid: "bob@b.test", subscription: "from" }),
          xml("item", { jid: "a@b@c.test", subscription: "both" }),
          xml("item", { jid: "full@b.test/phone", subscription: "both" }),
          xml("item", { subscription: "both" }),
          xml("item", { jid: "odd@b.test", subscription: "sometimes" }),
        ),
      );
    for (const entry of env.shared.lifecycle.filter((e) => e.kind === "session")) await entry.fn();
    // A held request.
    await presence({ from: "held@hold.test/phone", type: "subscribe" });
  });
  afterEach(async () => {
    await ctx?.dispose();
    tmp.remove();
  });

  it("a roster result with bad items keeps the good ones and names the skipped ones in one line", () => {
    expect(service.list().map((i) => i.jid).sort()).toEqual(["alice@partner.test", "bob@b.test"]);
    const lines = logged("roster items the bot cannot read exactly: left unchanged, for a person to mend");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ count: 4, more: 0 });
    expect(lines[0]!.items).toEqual([
      "a@b@c.test (roster item with invalid jid: local part of JID holds a forbidden character)",
      "full@b.test/phone (roster item jid must be a bare JID)",
      " (roster item without jid)",
      'odd@b.test (roster item with unknown subscription "sometimes")',
    ]);
    // The item with an unknown subscription still names a valid JID: nothing may set it.
    expect(service.isUnreadable("odd@b.test")).toBe(true);
  });

  it("the whole corpus: every piece logged or refused; nothing decided or stored is lost", async () => {
    const items = service.list();
    const pending = service.subscriptions.pending();
    expect(pending.map((p) => p.jid)).toEqual(["held@hold.test"]);
    const sentBefore = env.sent.length;

    // Roster pushes with zero or many items, from the wrong sender, with bad items.
    const zero = await push([]);
    const two = await push([xml("item", { jid: "y@b.test" }), xml("item", { jid: "z@b.test" })]);
    const many = await push(Array.from({ length: 1_000 }, (_, i) => xml("item", { jid: `m${i}@b.test` })));
    const spoofed = await push([xml("item", { jid: "alice@partner.test", subscription: "remove" })], { from: "mallory@evil.test" });
    const ownResource = await push([xml("item", { jid: "alice@partner.test", subscription: "remove" })], { from: `${BOT}/other` });
    const badJid = await push([xml("item", { jid: "not a jid@b.test" })]);
    const fullJid = await push([xml("item", { jid: "c@b.test/res" })]);
    const badSubscription = await push([xml("item", { jid: "c@b.test", subscription: "plenty" })]);
    for (const reply of [zero, two, many, badJid, fullJid, badSubscription]) {
      expect((reply as XmlElement).getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    }
    for (const reply of [spoofed, ownResource]) {
      expect((reply as XmlElement).getChild("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    }
    expect(logged("invalid roster push rejected").map((l) => l.reason)).toEqual([
      "roster push with 0 items (exactly one is allowed)",
      "roster push with 2 items (exactly one is allowed)",
      "roster push with 1000 items (exactly one is allowed)",
      "roster item with invalid jid: local part of JID holds a forbidden character",
      "roster item jid must be a bare JID",
      'roster item with unknown subscription "plenty"',
    ]);
    expect(logged("spoofed roster push rejected").map((l) => l.from)).toEqual(["mallory@evil.test", `${BOT}/other`]);

    // A valid push of an oversized item: 10,000 groups (with empty and duplicate ones), a name of
    // 100,000 characters. Kept within the limits (100 groups, 1,024 characters).
    const groups = [...Array.from({ length: 10_000 }, (_, i) => `g${i}`), "", "  ", "g1", "g1"];
    const t0 = Date.now();
    const big = await push([xml("item", { jid: "many@partner.test", subscription: "none", name: "N".repeat(100_000) }, ...groups.map((g) => xml("group", {}, g)))]);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(big).toBe(true);
    const kept = service.get("many@partner.test")!;
    expect(kept.groups).toHaveLength(100);
    expect(new Set(kept.groups).size).toBe(100);
    expect(kept.groups).not.toContain("");
    expect(kept.name).toHaveLength(1_024);
    expect(logged("roster item over the limits: the copy (and a roster set made from it) keeps part of it")).toEqual([
      expect.objectContaining({ jid: "many@partner.test", trimmed: "9900 of 10000 groups dropped (maxGroups 100); name cut to 1024 characters" }),
    ]);

    // Presence without a usable sender.
    await presence({ type: "subscribe" });
    await presence({ from: "", type: "subscribe" });
    await presence({ from: `${"x".repeat(2_000)}@b.test`, type: "subscribe" });
    await presence({ from: "nul\u0000l@b.test", type: "subscribe" });
    await presence({ from: "@b.test", type: "subscribe" });
    await presence({ type: "unsubscribe" });
    expect(logged("malformed subscribe ignored")).toHaveLength(5);
    expect(logged("malformed unsubscribe ignored")).toHaveLength(1);

    // The held request, asked again, stays held (not re-decided, nothing sent).
    const decided = decisions.length;
    await presence({ from: "held@hold.test/laptop", type: "subscribe" });
    expect(decisions.length).toBe(decided); // an audit line only ("still waiting for an answer")
    // A Cyrillic look-alike of the accepted domain gets the default (reject), not the rule.
    await presence({ from: `mallory@p${CYRILLIC_A}rtner.test/x`, type: "subscribe" });
    expect(decisions.at(-1)).toMatchObject({ jid: `mallory@p${CYRILLIC_A}rtner.test`, action: "reject", decidedBy: "default" });
    // A fullwidth form is the same JID as the ASCII one (as the server sees it): the rule applies.
    await presence({ from: "\uff4d\uff41\uff4e\uff59@\uff50artner.test", type: "subscribe" });
    expect(decisions.at(-1)).toMatchObject({ jid: "many@partner.test", action: "accept", decidedBy: "rules", rule: "partners" });

    expect(answers().slice(sentBefore)).toEqual([`mallory@p${CYRILLIC_A}rtner.test unsubscribed`, "many@partner.test subscribed"]);

    // Nothing already decided or stored is lost.
    for (const item of items) expect(service.get(item.jid)).toEqual(item);
    expect(service.subscriptions.pending()).toEqual(pending);

    // A normal request is still answered.
    await presence({ from: "carol@partner.test/phone", type: "subscribe" });
    expect(answers().at(-1)).toBe("carol@partner.test subscribed");

    // The cache on disk holds the same copy.
    await ctx.dispose();
    const cache = new RosterCache(path.join(tmp.dir, "plugins", "roster", "roster.json"), BOT, memoryLogger().logger).load();
    const byJid = (a: { jid: string }, b: { jid: string }) => a.jid.localeCompare(b.jid);
    expect([...(cache?.items.values() ?? [])].sort(byJid)).toEqual(service.list().sort(byJid));
    for (const item of items) expect(cache?.items.get(item.jid)).toEqual(item);
    expect(JSON.parse(readFileSync(path.join(tmp.dir, "plugins", "roster", "pending.json"), "utf8")).pending.map((p: { jid: string }) => p.jid)).toEqual(["held@hold.test"]);
  });
});
