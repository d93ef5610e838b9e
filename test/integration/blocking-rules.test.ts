/**
 * Rules with `block` and `rateLimit.over: block` on the wire: the bot answers `unsubscribed`, then
 * blocks the sender (or its domain) at its own server with XEP-0191, and the server stops what the
 * sender sends next. On a server without XEP-0191 the request is only rejected.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { XmlElement } from "../../bots/xmpp.ts";
import { NS_BLOCKING } from "../../plugins/roster/blocking/wire.ts";
import { xml, type TestClient } from "../../scripts/xmpp-client.ts";
import { sentPresences, startRosterBot, type RosterBot } from "../helpers/roster-bot.ts";
import { useTestServer } from "../helpers/server-fixture.ts";
import { pause, until } from "../helpers/wait.ts";

const fixture = useTestServer({ hosts: ["a.test", "b.test", "spam.test", "flood.test"] });

const RULES = {
  default: "reject",
  rules: [
    { name: "spammers", match: { jid: "mallory@b.test" }, action: "reject", block: true },
    { name: "flooders", match: { domain: "spam.test" }, action: "reject", block: { scope: "domain", for: "1h" } },
  ],
};

/** Where in what the bot sent each XEP-0191 block went, with its items. */
function blockIqs(bot: RosterBot): { index: number; items: string[] }[] {
  return bot.sent.flatMap((s, index) => {
    const block = s.name === "iq" && s.attrs.type === "set" ? s.getChild("block", NS_BLOCKING) : undefined;
    return block ? [{ index, items: block.getChildren("item").map((i) => i.attrs.jid as string) }] : [];
  });
}

const fromBare = (s: XmlElement): string => (s.attrs.from ?? "").split("/")[0] ?? "";
const receivedFrom = (bot: RosterBot, bare: string, name: string, type?: string) =>
  bot.received.filter((s) => s.name === name && fromBare(s) === bare && (type === undefined || s.attrs.type === type));

/** The decision lines of the audit trail, once there are `count` of them. */
async function decisions(bot: RosterBot, count: number): Promise<Record<string, unknown>[]> {
  const end = Date.now() + 5_000;
  for (;;) {
    const lines = existsSync(path.join(bot.dataDir, "audit.log")) ? (await bot.audit()).filter((l) => l.kind === "decision") : [];
    if (lines.length >= count) return lines;
    if (Date.now() > end) throw new Error(`timed out waiting for ${count} decision line(s), have ${lines.length}`);
    await pause(20);
  }
}

/**
 * `sender` asks again and sends a message; then `witness` sends one. The server handles one
 * client's stanzas in order and the bot sees the witness's message: if the sender's had passed, it
 * would have come first. So their absence is the block's doing.
 */
async function triesAgain(bot: RosterBot, sender: TestClient, witness: TestClient, body: string): Promise<void> {
  await sender.presence(bot.jid, "subscribe");
  await sender.send(xml("message", { to: bot.jid, type: "chat" }, xml("body", {}, body)));
  await witness.send(xml("message", { to: bot.jid, type: "chat" }, xml("body", {}, `witness ${body}`)));
  await until(() => receivedFrom(bot, witness.bare, "message").some((m) => m.getChildText("body") === `witness ${body}`), 5_000, "the witness's message");
  await pause(100);
}

describe("rules with block", () => {
  it("a rule with block: true rejects the sender (unsubscribed on the wire), then blocks its bare JID; its next message and request do not reach the bot", async () => {
    const bot = await startRosterBot(fixture.server, { user: "rulebot", config: { subscriptions: RULES } });
    try {
      const mallory = await fixture.contact("mallory@b.test");
      const witness = await fixture.contact("witness@b.test");
      await mallory.presence(bot.jid, "subscribe");
      await until(() => blockIqs(bot).length === 1, 5_000, "the block iq");
      await mallory.waitFor((s) => s.name === "presence" && s.attrs.type === "unsubscribed", 5_000, true);

      const [unsubscribed] = sentPresences(bot, "unsubscribed");
      expect(unsubscribed!.attrs.to).toBe("mallory@b.test");
      const [block] = blockIqs(bot);
      expect(block!.items).toEqual(["mallory@b.test"]);
      expect(bot.sent.indexOf(unsubscribed!)).toBeLessThan(block!.index); // the answer first: the block would stop it
      expect((await decisions(bot, 1))[0]).toMatchObject({
        from: "mallory@b.test",
        action: "reject",
        decidedBy: "rules",
        rule: "spammers",
        sent: ["unsubscribed"],
        block: { jid: "mallory@b.test", scope: "bare", outcome: "blocked" },
      });
      expect(bot.service.blocking.blockedBy("mallory@b.test")).toMatchObject({ owned: true, by: "rules", rule: "spammers" });
      expect(bot.service.subscriptions.explain("mallory@b.test")).toMatchObject({ block: { scope: "bare" }, blockingSupported: true });

      await triesAgain(bot, mallory, witness, "let me in");
      expect(receivedFrom(bot, "mallory@b.test", "presence", "subscribe")).toHaveLength(1); // only the first
      expect(receivedFrom(bot, "mallory@b.test", "message")).toEqual([]);
      expect(blockIqs(bot)).toHaveLength(1);
      await bot.service.blocking.unblock("mallory@b.test");
    } finally {
      await bot.runtime.stop();
    }
  });

  it("scope domain blocks the sender's domain for the rule's time: a second account of that domain cannot reach the bot", async () => {
    const bot = await startRosterBot(fixture.server, { user: "domainrulebot", config: { subscriptions: RULES } });
    try {
      const first = await fixture.contact("first@spam.test");
      const second = await fixture.contact("second@spam.test");
      const witness = await fixture.contact("witness2@b.test");
      const before = Date.now();
      await first.presence(bot.jid, "subscribe");
      await until(() => blockIqs(bot).length === 1, 5_000, "the block iq");
      expect(blockIqs(bot)[0]!.items).toEqual(["spam.test"]);
      expect(sentPresences(bot, "unsubscribed").map((p) => p.attrs.to)).toEqual(["first@spam.test"]);
      const { block } = (await decisions(bot, 1))[0] as { block: { jid: string; scope: string; outcome: string; expires: string } };
      expect(block).toMatchObject({ jid: "spam.test", scope: "domain", outcome: "blocked" });
      expect(Date.parse(block.expires) - before).toBeGreaterThanOrEqual(3_600_000);
      expect(Date.parse(block.expires) - Date.now()).toBeLessThanOrEqual(3_600_000);

      await triesAgain(bot, second, witness, "hello from the same domain");
      expect(receivedFrom(bot, "second@spam.test", "presence")).toEqual([]);
      expect(receivedFrom(bot, "second@spam.test", "message")).toEqual([]);
      expect(blockIqs(bot)).toHaveLength(1);
      await bot.service.blocking.unblock("spam.test");
    } finally {
      await bot.runtime.stop();
    }
  });

  it("over: block under a burst from one domain: every request that reaches the bot is answered, and ONE block iq is sent", async () => {
    const N = 8;
    const subscriptions = { default: "reject", rateLimit: { perDomain: "1/min", over: "block", block: { scope: "domain" } } };
    const bot = await startRosterBot(fixture.server, { user: "floodbot", config: { subscriptions } });
    try {
      const crowd = await Promise.all(Array.from({ length: N }, (_, i) => fixture.contact(`f${i}@flood.test`)));
      const witness = await fixture.contact("witness3@b.test");
      await Promise.all(crowd.map((c) => c.presence(bot.jid, "subscribe")));
      await until(() => blockIqs(bot).length > 0, 5_000, "the block iq");
      // The witness's message comes after every request the server passed on.
      await witness.send(xml("message", { to: bot.jid, type: "chat" }, xml("body", {}, "after the burst")));
      await until(() => receivedFrom(bot, witness.bare, "message").length > 0);
      await pause(200);

      const reached = crowd.filter((c) => receivedFrom(bot, c.bare, "presence", "subscribe").length > 0).map((c) => c.bare);
      expect(reached.length).toBeGreaterThanOrEqual(2); // the first (within the limit) and at least one over it
      expect(blockIqs(bot).map((b) => b.items)).toEqual([["flood.test"]]);
      // Every request that reached the bot got its unsubscribed: even after the block, it clears the
      // request the server holds pending (Prosody delivers it; ejabberd bounces it with
      // not-acceptable, having cleared the request first).
      expect(sentPresences(bot, "unsubscribed").map((p) => p.attrs.to).sort()).toEqual([...reached].sort());
      const outcomes = (await decisions(bot, reached.length)).map((d) => `${d.decidedBy as string} ${(d.block as { outcome?: string } | undefined)?.outcome ?? "-"}`);
      expect(outcomes.filter((o) => o === "rate-limit blocked")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "default -")).toHaveLength(1);
      expect(outcomes.filter((o) => o === "rate-limit already")).toHaveLength(reached.length - 2);
      // What the servers make of an unsubscribed sent after the domain's block: ejabberd bounces it
      // (not-acceptable), Prosody passes it on; neither for one sent before the block iq.
      const blockIndex = blockIqs(bot)[0]!.index;
      const bounced = bot.received.filter((s) => s.name === "presence" && s.attrs.type === "error" && fromBare(s).endsWith("@flood.test")).map(fromBare);
      const answeredAfterBlock = sentPresences(bot, "unsubscribed").filter((p) => bot.sent.indexOf(p) > blockIndex).map((p) => p.attrs.to);
      if (fixture.server.kind === "ejabberd") expect(answeredAfterBlock).toEqual(expect.arrayContaining(bounced));
      else expect(bounced).toEqual([]);

      // Once the block holds, the domain's requests (a late account's, a second one) no longer reach the bot.
      const late = await fixture.contact("late@flood.test");
      await late.presence(bot.jid, "subscribe");
      await crowd[0]!.presence(bot.jid, "subscribe");
      await witness.send(xml("message", { to: bot.jid, type: "chat" }, xml("body", {}, "after the block")));
      await until(() => receivedFrom(bot, witness.bare, "message").length > 1);
      await pause(100);
      expect(bot.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribe" && fromBare(s).endsWith("@flood.test"))).toHaveLength(reached.length);
      expect(blockIqs(bot)).toHaveLength(1);
      console.log(`[${fixture.server.kind}] over: block, burst of ${N} from one domain: ${reached.length} reached the bot, 1 block iq, ${answeredAfterBlock.length} answered after it, ${bounced.length} bounced`);
      await bot.service.blocking.unblock("flood.test");
    } finally {
      await bot.runtime.stop();
    }
  });
});

describe("rules with block on a server without XEP-0191", () => {
  const plain = useTestServer({ hosts: ["a.test", "b.test"], blocking: false });

  it("rejects only: unsubscribed on the wire, no block iq, decision.block.outcome unsupported; explain says so", async () => {
    const bot = await startRosterBot(plain.server, { user: "plainrulebot", config: { subscriptions: RULES } });
    try {
      const mallory = await plain.contact("mallory@b.test");
      await mallory.presence(bot.jid, "subscribe");
      await mallory.waitFor((s) => s.name === "presence" && s.attrs.type === "unsubscribed", 5_000, true);
      expect((await decisions(bot, 1))[0]).toMatchObject({ action: "reject", sent: ["unsubscribed"], block: { jid: "mallory@b.test", scope: "bare", outcome: "unsupported" } });
      expect(blockIqs(bot)).toEqual([]);
      expect(bot.service.subscriptions.explain("mallory@b.test")).toMatchObject({ block: { scope: "bare" }, blockingSupported: false });
    } finally {
      await bot.runtime.stop();
    }
  });
});
