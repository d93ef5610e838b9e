/**
 * Blocking at the server (XEP-0191) on the wire: what the bot sends and what the server then stops.
 * A second resource of the bot's account stands for a person's client (manual entries, removals).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { XmlElement } from "../../bots/xmpp.ts";
import { NS_BLOCKING, NS_DISCO_INFO } from "../../plugins/roster/blocking/wire.ts";
import { UNSUPPORTED_WARNING } from "../../plugins/roster/blocking/server-blocklist.ts";
import { xml, type TestClient } from "../../scripts/xmpp-client.ts";
import { startRosterBot, type RosterBot } from "../helpers/roster-bot.ts";
import { useTestServer } from "../helpers/server-fixture.ts";
import { pause, until } from "../helpers/wait.ts";

const BOT_PASSWORD = "bot-password"; // testBotConfig's default

const fixture = useTestServer({ hosts: ["a.test", "b.test", "spam.test"] });

/** The XEP-0191 iqs the bot sent: get (blocklist), block, unblock, with their items. */
function blockingIqs(bot: RosterBot): { op: string; items: string[]; index: number }[] {
  return bot.sent.flatMap((s, index) => {
    if (s.name !== "iq") return [];
    const payload = s.children.find((c): c is XmlElement => typeof c !== "string" && c.attrs.xmlns === NS_BLOCKING);
    return payload ? [{ op: payload.name, items: payload.getChildren("item").map((i) => i.attrs.jid as string), index }] : [];
  });
}

/** Index of the bot's initial presence (no type, no addressee) in what it sent. */
const initialPresence = (bot: RosterBot) => bot.sent.findIndex((s) => s.name === "presence" && !s.attrs.type && !s.attrs.to);

const messagesFrom = (bot: RosterBot, bare: string) => bot.received.filter((s) => s.name === "message" && (s.attrs.from ?? "").split("/")[0] === bare);
const requestsFrom = (bot: RosterBot, bare: string) =>
  bot.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribe" && (s.attrs.from ?? "").split("/")[0] === bare);

/**
 * Sends a message from `blocked`, then one from `witness`, and waits for the witness's: the server
 * has then handled the first (one server, in order), so its absence at the bot is meaningful.
 */
async function messageThenWitness(bot: RosterBot, blocked: TestClient, witness: TestClient, body: string): Promise<void> {
  await blocked.send(xml("message", { to: bot.jid, type: "chat" }, xml("body", {}, body)));
  await witness.send(xml("message", { to: bot.jid, type: "chat" }, xml("body", {}, `witness ${body}`)));
  await until(() => messagesFrom(bot, witness.bare).some((m) => m.getChildText("body") === `witness ${body}`), 5_000, `the witness's message "${body}"`);
  await pause(100);
}

/** Another client of the bot's account (a person's), which fetched the blocklist so it gets pushes. */
async function personClient(bot: RosterBot): Promise<TestClient> {
  const person = await fixture.connect({ jid: bot.jid, password: BOT_PASSWORD, resource: "person" });
  person.client.iqCallee.set(NS_BLOCKING, "block", () => true);
  person.client.iqCallee.set(NS_BLOCKING, "unblock", () => true);
  await person.client.iqCaller.request(xml("iq", { type: "get" }, xml("blocklist", { xmlns: NS_BLOCKING })));
  return person;
}

const personSets = (person: TestClient, op: "block" | "unblock", ...jids: string[]) =>
  person.client.iqCaller.request(xml("iq", { type: "set" }, xml(op, { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid })))));

async function auditOf(bot: RosterBot, kind: string): Promise<Record<string, unknown>[]> {
  return (await bot.audit()).filter((l) => l.kind === kind);
}

const ownedFile = (bot: RosterBot) => JSON.parse(readFileSync(path.join(bot.dataDir, "plugins", "roster", "blocks.json"), "utf8")) as { blocks: { jid: string }[] };

describe("blocking at the server (XEP-0191)", () => {
  it("asks the server's disco#info and fetches the blocklist at session start, before initial presence", async () => {
    const bot = await startRosterBot(fixture.server, { user: "fetchbot" });
    try {
      const disco = bot.sent.findIndex((s) => s.name === "iq" && s.attrs.to === "a.test" && s.getChild("query", NS_DISCO_INFO));
      const [get] = blockingIqs(bot);
      expect(disco).toBeGreaterThanOrEqual(0);
      expect(get).toMatchObject({ op: "blocklist", items: [] });
      expect(get!.index).toBeGreaterThan(disco);
      await until(() => initialPresence(bot) !== -1);
      expect(get!.index).toBeLessThan(initialPresence(bot));
      // The server's answer: the feature on its own disco#info.
      const info = bot.received.find((s) => s.name === "iq" && s.attrs.type === "result" && s.getChild("query", NS_DISCO_INFO) && s.attrs.from === "a.test");
      expect(info?.getChild("query", NS_DISCO_INFO)?.getChildren("feature").map((f) => f.attrs.var)).toContain(NS_BLOCKING);
      expect(bot.service.blocking.supported).toBe(true);
    } finally {
      await bot.runtime.stop();
    }
  });

  it("a blocked contact's message and next subscription request do not reach the bot; unblocked, they do again", async () => {
    const bot = await startRosterBot(fixture.server, { user: "apibot" });
    try {
      const mallory = await fixture.contact("mallory@b.test");
      const witness = await fixture.contact("witness@b.test");
      const outcome = await bot.service.blocking.block("mallory@b.test", { by: "api-test", reason: "spam" });
      expect(outcome).toMatchObject({ jid: "mallory@b.test", scope: "bare", outcome: "blocked" });
      expect(blockingIqs(bot).filter((i) => i.op === "block")).toEqual([expect.objectContaining({ items: ["mallory@b.test"] })]);
      if (fixture.server.kind === "ejabberd") {
        // ejabberd also pushes its privacy list "Blocked contacts" (mod_blocking keeps the list
        // there); the bot acknowledges it as XEP-0016 asks.
        await until(() => bot.received.some((s) => s.name === "iq" && s.attrs.type === "set" && !!s.getChild("query", "jabber:iq:privacy")));
        const privacyPush = bot.received.find((s) => s.name === "iq" && s.attrs.type === "set" && !!s.getChild("query", "jabber:iq:privacy"))!;
        await until(() => bot.sent.some((s) => s.name === "iq" && s.attrs.id === privacyPush.attrs.id));
        expect(bot.sent.find((s) => s.name === "iq" && s.attrs.id === privacyPush.attrs.id)?.attrs.type).toBe("result");
      }

      await messageThenWitness(bot, mallory, witness, "hello");
      // Both servers bounce it to the sender: service-unavailable, as if the bot were not there.
      const bounced = mallory.received.filter((m) => m.name === "message" && m.attrs.type === "error" && m.attrs.from === bot.jid);
      expect(bounced.map((m) => m.getChild("error")?.getChild("service-unavailable") !== undefined)).toEqual([true]);
      await mallory.presence(bot.jid, "subscribe");
      await witness.presence(bot.jid, "subscribe");
      await until(() => requestsFrom(bot, witness.bare).length > 0);
      await pause(100);
      expect(messagesFrom(bot, mallory.bare)).toEqual([]);
      expect(requestsFrom(bot, mallory.bare)).toEqual([]);
      expect(bot.service.blocking.list()).toEqual([expect.objectContaining({ jid: "mallory@b.test", owned: true, by: "api-test", reason: "spam" })]);
      expect(await auditOf(bot, "block")).toEqual([expect.objectContaining({ jid: "mallory@b.test", scope: "bare", by: "api-test", result: "blocked" })]);

      // The same path delivers once the entry is gone (so the silence above was the block's).
      expect(await bot.service.blocking.unblock("mallory@b.test", { by: "api-test" })).toEqual({ jid: "mallory@b.test", outcome: "unblocked" });
      expect(blockingIqs(bot).filter((i) => i.op === "unblock")).toEqual([expect.objectContaining({ items: ["mallory@b.test"] })]);
      await messageThenWitness(bot, mallory, witness, "again");
      await until(() => messagesFrom(bot, mallory.bare).length > 0);
    } finally {
      await bot.runtime.stop();
    }
  });

  it("a domain block holds for every account of that domain", async () => {
    const bot = await startRosterBot(fixture.server, { user: "domainbot" });
    try {
      const first = await fixture.contact("first@spam.test");
      const second = await fixture.contact("second@spam.test");
      const witness = await fixture.contact("witness2@b.test");
      const outcome = await bot.service.blocking.block("first@spam.test", { scope: "domain", by: "rules", rule: "flooders" });
      expect(outcome).toMatchObject({ jid: "spam.test", scope: "domain", outcome: "blocked" });
      expect(blockingIqs(bot).filter((i) => i.op === "block")).toEqual([expect.objectContaining({ items: ["spam.test"] })]);
      await second.presence(bot.jid, "subscribe");
      await messageThenWitness(bot, second, witness, "from the domain");
      await messageThenWitness(bot, first, witness, "from the first");
      expect(messagesFrom(bot, second.bare)).toEqual([]);
      expect(messagesFrom(bot, first.bare)).toEqual([]);
      expect(requestsFrom(bot, second.bare)).toEqual([]);
      expect(bot.service.blocking.blockedBy("anyone@spam.test")?.jid).toBe("spam.test");
      // A further block of one of its JIDs sends nothing: the domain entry covers it.
      expect(await bot.service.blocking.block("second@spam.test")).toMatchObject({ jid: "spam.test", outcome: "already" });
      expect(blockingIqs(bot).filter((i) => i.op === "block")).toHaveLength(1);
      await bot.service.blocking.unblock("spam.test");
    } finally {
      await bot.runtime.stop();
    }
  });

  it("expiry lifts the block at its time", async () => {
    const bot = await startRosterBot(fixture.server, { user: "expirybot" });
    try {
      const brief = await fixture.contact("brief@b.test");
      const witness = await fixture.contact("witness3@b.test");
      const outcome = await bot.service.blocking.block("brief@b.test", { forMs: 1_500, by: "rules" });
      const expires = Date.parse(outcome.expires!);
      await messageThenWitness(bot, brief, witness, "while blocked");
      expect(messagesFrom(bot, brief.bare)).toEqual([]);
      await until(() => blockingIqs(bot).some((i) => i.op === "unblock"), 5_000, "the unblock");
      const lifted = Date.now();
      expect(lifted).toBeGreaterThanOrEqual(expires);
      expect(lifted - expires).toBeLessThan(1_000);
      expect(blockingIqs(bot).filter((i) => i.op === "unblock")).toEqual([expect.objectContaining({ items: ["brief@b.test"] })]);
      await until(() => bot.service.blocking.list().length === 0);
      await messageThenWitness(bot, brief, witness, "after");
      expect(messagesFrom(bot, brief.bare).map((m) => m.getChildText("body"))).toEqual(["after"]);
      expect(await auditOf(bot, "unblock")).toEqual([expect.objectContaining({ jid: "brief@b.test", by: "expired", result: "unblocked" })]);
    } finally {
      await bot.runtime.stop();
    }
  });

  it("a block that fell due while the bot was down is lifted at the next session start", async () => {
    const first = await startRosterBot(fixture.server, { user: "downbot" });
    await first.service.blocking.block("late@b.test", { forMs: 1_000, by: "rules" });
    await first.runtime.stop();
    await pause(1_500);
    const bot = await startRosterBot(fixture.server, { user: "downbot", dataDir: first.dataDir });
    try {
      await until(() => initialPresence(bot) !== -1);
      const iqs = blockingIqs(bot);
      expect(iqs.map((i) => [i.op, i.items])).toEqual([
        ["blocklist", []],
        ["unblock", ["late@b.test"]],
      ]);
      expect(iqs[1]!.index).toBeLessThan(initialPresence(bot));
      expect(bot.service.blocking.list()).toEqual([]);
      expect(ownedFile(bot).blocks).toEqual([]);
    } finally {
      await bot.runtime.stop();
    }
  });

  it("a person's entries survive every session start, are listed as not the bot's, and are never lifted", async () => {
    const seed = await startRosterBot(fixture.server, { user: "manualbot" });
    const person = await personClient(seed);
    await personSets(person, "block", "manual@b.test");
    await until(() => seed.service.blocking.list().length === 1);
    expect(seed.service.blocking.list()).toEqual([{ jid: "manual@b.test", owned: false }]);
    // The bot's own block of it leaves it the person's.
    expect(await seed.service.blocking.block("manual@b.test", { forMs: 500 })).toMatchObject({ outcome: "already" });
    await seed.runtime.stop();
    for (let i = 0; i < 2; i++) {
      const bot = await startRosterBot(fixture.server, { user: "manualbot", dataDir: seed.dataDir });
      try {
        await until(() => initialPresence(bot) !== -1);
        expect(blockingIqs(bot).map((i) => i.op)).toEqual(["blocklist"]);
        expect(bot.service.blocking.list()).toEqual([{ jid: "manual@b.test", owned: false }]);
      } finally {
        await bot.runtime.stop();
      }
    }
    await personSets(person, "unblock", "manual@b.test");
  });

  it("a person removing a bot entry is respected: forgotten, not added again at the next session", async () => {
    const bot = await startRosterBot(fixture.server, { user: "removebot" });
    const person = await personClient(bot);
    await bot.service.blocking.block("pardoned@b.test", { by: "rules", rule: "spammers" });
    await bot.service.blocking.block("offline-pardon@b.test", { by: "rules", rule: "spammers" });
    await personSets(person, "unblock", "pardoned@b.test");
    await until(() => !bot.service.blocking.blockedBy("pardoned@b.test"), 5_000, "the push");
    expect(ownedFile(bot).blocks.map((b) => b.jid)).toEqual(["offline-pardon@b.test"]);
    expect(await auditOf(bot, "unblock")).toEqual([expect.objectContaining({ jid: "pardoned@b.test", by: "account", result: "forgotten" })]);
    await bot.runtime.stop();
    // The other one removed while the bot is down.
    await personSets(person, "unblock", "offline-pardon@b.test");
    const next = await startRosterBot(fixture.server, { user: "removebot", dataDir: bot.dataDir });
    try {
      await until(() => initialPresence(next) !== -1);
      expect(blockingIqs(next).map((i) => i.op)).toEqual(["blocklist"]);
      expect(next.service.blocking.list()).toEqual([]);
      expect(ownedFile(next).blocks).toEqual([]);
      expect((await auditOf(next, "unblock")).map((l) => [l.jid, l.by, l.result])).toEqual([
        ["pardoned@b.test", "account", "forgotten"],
        ["offline-pardon@b.test", "account", "forgotten"],
      ]);
    } finally {
      await next.runtime.stop();
    }
  });

  it("a blocklist push from another account is refused: an error answer, the list unchanged, a security log line", async () => {
    const bot = await startRosterBot(fixture.server, { user: "spoofbot" });
    try {
      await bot.service.blocking.block("kept@b.test");
      const mallory = await fixture.contact("spoofer@b.test");
      const botFull = bot.runtime.connection.fullJid!;
      const answer = await mallory.client.iqCaller
        .request(xml("iq", { type: "set", to: botFull }, xml("unblock", { xmlns: NS_BLOCKING }, xml("item", { jid: "kept@b.test" }))))
        .then(
          () => "result",
          (err: { condition?: string }) => err.condition,
        );
      expect(answer).toBe("service-unavailable");
      const errorSent = bot.sent.find((s) => s.name === "iq" && s.attrs.type === "error" && (s.attrs.to ?? "").startsWith("spoofer@b.test"));
      expect(errorSent?.getChild("error")?.getChild("service-unavailable")).toBeDefined();
      expect(bot.service.blocking.list()).toEqual([expect.objectContaining({ jid: "kept@b.test", owned: true })]);
      expect(bot.logs.find((l) => l.msg === "spoofed blocklist push rejected")).toMatchObject({ security: true });
      await bot.service.blocking.unblock("kept@b.test");
    } finally {
      await bot.runtime.stop();
    }
  });
});

describe("a server without XEP-0191", () => {
  const plain = useTestServer({ blocking: false });

  it("gets supported=false, block() unsupported with one warning per session, and nothing blocked on the wire", async () => {
    const bot = await startRosterBot(plain.server, { user: "plainbot" });
    try {
      expect(bot.service.blocking.supported).toBe(false);
      const disco = bot.received.find((s) => s.name === "iq" && s.attrs.type === "result" && s.getChild("query", NS_DISCO_INFO));
      expect(disco?.getChild("query", NS_DISCO_INFO)?.getChildren("feature").map((f) => f.attrs.var)).not.toContain(NS_BLOCKING);
      expect(await bot.service.blocking.block("x@b.test", { by: "rules" })).toEqual({ jid: "x@b.test", scope: "bare", outcome: "unsupported" });
      expect(await bot.service.blocking.block("y@c.test", { scope: "domain", by: "rules" })).toEqual({ jid: "c.test", scope: "domain", outcome: "unsupported" });
      expect(blockingIqs(bot)).toEqual([]); // not even the blocklist get
      expect(bot.logs.lines.filter((l) => l.msg === UNSUPPORTED_WARNING)).toHaveLength(1);
    } finally {
      await bot.runtime.stop();
    }
  });
});
