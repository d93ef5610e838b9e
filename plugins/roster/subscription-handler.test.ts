/** The decision chain without a network: plugins before and after the YAML rules, failures, limits. */
import { xml } from "../../bots/xmpp.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { SubscriptionDecision } from "./api.ts";
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

  it("a contact already subscribed to us is not re-decided", async () => {
    await setup(RULES);
    await env.router.routeIq(
      xml("iq", { type: "set", id: "p1" }, xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: "old@elsewhere.net", subscription: "from" }))),
      xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: "old@elsewhere.net", subscription: "from" })),
    );
    await request("old@elsewhere.net");
    expect(decisions).toEqual([]);
    expect(env.sent).toEqual([]);
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
});
