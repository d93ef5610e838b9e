/**
 * Internationalized domains without a network: a request is decided on the JID's normal form
 * (U-labels) and answered in the spelling it came in; a held request is found in either spelling.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pluginDataDir } from "../../bots/context.ts";
import { xml } from "../../bots/xmpp.ts";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { RosterService, SubscriptionDecision } from "./api.ts";
import { rosterConfigSchema } from "./config.ts";
import { explainOffline, formatExplanation } from "./explain.ts";
import roster from "./index.ts";

const NS_ROSTER = "jabber:iq:roster";
const A = "a@xn--bcher-kva.example";
const U = "a@bücher.example";

describe("internationalized domains in subscription handling", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let ctx: ReturnType<typeof env.context>;
  let decisions: SubscriptionDecision[];

  async function setup(subscriptions: unknown): Promise<RosterService> {
    ctx = env.context("roster");
    await roster.apply(ctx, rosterConfigSchema.parse({ cache: false, subscriptions }));
    const service = env.shared.services.get("roster")!.value as RosterService;
    decisions = [];
    service.hooks.subscriptionDecided.tap("test", (d) => void decisions.push(d));
    return service;
  }
  const request = (from: string) => env.router.routeStanza(xml("presence", { from, type: "subscribe" }));
  const answers = () => env.sent.filter((s) => s.name === "presence").map((s) => `${s.attrs.to} ${s.attrs.type}`);
  const decisionLines = async () => {
    await new Promise((r) => setImmediate(r));
    const text = readFileSync(path.join(tmp.dir, "audit.log"), "utf8");
    return text.split("\n").filter((l) => l.includes('"kind":"decision"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  beforeEach(() => {
    tmp = tempDir("idna-");
    env = fakeShared(tmp.dir);
  });
  afterEach(async () => {
    await ctx?.dispose();
    tmp.remove();
  });

  it("a U-label reject rule rejects an A-label requester, answering the A-label spelling", async () => {
    await setup({ default: "accept", rules: [{ name: "no-books", match: { domain: "bücher.example" }, action: "reject" }] });
    await request(`${A}/phone`);
    expect(answers()).toEqual([`${A} unsubscribed`]);
    expect(decisions).toMatchObject([{ jid: U, action: "reject", rule: "no-books" }]);
    expect(await decisionLines()).toMatchObject([{ from: U, address: A, action: "reject", rule: "no-books", sent: ["unsubscribed"] }]);
  });

  it("an A-label rule rejects a U-label requester; the audit line has no address when the spelling is the normal form", async () => {
    await setup({ default: "accept", rules: [{ name: "no-books", match: { jid: "*@XN--BCHER-KVA.example" }, action: "reject" }] });
    await request(U);
    expect(answers()).toEqual([`${U} unsubscribed`]);
    const [line] = await decisionLines();
    expect(line).toMatchObject({ from: U, action: "reject" });
    expect(line).not.toHaveProperty("address");
  });

  it("a held request is approved and denied in either spelling, and answered in the request's", async () => {
    const service = await setup({ default: "reject", rules: [{ name: "held", match: { domain: "*.bücher.example" }, action: "ask" }] });
    await request("a@x.xn--bcher-kva.example");
    await request("b@x.bücher.example");
    expect(service.subscriptions.pending()).toMatchObject([
      { jid: "a@x.bücher.example", address: "a@x.xn--bcher-kva.example" },
      { jid: "b@x.bücher.example" },
    ]);
    await service.subscriptions.approve("a@x.bücher.example", { by: "boss@x.org" });
    await service.subscriptions.deny("b@x.xn--bcher-kva.example", { by: "boss@x.org" });
    expect(answers()).toEqual(["a@x.xn--bcher-kva.example subscribed", "b@x.bücher.example unsubscribed"]);
    expect(service.subscriptions.pending()).toEqual([]);
  });

  it("onUnsubscribe: remove removes the item in the spelling the unsubscribe came in", async () => {
    const service = await setup({ default: "accept", rules: [], onUnsubscribe: "remove" });
    const q = xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: A, subscription: "from" }));
    await env.router.routeIq(xml("iq", { type: "set", id: "p" }, q), q);
    const removes: string[] = [];
    env.connection.request = async (s) => {
      const item = s.getChild("query")!.getChild("item")!;
      removes.push(`${item.attrs.jid} ${item.attrs.subscription}`);
      const push = xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: item.attrs.jid, subscription: "remove" }));
      await env.router.routeIq(xml("iq", { type: "set", id: "p2" }, push), push); // as the server does
      return xml("iq", { type: "result", id: s.attrs.id });
    };
    await env.router.routeStanza(xml("presence", { from: `${A}/phone`, type: "unsubscribe" }));
    expect(removes).toEqual([`${A} remove`]);
    expect(service.get(U)).toBeUndefined();
  });

  it("a held request kept on disk under an A-label key is found by its U-label form", async () => {
    const held = { jid: A, since: "2026-01-01T00:00:00.000Z", decidedBy: "rules", rule: "held", reason: "r" };
    mkdirSync(pluginDataDir(tmp.dir, "roster"), { recursive: true });
    writeFileSync(path.join(pluginDataDir(tmp.dir, "roster"), "pending.json"), JSON.stringify({ format: 1, pending: [held] }));
    const service = await setup({ default: "reject", rules: [] });
    expect(service.subscriptions.pending()).toMatchObject([{ jid: U, address: A }]);
    await service.subscriptions.approve(U, { by: "boss@x.org" });
    expect(answers()).toEqual([`${A} subscribed`]);
  });

  it("roster.get and explain find a contact in either spelling; explain shows the normal form and the input", async () => {
    const service = await setup({ default: "accept", rules: [{ name: "team", match: { group: "Team" }, action: "mutual" }] });
    const q = xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: A, subscription: "none" }, xml("group", {}, "Team")));
    await env.router.routeIq(xml("iq", { type: "set", id: "p" }, q), q);
    expect(service.get(U)?.jid).toBe(U);
    expect(service.get(A)?.jid).toBe(U);
    expect(service.subscriptions.explain(A)).toMatchObject({ jid: U, input: A, action: "mutual", rule: "team" });
    expect(service.subscriptions.explain(U)).not.toHaveProperty("input");
  });
});

describe("offline explain", () => {
  const config = rosterConfigSchema.parse({
    subscriptions: { default: "accept", rules: [{ name: "no-books", match: { domain: "bücher.example" }, action: "reject" }] },
  });

  it("names the normal form it decided on, and the input when it differed", () => {
    const e = explainOffline(config, "/", A);
    expect(e).toMatchObject({ jid: U, input: A, action: "reject", rule: "no-books" });
    expect(formatExplanation(e).split("\n")[0]).toBe(`${U} (given as ${A}): reject`);
    expect(formatExplanation(explainOffline(config, "/", U)).split("\n")[0]).toBe(`${U}: reject`);
    expect(explainOffline(config, "/", "A@Bücher.example")).not.toHaveProperty("input"); // case alone is no other spelling
  });
});
