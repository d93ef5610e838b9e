/**
 * The `block` option in the subscription handler, with a fake blocking part (no network): the
 * `unsubscribed` goes out before the block is asked for, the decision and its audit line carry the
 * outcome, a failing or missing blocking part never loses the reject, and only a rule's (or the
 * rate limit's) block blocks.
 */
import path from "node:path";
import { readFileSync } from "node:fs";
import { xml } from "../../bots/xmpp.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { BlockOptions, BlockOutcome, SubscriptionDecision } from "./api.ts";
import { AuditLog } from "./audit.ts";
import { PendingRequests } from "./pending-requests.ts";
import { subscriptionsSchema } from "./subscription-config.ts";
import { blockSender, type SubscriptionBlocking } from "./subscription-block.ts";
import { SubscriptionHandler } from "./subscription-handler.ts";

/** A blocking part that records each call in the same log as the stanzas sent. */
function fakeBlocking(wire: string[], answer: (jid: string, o: BlockOptions) => Promise<BlockOutcome> | BlockOutcome) {
  const calls: { jid: string; options: BlockOptions }[] = [];
  const blocking: SubscriptionBlocking = {
    supported: true,
    async block(jid, options = {}) {
      calls.push({ jid, options });
      wire.push(`block ${jid} ${options.scope}`);
      return answer(jid, options);
    },
  };
  return { blocking, calls };
}

const blocked = (jid: string, o: BlockOptions): BlockOutcome => ({
  jid: o.scope === "domain" ? jid.split("@").pop()! : jid,
  scope: o.scope ?? "bare",
  outcome: "blocked",
  ...(o.forMs !== undefined ? { expires: new Date(Date.UTC(2030, 0, 1) + o.forMs).toISOString() } : {}),
});

const RULES = {
  default: "reject",
  rules: [
    { name: "spammers", match: { jid: "spam@x.test" }, action: "reject", block: true },
    { name: "flooders", match: { domain: "*.spam.test" }, action: "reject", block: { scope: "domain", for: "7d" }, reason: "known flood source" },
    { name: "plain", match: { domain: "plain.test" }, action: "reject" },
    { name: "friends", match: { domain: "friends.test" }, action: "accept" },
  ],
};

describe("subscription handler: the block option", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let ctx: ReturnType<typeof env.context>;
  let audit: AuditLog;
  let wire: string[];
  let decisions: SubscriptionDecision[];

  function handler(subscriptions: unknown, blocking: SubscriptionBlocking | undefined) {
    ctx = env.context("roster");
    audit = new AuditLog(path.join(tmp.dir, "audit.log"), "b", env.logger);
    const roster = { account: "bot@x.org", get: () => undefined, remove: async () => {}, features: { versioning: false, preApproval: false }, isUnreadable: () => false, watchPush: () => ({ wait: async () => false, stop() {} }) };
    const pending = new PendingRequests(path.join(tmp.dir, "pending.json"), env.logger);
    const h = new SubscriptionHandler(ctx, { roster, pending, audit, ...(blocking ? { blocking } : {}) }, subscriptionsSchema.parse(subscriptions));
    h.hooks.subscriptionDecided.tap("test", (d) => void decisions.push(d));
    return h;
  }
  const request = (from: string) => env.router.routeStanza(xml("presence", { from, type: "subscribe" }));
  const decisionLines = async () => {
    await new Promise((r) => setImmediate(r));
    return readFileSync(path.join(tmp.dir, "audit.log"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  beforeEach(() => {
    tmp = tempDir("subs-block-");
    env = fakeShared(tmp.dir);
    wire = [];
    decisions = [];
    const send = env.connection.send;
    env.connection.send = async (s) => {
      await send(s);
      if (s.name === "presence") wire.push(`${s.attrs.type} ${s.attrs.to}`);
    };
  });
  afterEach(async () => {
    audit?.close();
    await ctx?.dispose();
    tmp.remove();
  });

  it("a rule with block: true answers unsubscribed, then blocks the bare JID as the request spelled it", async () => {
    const { blocking, calls } = fakeBlocking(wire, blocked);
    handler(RULES, blocking);
    await request("Spam@X.test/phone");
    expect(wire).toEqual(["unsubscribed spam@x.test", "block spam@x.test bare"]);
    expect(calls[0]!.options).toEqual({ scope: "bare", by: "rules", rule: "spammers", reason: 'jid spam@x.test matches rule "spammers"' });
    expect(decisions[0]).toMatchObject({ jid: "spam@x.test", action: "reject", sent: ["unsubscribed"], block: { jid: "spam@x.test", scope: "bare", outcome: "blocked" } });
  });

  it("scope domain and for: the domain is blocked for 7d, and the audit line carries the outcome", async () => {
    const { blocking, calls } = fakeBlocking(wire, blocked);
    handler(RULES, blocking);
    await request("bot1@eu.spam.test");
    expect(wire).toEqual(["unsubscribed bot1@eu.spam.test", "block bot1@eu.spam.test domain"]);
    expect(calls[0]!.options).toEqual({ scope: "domain", forMs: 604_800_000, by: "rules", rule: "flooders", reason: "known flood source" });
    const [line] = await decisionLines();
    expect(line).toMatchObject({
      kind: "decision",
      from: "bot1@eu.spam.test",
      action: "reject",
      rule: "flooders",
      sent: ["unsubscribed"],
      block: { jid: "eu.spam.test", scope: "domain", outcome: "blocked", expires: "2030-01-08T00:00:00.000Z" },
    });
  });

  it("the block iq names the sender in the request's spelling (A-labels stay A-labels)", async () => {
    const { blocking, calls } = fakeBlocking(wire, blocked);
    handler({ default: "reject", rules: [{ name: "idn", match: { domain: "bücher.example" }, action: "reject", block: true }] }, blocking);
    await request("spam@xn--bcher-kva.example");
    expect(wire).toEqual(["unsubscribed spam@xn--bcher-kva.example", "block spam@xn--bcher-kva.example bare"]);
    expect(calls[0]!.jid).toBe("spam@xn--bcher-kva.example");
    expect(decisions[0]!.jid).toBe("spam@bücher.example");
  });

  it("a failing block keeps the reject: unsubscribed sent, outcome failed with the error, a warning", async () => {
    const { blocking } = fakeBlocking(wire, () => {
      throw new Error("the server refused");
    });
    handler(RULES, blocking);
    await request("spam@x.test");
    await request("a@friends.test"); // and the handler goes on
    expect(wire).toEqual(["unsubscribed spam@x.test", "block spam@x.test bare", "subscribed a@friends.test"]);
    expect(decisions[0]).toMatchObject({ action: "reject", sent: ["unsubscribed"], block: { jid: "spam@x.test", scope: "bare", outcome: "failed", error: "the server refused" } });
    expect((await decisionLines())[0]).toMatchObject({ action: "reject", sent: ["unsubscribed"], block: { outcome: "failed" } });
    expect(env.logs.messages()).toContain("sender rejected but not blocked: the server refused the block");
  });

  it("the outcome the blocking part gives (unsupported, already) is the decision's, unchanged", async () => {
    const outcomes: BlockOutcome["outcome"][] = ["unsupported", "already"];
    const { blocking } = fakeBlocking(wire, (jid) => ({ jid, scope: "bare", outcome: outcomes.shift()! }));
    handler(RULES, blocking);
    await request("spam@x.test");
    await request("spam@x.test");
    expect(decisions.map((d) => d.block?.outcome)).toEqual(["unsupported", "already"]);
    expect(wire.filter((w) => w.startsWith("unsubscribed"))).toHaveLength(2);
  });

  it("without a blocking part a block rejects only: outcome unsupported", async () => {
    handler(RULES, undefined);
    await request("bot1@eu.spam.test");
    expect(wire).toEqual(["unsubscribed bot1@eu.spam.test"]);
    expect(decisions[0]!.block).toEqual({ jid: "eu.spam.test", scope: "domain", outcome: "unsupported" });
  });

  it("rules without block, plugin answers and an admin's deny never block", async () => {
    const { blocking, calls } = fakeBlocking(wire, blocked);
    const h = handler(RULES, blocking);
    h.hooks.subscriptionRequest.tap({ name: "early", order: -1 }, (r) => (r.jid === "spam2@eu.spam.test" ? { action: "reject", rule: "flooders" } : undefined));
    await request("a@plain.test");
    await request("stranger@else.test");
    await request("spam2@eu.spam.test"); // a plugin naming the rule is still not the rule
    await h.deny("spam@x.test", { by: "admin@x.org" });
    expect(calls).toEqual([]);
    expect(decisions.every((d) => d.block === undefined)).toBe(true);
    expect(wire).toEqual(["unsubscribed a@plain.test", "unsubscribed stranger@else.test", "unsubscribed spam2@eu.spam.test", "unsubscribed spam@x.test"]);
  });

  it("over: block rejects and blocks with rateLimit.block, decided by rate-limit", async () => {
    const { blocking, calls } = fakeBlocking(wire, blocked);
    handler({ ...RULES, rules: [], rateLimit: { perDomain: "1/min", over: "block", block: { scope: "domain", for: "1h" } } }, blocking);
    await request("a@flood.test");
    await request("b@flood.test");
    expect(wire).toEqual(["unsubscribed a@flood.test", "unsubscribed b@flood.test", "block b@flood.test domain"]);
    expect(calls[0]!.options).toEqual({ scope: "domain", forMs: 3_600_000, by: "rate-limit", reason: "over the per-domain rate limit" });
    expect(decisions.map((d) => `${d.action} ${d.decidedBy} ${d.block?.outcome ?? "-"}`)).toEqual(["reject default -", "reject rate-limit blocked"]);
  });

  it("over: block without rateLimit.block blocks the bare JID until lifted", async () => {
    const { blocking, calls } = fakeBlocking(wire, blocked);
    handler({ rateLimit: { perDomain: "1/min", over: "block" } }, blocking);
    await request("a@flood.test");
    await request("b@flood.test");
    expect(calls.map((c) => [c.jid, c.options.scope, c.options.forMs])).toEqual([["b@flood.test", "bare", undefined]]);
  });

  it("over the total limit alone, over: block only rejects: a request during another domain's flood is not blocked", async () => {
    const { blocking, calls } = fakeBlocking(wire, blocked);
    handler({ rateLimit: { perDomain: "5/min", total: "1/min", over: "block", block: { scope: "domain" } } }, blocking);
    await request("a@flood.test");
    await request("b@innocent.test");
    expect(calls).toEqual([]);
    expect(wire).toEqual(["unsubscribed a@flood.test", "unsubscribed b@innocent.test"]);
    expect(decisions.map((d) => `${d.action} ${d.decidedBy} ${d.reason} ${d.block?.outcome ?? "-"}`)).toEqual([
      "reject default no rule or plugin decided -",
      "reject rate-limit over the total rate limit -",
    ]);
  });

  it("live explain shows the block and whether this session's server supports blocking", () => {
    const { blocking } = fakeBlocking(wire, blocked);
    const h = handler(RULES, blocking);
    expect(h.explain("x@eu.spam.test")).toMatchObject({ action: "reject", rule: "flooders", block: { scope: "domain", forMs: 604_800_000 }, blockingSupported: true });
    (blocking as { supported: boolean }).supported = false;
    expect(h.explain("x@eu.spam.test").blockingSupported).toBe(false);
    expect(h.explain("a@friends.test")).not.toHaveProperty("block");
  });
});

describe("blockSender", () => {
  it("names the entry a failure or a missing part would have added", async () => {
    const spec = { scope: "domain" as const, forMs: 1_000 };
    expect(await blockSender(undefined, { jid: "a@b.test", address: "a@b.test", spec, by: "rules", rule: "r", reason: "x" })).toEqual({ jid: "b.test", scope: "domain", outcome: "unsupported" });
    const throwing = { supported: true, block: () => Promise.reject(new Error("timeout")) };
    expect(await blockSender(throwing, { jid: "a@b.test", address: "a@b.test", spec: { scope: "bare" }, by: "rules", rule: undefined, reason: "x" })).toEqual({ jid: "a@b.test", scope: "bare", outcome: "failed", error: "timeout" });
  });
});
