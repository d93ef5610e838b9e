/**
 * RFC 6121 §3 on the wire (checklist 18, 20 and the already-subscribed request): what the bot
 * sends, recorded from its own connection, and what the contact receives through the server.
 */
import { describe, expect, it } from "vitest";
import type { XmlElement } from "../../bots/xmpp.ts";
import { RosterCache } from "../../plugins/roster/cache.ts";
import { xml, type TestClient } from "../../scripts/xmpp-client.ts";
import { memoryLogger } from "../helpers/logger.ts";
import { NS_ROSTER, sentPresences, startRosterBot } from "../helpers/roster-bot.ts";
import { useTestServer } from "../helpers/server-fixture.ts";
import { until } from "../helpers/wait.ts";

const fixture = useTestServer();
const contact = (jid: string): Promise<TestClient> => fixture.contact(jid);

const isAnswerFrom = (from: string) => (s: XmlElement) =>
  s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === from && ["subscribe", "subscribed", "unsubscribed"].includes(s.attrs.type ?? "");

/** The next subscription presence the contact receives from `from` (bare). */
const answerFrom = (c: TestClient, from: string, ms = 5_000) => c.waitFor(isAnswerFrom(from), ms);

/** The subscription presences the contact received so far from `from` (bare). */
const answersFrom = (c: TestClient, from: string) => c.received.filter(isAnswerFrom(from));

const subscribeWithId = (c: TestClient, to: string, id: string) => c.send(xml("presence", { to, type: "subscribe", id }));

describe("answers go to the bare JID without the request's id (checklist 18)", () => {
  it("accept, mutual and reject of requests that carry an id", async () => {
    const bot = await startRosterBot(fixture.server, {
      user: "idbot",
      config: {
        subscriptions: {
          default: "reject",
          rules: [
            { name: "partners", match: { domain: "c.test" }, action: "accept" },
            { name: "staff", match: { jid: "staff@b.test" }, action: "mutual" },
          ],
        },
      },
    });
    try {
      const partner = await contact("partner@c.test");
      const staff = await contact("staff@b.test");
      const stranger = await contact("stranger@b.test");
      const cases: [TestClient, string, string[]][] = [
        [partner, "req-accept-1", ["subscribed"]],
        [staff, "req-mutual-1", ["subscribe", "subscribed"]],
        [stranger, "req-reject-1", ["unsubscribed"]],
      ];
      for (const [c, id, types] of cases) {
        await subscribeWithId(c, bot.jid, id);
        await until(() => answersFrom(c, bot.jid).length >= types.length);
        // What the bot sent: to the bare JID, no id at all (so none copied).
        const out = bot.sent.filter((s) => s.name === "presence" && s.attrs.to === c.bare);
        expect(out.map((s) => s.attrs.type)).toEqual(types);
        for (const s of out) expect(s.attrs).toEqual({ to: c.bare, type: s.attrs.type });
        // What the contact received: the answers, none carrying the request's id.
        const got = answersFrom(c, bot.jid);
        expect(got.map((s) => s.attrs.type)).toEqual(types);
        for (const s of got) expect(s.attrs.id).not.toBe(id);
      }
    } finally {
      await bot.runtime.stop();
    }
  });
});

describe("a request from a contact who already has a subscription", () => {
  it("is answered subscribed again (to the bare JID, no id) and audited when the server delivers it", async (t) => {
    // Neither server delivers a `subscribe` from a contact it records as subscribed (it answers
    // itself, RFC 6121 §3.1.3); one arrives when its state and the bot's copy disagree. Made here
    // with a copy that is stale but current by version: the bot's cache says `from`, the server's
    // roster (same version) says `none`, so the server answers the versioned get with "no change".
    fixture.server.createAccount("stale", "b.test", "pw");
    const first = await startRosterBot(fixture.server, { user: "subbot" });
    await first.service.set({ jid: "stale@b.test", name: "Stale" });
    const ver = first.service.version;
    await first.runtime.stop();
    const cache = new RosterCache(first.cacheFile, first.jid, memoryLogger().logger, 0);
    const cached = cache.load()!;
    expect(cached.ver).toBe(ver);
    const items = [...cached.items.values()].map((i) => (i.jid === "stale@b.test" ? { ...i, subscription: "from" as const } : i));
    cache.scheduleSave(() => ({ ver, items }));
    await cache.flush();

    const bot = await startRosterBot(fixture.server, { user: "subbot", dataDir: first.dataDir });
    try {
      if (!bot.service.features.versioning) t.skip(`${fixture.server.kind} here does not advertise roster versioning: the full roster corrects the copy`);
      expect(bot.service.get("stale@b.test")?.subscription).toBe("from"); // the server's roster says none
      const stale = await contact("stale@b.test");
      const answered = answerFrom(stale, bot.jid);
      await subscribeWithId(stale, bot.jid, "again-1");
      const answer = await answered;
      expect(answer.attrs.type).toBe("subscribed");
      expect(answer.attrs.id).not.toBe("again-1");
      expect(sentPresences(bot, "subscribed").map((s) => s.attrs)).toEqual([{ to: "stale@b.test", type: "subscribed" }]);
      const line = (await bot.audit()).find((l) => l.kind === "decision" && l.from === "stale@b.test");
      expect(line).toMatchObject({ action: "accept", decidedBy: "already-subscribed", sent: ["subscribed"] });
      // The server now records the subscription too, and pushes it (the copy already said so).
      await until(() => bot.received.some((s) => s.name === "iq" && s.attrs.type === "set" && s.getChild("query", NS_ROSTER)?.getChild("item")?.attrs.subscription === "from"));
      expect(bot.service.get("stale@b.test")?.subscription).toBe("from");
    } finally {
      await bot.runtime.stop();
    }
  });
});

describe("a contact the server records as subscribed (checklist 17)", () => {
  it("asks again: the server answers for the bot, which sees no request and decides nothing", async () => {
    const bot = await startRosterBot(fixture.server, { user: "knownbot", config: { subscriptions: { default: "accept" } } });
    try {
      const known = await contact("known@b.test");
      await known.presence(bot.jid, "subscribe");
      await until(() => bot.service.get(known.bare)?.subscription === "from");
      const requestsBefore = bot.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribe").length;
      const auditBefore = (await bot.audit()).length;

      // Prosody answers for the bot and then drops its own `subscribed` at the contact's side (it
      // changes nothing there), so the contact sees nothing either; the request itself is the check.
      await known.presence(bot.jid, "subscribe");
      await known.client.iqCaller.request(xml("iq", { type: "get", to: "b.test" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
      await new Promise((r) => setTimeout(r, 500));
      expect(bot.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribe")).toHaveLength(requestsBefore);
      expect(sentPresences(bot, "subscribed")).toHaveLength(1); // the first answer only
      expect(await bot.audit()).toHaveLength(auditBefore);
    } finally {
      await bot.runtime.stop();
    }
  });
});

describe("inbound unsubscribe (checklist 20)", () => {
  for (const onUnsubscribe of ["keep", "remove"] as const) {
    it(`onUnsubscribe: ${onUnsubscribe}`, async () => {
      const user = `unsub${onUnsubscribe}`;
      const bot = await startRosterBot(fixture.server, { user, config: { subscriptions: { default: "accept", onUnsubscribe } } });
      try {
        const leaver = await contact(`leaver-${onUnsubscribe}@b.test`);
        const approved = answerFrom(leaver, bot.jid);
        await leaver.presence(bot.jid, "subscribe");
        expect((await approved).attrs.type).toBe("subscribed");
        await until(() => bot.service.get(leaver.bare)?.subscription === "from");

        await leaver.presence(bot.jid, "unsubscribe");
        if (onUnsubscribe === "remove") {
          await until(() => bot.service.get(leaver.bare) === undefined);
          expect(bot.rosterSets().map((i) => i.attrs)).toEqual([{ jid: leaver.bare, subscription: "remove" }]);
          expect((await bot.audit()).find((l) => l.kind === "roster")).toMatchObject({ op: "remove", jid: leaver.bare, by: "onUnsubscribe", ok: true });
        } else {
          // The server's push shows the cancelled subscription; the contact stays, nothing is sent.
          await until(() => bot.service.get(leaver.bare)?.subscription === "none");
          await new Promise((r) => setTimeout(r, 300));
          expect(bot.service.get(leaver.bare)).toBeDefined();
          expect(bot.rosterSets()).toEqual([]);
        }
      } finally {
        await bot.runtime.stop();
      }
    });
  }

  it("an unsubscribe clears a held request, which is not redelivered at the next login", async () => {
    const config = { subscriptions: { default: "reject", rules: [{ name: "held", match: { jid: "waiter@c.test" }, action: "ask" }] } };
    const bot = await startRosterBot(fixture.server, { user: "heldbot", config });
    try {
      const waiter = await contact("waiter@c.test");
      await waiter.presence(bot.jid, "subscribe");
      await until(() => bot.service.subscriptions.pending().length === 1);
      expect(bot.service.subscriptions.pending().map((p) => p.jid)).toEqual(["waiter@c.test"]);
      await waiter.presence(bot.jid, "unsubscribe");
      if (fixture.server.kind === "ejabberd") {
        // ejabberd 23.01 drops the pending request without passing the unsubscribe on: the bot
        // cannot know, and the held entry stays until a person answers it (README, Server notes).
        await new Promise((r) => setTimeout(r, 1000));
        expect(bot.service.subscriptions.pending().map((p) => p.jid)).toEqual(["waiter@c.test"]);
      } else {
        await until(() => bot.service.subscriptions.pending().length === 0);
      }
      expect(sentPresences(bot, "subscribed")).toEqual([]);
      expect(sentPresences(bot, "unsubscribed")).toEqual([]);
    } finally {
      await bot.runtime.stop();
    }
    // The server dropped its pending request too: nothing is redelivered, nothing held again.
    const again = await startRosterBot(fixture.server, { user: "heldbot", dataDir: bot.dataDir, config });
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(again.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribe")).toEqual([]);
      if (fixture.server.kind !== "ejabberd") expect(again.service.subscriptions.pending()).toEqual([]);
    } finally {
      await again.runtime.stop();
    }
  });
});
