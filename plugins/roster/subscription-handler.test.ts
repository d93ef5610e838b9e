/** The decision chain without a network: plugins before and after the YAML rules, failures, limits. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { xml } from "../../bots/xmpp.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { SubscriptionDecision } from "./api.ts";
import { RosterError } from "./errors.ts";
import { rosterConfigSchema } from "./config.ts";
import roster from "./index.ts";

const NS_ROSTER = "jabber:iq:roster";

describe("subscription decision chain", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let decisions: SubscriptionDecision[];

  let ctx: ReturnType<typeof env.context>;
  async function setup(subscriptions: unknown) {
    ctx = env.context("roster");
    await roster.apply(ctx, rosterConfigSchema.parse({ cache: false, subscriptions }));
    const service = env.shared.services.get("roster")!.value as import("./api.ts").RosterService;
    decisions = [];
    service.hooks.subscriptionDecided.tap("test", (d) => void decisions.push(d));
    return service;
  }

  const request = (from: string, id = "req-1") => env.router.routeStanza(xml("presence", { from, type: "subscribe", id }));
  const answers = () => env.sent.filter((s) => s.name === "presence").map((s) => `${s.attrs.to} ${s.attrs.type}`);

  beforeEach(() => {
    tmp = tempDir("subs-");
    env = fakeShared(tmp.dir);
  });
  afterEach(async () => {
    await ctx?.dispose();
    tmp.remove();
  });

  const RULES = { default: "reject", rules: [{ name: "staff", match: { domain: "example.org" }, action: "accept" }] };

  it("answers to the bare JID, without the request's id", async () => {
    await setup(RULES);
    await request("alice@example.org/phone", "abc");
    const [sent] = env.sent;
    expect(sent!.attrs).toEqual({ to: "alice@example.org", type: "subscribed" });
    expect(decisions[0]).toMatchObject({ jid: "alice@example.org", action: "accept", decidedBy: "rules", rule: "staff" });
  });

  it("without a subscriptions section a stranger is rejected: accepting takes a rule (checklist 23)", async () => {
    await setup(undefined);
    await request("stranger@example.org");
    expect(answers()).toEqual(["stranger@example.org unsubscribed"]);
    expect(decisions[0]).toMatchObject({ action: "reject", decidedBy: "default" });
  });

  it("a request from a JID whose roster item the bot cannot read exactly is held for a person, whatever the rules say", async () => {
    env.connection.request = (s) =>
      Promise.resolve(xml("iq", { type: "result", id: s.attrs.id }, xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: "Mixed@Example.ORG", subscription: "none" }))));
    const service = await setup(RULES);
    for (const entry of env.shared.lifecycle.filter((e) => e.kind === "session")) await entry.fn();
    await request("mixed@example.org/phone");
    await request("alice@example.org");
    expect(answers()).toEqual(["alice@example.org subscribed"]); // nothing sent to mixed@: any answer could make the server add a twin
    expect(decisions[0]).toMatchObject({ jid: "mixed@example.org", action: "ask", decidedBy: "unreadable-item" });
    expect(service.subscriptions.pending().map((p) => p.jid)).toEqual(["mixed@example.org"]);
  });

  it("a plugin tapping before the rules answers first", async () => {
    const service = await setup(RULES);
    service.hooks.subscriptionRequest.tap({ name: "blocklist", order: -10 }, (r) => (r.jid === "mallory@example.org" ? { action: "reject", reason: "blocked" } : undefined));
    await request("mallory@example.org");
    await request("alice@example.org");
    expect(answers()).toEqual(["mallory@example.org unsubscribed", "alice@example.org subscribed"]);
    expect(decisions.map((d) => d.decidedBy)).toEqual(["blocklist", "rules"]);
  });

  it("a plugin tapping after the rules answers only what they leave open", async () => {
    const service = await setup(RULES);
    service.hooks.subscriptionRequest.tap({ name: "fallback", order: 10 }, () => ({ action: "ask", reason: "an admin decides" }));
    await request("alice@example.org");
    await request("bob@elsewhere.net");
    expect(decisions.map((d) => `${d.jid} ${d.action} ${d.decidedBy}`)).toEqual(["alice@example.org accept rules", "bob@elsewhere.net ask fallback"]);
    expect(service.subscriptions.pending().map((p) => p.jid)).toEqual(["bob@elsewhere.net"]);
  });

  it("a throwing tap counts as no answer; the rules still decide", async () => {
    const service = await setup(RULES);
    service.hooks.subscriptionRequest.tap({ name: "broken", order: -1 }, () => {
      throw new Error("database down");
    });
    await request("alice@example.org");
    expect(decisions[0]).toMatchObject({ action: "accept", decidedBy: "rules" });
    expect(env.logs.find((l) => l.tap === "broken")).toBeTruthy();
  });

  it("a hanging tap times out and the fail-closed default applies", async () => {
    const service = await setup({ ...RULES, rules: [] });
    service.hooks.subscriptionRequest.tap({ name: "slow", order: -1, timeoutMs: 50 }, () => new Promise(() => {}));
    const t0 = Date.now();
    await request("alice@example.org");
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(decisions[0]).toMatchObject({ action: "reject", decidedBy: "default" });
    expect(answers()).toEqual(["alice@example.org unsubscribed"]);
  });

  it("over the per-domain rate limit the `over` action applies", async () => {
    await setup({ ...RULES, rateLimit: { perDomain: "2/min", over: "ignore" } });
    for (const u of ["a", "b", "c"]) await request(`${u}@example.org`);
    await request("d@other.org");
    expect(decisions.map((d) => `${d.jid} ${d.action} ${d.decidedBy}`)).toEqual([
      "a@example.org accept rules",
      "b@example.org accept rules",
      "c@example.org ignore rate-limit",
      "d@other.org reject default",
    ]);
    expect(answers()).not.toContain("c@example.org subscribed");
  });

  it("a malformed or oversized sender is logged and ignored", async () => {
    await setup(RULES);
    await request(`${"x".repeat(1100)}@example.org`);
    await env.router.routeStanza(xml("presence", { type: "subscribe" }));
    expect(env.sent).toEqual([]);
    expect(decisions).toEqual([]);
    expect(env.logs.messages().filter((m) => m.includes("malformed subscribe ignored"))).toHaveLength(2);
  });

  it("mutual subscribes back only when we have not already asked", async () => {
    await setup({ default: "mutual", rules: [] });
    const push = (item: Record<string, string>) => {
      const q = xml("query", { xmlns: NS_ROSTER }, xml("item", item));
      return env.router.routeIq(xml("iq", { type: "set", id: "p" }, q), q);
    };
    await push({ jid: "asked@x.net", subscription: "none", ask: "subscribe" });
    await request("asked@x.net");
    await request("new@x.net");
    expect(answers()).toEqual(["asked@x.net subscribed", "new@x.net subscribe", "new@x.net subscribed"]);
  });

  const push = (item: Record<string, string>) => {
    const q = xml("query", { xmlns: NS_ROSTER }, xml("item", item));
    return env.router.routeIq(xml("iq", { type: "set", id: "p" }, q), q);
  };
  const decisionLines = async () => {
    await new Promise((r) => setImmediate(r));
    const text = readFileSync(path.join(tmp.dir, "audit.log"), "utf8");
    return text.split("\n").filter((l) => l.includes('"kind":"decision"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  it("a request from a contact already subscribed (from/both) is answered subscribed again, audited, not re-decided", async () => {
    // The server answers such a request itself; one that arrives means its state and ours disagree.
    await setup({ default: "reject", rules: [] });
    await push({ jid: "old@elsewhere.net", subscription: "from" });
    await push({ jid: "both@elsewhere.net", subscription: "both" });
    await request("old@elsewhere.net/phone", "req-old");
    await request("both@elsewhere.net", "req-both");
    await request("old@elsewhere.net", "req-again"); // redelivered: the same answer again
    const presences = env.sent.filter((s) => s.name === "presence");
    // To the bare JID, with no id: the default (reject) is not applied to an existing subscription.
    expect(presences.map((s) => s.attrs)).toEqual([
      { to: "old@elsewhere.net", type: "subscribed" },
      { to: "both@elsewhere.net", type: "subscribed" },
      { to: "old@elsewhere.net", type: "subscribed" },
    ]);
    expect(decisions).toEqual([]); // not a decision: the subscription exists already
    const lines = await decisionLines();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ from: "old@elsewhere.net", action: "accept", decidedBy: "already-subscribed", sent: ["subscribed"] });
    expect(lines[0]!.reason).toContain("subscription from");
    expect(lines[1]).toMatchObject({ from: "both@elsewhere.net", decidedBy: "already-subscribed" });
    expect(lines[1]!.reason).toContain("subscription both");
  });

  it("decision audit lines carry the contact's roster state (groups, subscription) for replay, and none for a stranger", async () => {
    await setup({ default: "reject", rules: [{ name: "friends", match: { group: "Friends" }, action: "accept" }] });
    await push({ jid: "friend@elsewhere.net", subscription: "to" });
    const q = xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: "pal@elsewhere.net", subscription: "both" }, xml("group", {}, "Friends"), xml("group", {}, "Team")));
    await env.router.routeIq(xml("iq", { type: "set", id: "p" }, q), q);
    await request("friend@elsewhere.net");
    await request("pal@elsewhere.net"); // already subscribed: audited with its state too
    await request("stranger@elsewhere.net");
    const lines = await decisionLines();
    expect(lines.map((l) => [l.from, l.decidedBy, l.roster])).toEqual([
      ["friend@elsewhere.net", "default", { groups: [], subscription: "to" }],
      ["pal@elsewhere.net", "already-subscribed", { groups: ["Friends", "Team"], subscription: "both" }],
      ["stranger@elsewhere.net", "default", undefined],
    ]);
    expect(lines[2]).not.toHaveProperty("roster");
  });

  it("a request from a contact whose copy shows to/none (or only our ask) is decided by the rules", async () => {
    await setup({ default: "reject", rules: [] });
    await push({ jid: "to@elsewhere.net", subscription: "to" });
    await push({ jid: "asked@elsewhere.net", subscription: "none", ask: "subscribe" });
    await request("to@elsewhere.net");
    await request("asked@elsewhere.net");
    expect(answers()).toEqual(["to@elsewhere.net unsubscribed", "asked@elsewhere.net unsubscribed"]);
    expect(decisions.map((d) => d.decidedBy)).toEqual(["default", "default"]);
  });

  const HELD = { default: "reject", rules: [{ name: "held", match: { domain: "held.test" }, action: "ask" }] };

  it("approve answers a held request once, and refuses a JID with no held request, sending nothing", async () => {
    const service = await setup(HELD);
    await request("someone@held.test");
    await expect(service.subscriptions.approve("stranger@x.net", { by: "boss@x.org" })).rejects.toMatchObject({
      name: "RosterError",
      condition: "not-pending",
      operation: "approve",
    });
    expect(env.sent).toEqual([]);
    const [first, second] = await Promise.allSettled([
      service.subscriptions.approve("someone@held.test", { by: "boss@x.org" }),
      service.subscriptions.approve("someone@held.test", { by: "ops@x.org" }),
    ]);
    expect(first).toMatchObject({ status: "fulfilled", value: { action: "accept", decidedBy: "boss@x.org", sent: ["subscribed"] } });
    expect(second).toMatchObject({ status: "rejected", reason: expect.any(RosterError) });
    expect(answers()).toEqual(["someone@held.test subscribed"]);
    expect((await decisionLines()).at(-1)).toMatchObject({ from: "someone@held.test", action: "accept", decidedBy: "boss@x.org", via: "approve", sent: ["subscribed"] });
  });

  it("grant approves a held request, sends subscribed unasked otherwise, and nothing to a contact who has our presence", async () => {
    const service = await setup(HELD);
    await request("someone@held.test");
    await push({ jid: "fan@x.net", subscription: "from" });
    // The server answers an unasked `subscribed` with a roster push (Prosody: a new item, subscription none).
    const send = env.connection.send;
    env.connection.send = async (s) => {
      await send(s);
      if (s.attrs.to === "new@x.net" && s.attrs.type === "subscribed") setImmediate(() => void push({ jid: "new@x.net", subscription: "none" }));
    };
    decisions.length = 0;

    expect(await service.subscriptions.grant("someone@held.test", { by: "boss@x.org" })).toMatchObject({ outcome: "approved", sent: ["subscribed"], pushed: false });
    expect(service.subscriptions.pending()).toEqual([]);
    const granted = await service.subscriptions.grant("New@x.net/phone", { by: "boss@x.org" });
    expect(granted).toEqual({
      jid: "new@x.net",
      outcome: "sent",
      sent: ["subscribed"],
      before: undefined,
      after: { subscription: "none", ask: undefined, approved: false },
      pushed: true,
      preApproval: false,
    });
    expect(await service.subscriptions.grant("fan@x.net", { by: "boss@x.org" })).toMatchObject({ outcome: "already", sent: [] });

    expect(answers()).toEqual(["someone@held.test subscribed", "new@x.net subscribed"]);
    // Only the held request was a decision for the hook; both grants are in the audit trail.
    expect(decisions.map((d) => d.jid)).toEqual(["someone@held.test"]);
    expect((await decisionLines()).slice(-2)).toEqual([
      expect.objectContaining({ from: "someone@held.test", action: "accept", decidedBy: "boss@x.org", via: "grant", sent: ["subscribed"] }),
      expect.objectContaining({ from: "new@x.net", action: "accept", decidedBy: "boss@x.org", via: "grant", sent: ["subscribed"], reason: "granted by boss@x.org without a request" }),
    ]);
  });

  it("grant refuses when the bot is offline", async () => {
    const service = await setup(HELD);
    env.connection.isOnline = false;
    await expect(service.subscriptions.grant("new@x.net")).rejects.toMatchObject({ condition: "offline", operation: "grant" });
    expect(env.sent).toEqual([]);
  });
});
