/**
 * The admin plugin's blocking commands against the real server (Prosody and ejabberd): an admin's
 * `block` stops a contact's messages at the server (the bot never receives them), `blocked` lists
 * the entry as the admin's with its expiry, `unblock` lets the contact through again, a short
 * `block … 2s` is lifted by the bot when it falls due, and a person's entry is named as such and
 * left alone. A server without XEP-0191 gets plain words and no blocking iq.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BotConfig } from "../../bots/config/load.ts";
import type { BotRuntime } from "../../bots/runtime.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import admin from "../../plugins/admin/index.ts";
import roster from "../../plugins/roster/index.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { auditLineIn, sendCommand } from "../helpers/admin-chat.ts";
import { startTestBot } from "../helpers/bot.ts";
import { useTestServer } from "../helpers/server-fixture.ts";

const NS_BLOCKING = "urn:xmpp:blocking";
const BOT = "blockbot@a.test";
const BOT_PASSWORD = "bot-password";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bot with the roster and admin plugins (boss@b.test is the admin), recording every stanza both ways. */
async function startBlockBot(server: XmppTestServer) {
  const sent: XmlElement[] = [];
  const received: XmlElement[] = [];
  const { runtime, config } = await startTestBot({
    server,
    user: "blockbot",
    password: BOT_PASSWORD,
    plugins: [
      { definition: roster, config: { subscriptions: { default: "reject", rules: [] } } },
      { definition: admin, config: { admins: ["boss@b.test"], notifyOnAsk: false } },
    ],
    beforeStart: (rt) => {
      rt.connection.client.on("send", (el: XmlElement) => void sent.push(el));
      rt.connection.client.on("element", (el: XmlElement) => void received.push(el));
    },
  });
  await runtime.service("roster").whenLoaded();
  return { runtime, config, sent, received };
}

/** The JIDs in the bot's blocking iqs of one kind (<block/> or <unblock/>), in the order sent. */
function blockingItems(sent: readonly XmlElement[], kind: "block" | "unblock"): string[] {
  return sent
    .filter((s) => s.name === "iq" && s.attrs.type === "set")
    .flatMap((s) => s.getChild(kind, NS_BLOCKING)?.getChildren("item") ?? [])
    .map((i) => i.attrs.jid as string);
}

describe("admin blocking commands", () => {
  const fixture = useTestServer({ hosts: ["a.test", "b.test", "c.test", "d.test"] });
  let runtime: BotRuntime;
  let config: BotConfig;
  let sent: XmlElement[];
  let received: XmlElement[];
  let boss: TestClient;
  const command = (text: string) => sendCommand(BOT, boss, text);
  const auditLine = (kind: string, pred: (l: Record<string, unknown>) => boolean) => auditLineIn(config.dataDir, kind, pred);

  /**
   * Sends a headline (not a command, so the admin plugin stays quiet) from the contact to the bot's
   * full JID, and tells whether it went over the wire to the bot within `ms`. (To the bare JID,
   * Prosody at times dropped the first headline of a fresh session, blocked or not.)
   */
  async function reaches(from: TestClient, ms = 1_000): Promise<boolean> {
    const body = `ping ${Math.random().toString(36).slice(2)}`;
    await from.send(xml("message", { to: runtime.connection.fullJid, type: "headline" }, xml("body", {}, body)));
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (received.some((s) => s.name === "message" && s.getChildText("body") === body)) return true;
      await sleep(20);
    }
    return false;
  }

  beforeAll(async () => {
    ({ runtime, config, sent, received } = await startBlockBot(fixture.server));
    boss = await fixture.contact("boss@b.test");
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it("block stops the contact's messages at the server; blocked lists it as the admin's with its expiry; unblock lets them through", async () => {
    const spam = await fixture.contact("spam@c.test");
    expect(await reaches(spam)).toBe(true); // the control: delivered while not blocked

    expect(await command("block xmpp:Spam@C.test/phone 1h")).toMatch(/^Blocked spam@c\.test at the server until \d{4}-\d\d-\d\d \d\d:\d\d UTC \((1h|59m \d+s)\)\.$/);
    expect(blockingItems(sent, "block")).toEqual(["spam@c.test"]);
    expect(await reaches(spam)).toBe(false);
    // Both servers drop it silently: the sender gets no error back.
    expect(spam.received.filter((s) => s.name === "message" && s.attrs.type === "error")).toEqual([]);

    const listed = (await command("blocked")).split("\n");
    expect(listed[0]).toBe("1 entry blocked (1 by the bot, 0 not the bot):");
    expect(listed[1]).toMatch(/^spam@c\.test - admin:boss@b\.test, \d+s ago, expires in (1h|59m \d+s)$/);
    expect(await auditLine("admin", (l) => l.command === "block spam@c.test 1h")).toMatchObject({ from: "boss@b.test", allowed: true, result: "ok" });
    expect(await auditLine("block", (l) => l.jid === "spam@c.test")).toMatchObject({ by: "admin:boss@b.test", expires: expect.any(String) });

    expect(await command("unblock spam@c.test")).toBe("Unblocked spam@c.test. It was added by admin:boss@b.test.");
    expect(blockingItems(sent, "unblock")).toEqual(["spam@c.test"]);
    expect(await reaches(spam)).toBe(true);
    expect(await command("blocked")).toBe("The blocklist is empty.");
    expect(await command("unblock spam@c.test")).toBe("spam@c.test is not blocked; nothing to lift.");
    expect(blockingItems(sent, "unblock")).toEqual(["spam@c.test"]); // nothing more sent
  });

  it("a domain block holds for every account of the domain", async () => {
    const [one, two] = [await fixture.contact("one@d.test"), await fixture.contact("two@d.test")];
    expect(await command("block @D.test")).toBe('Blocked d.test (domain) at the server, with no expiry: "unblock d.test" lifts it.');
    expect(blockingItems(sent, "block").at(-1)).toBe("d.test");
    expect(await Promise.all([reaches(one), reaches(two)])).toEqual([false, false]);
    expect(await command("explain two@d.test")).toContain("\nblocked at the server: d.test (domain) - admin:boss@b.test, ");
    expect((await command("unblock two@d.test")).split("\n")).toEqual([
      "two@d.test is not blocked; nothing to lift.",
      'It is blocked by the entry d.test (domain): send "unblock d.test" to lift that.',
    ]);
    expect(await command("unblock d.test")).toBe("Unblocked d.test (domain). It was added by admin:boss@b.test.");
    expect(await Promise.all([reaches(one), reaches(two)])).toEqual([true, true]);
  });

  it("a short block is lifted by the bot when it falls due", async () => {
    const brief = await fixture.contact("brief@c.test");
    expect(await command("block brief@c.test for 2s")).toMatch(/^Blocked brief@c\.test at the server until .* UTC \(2s\)\.$/);
    expect(await reaches(brief, 700)).toBe(false);
    for (let i = 0; i < 100 && !blockingItems(sent, "unblock").includes("brief@c.test"); i++) await sleep(50);
    expect(blockingItems(sent, "unblock")).toContain("brief@c.test");
    expect(await auditLine("unblock", (l) => l.jid === "brief@c.test")).toMatchObject({ by: "expired" });
    expect(await reaches(brief)).toBe(true);
    expect(await command("blocked")).toBe("The blocklist is empty.");
  });

  it("an entry a person added is listed as not the bot's, left alone by block, and lifted by unblock", async () => {
    // Another client of the bot's account (a person with a phone) blocks troll@c.test.
    const phone = await fixture.connect({ jid: BOT, resource: "phone", password: BOT_PASSWORD });
    const result = phone.waitFor((s) => s.name === "iq" && s.attrs.id === "person-block");
    await phone.send(xml("iq", { type: "set", id: "person-block" }, xml("block", { xmlns: NS_BLOCKING }, xml("item", { jid: "troll@c.test" }))));
    expect((await result).attrs.type).toBe("result");
    const troll = await fixture.contact("troll@c.test");
    for (let i = 0; i < 50 && !runtime.service("roster").blocking.list().some((e) => e.jid === "troll@c.test"); i++) await sleep(20);

    expect((await command("blocked")).split("\n")).toEqual(["1 entry blocked (0 by the bot, 1 not the bot):", "troll@c.test - not the bot"]);
    const blocksBefore = blockingItems(sent, "block").length;
    expect(await command("block troll@c.test 1d")).toBe("troll@c.test is already blocked, by a person (not the bot): left as it is.");
    expect(blockingItems(sent, "block")).toHaveLength(blocksBefore);
    expect(await reaches(troll)).toBe(false);
    expect(await command("unblock troll@c.test")).toBe("Unblocked troll@c.test. It was a person's entry (not the bot's).");
    expect(blockingItems(sent, "unblock").at(-1)).toBe("troll@c.test");
    expect(await reaches(troll)).toBe(true);
    await phone.stop();
  });

  it("refuses to block the admin's own domain, and sends nothing", async () => {
    const blocksBefore = blockingItems(sent, "block").length;
    expect(await command("block b.test")).toBe("That would block your own messages to the bot; nothing blocked.");
    expect(await command("block a.test 1h")).toBe("That would block the bot's own account (or its server); nothing blocked.");
    expect(blockingItems(sent, "block")).toHaveLength(blocksBefore);
  });

  it("plan adds the blocklist plan", async () => {
    expect(await command("plan")).toMatch(/\nBlocklist: nothing to change\.$/);
  });
});

describe("admin blocking commands on a server without XEP-0191", () => {
  let server: XmppTestServer;
  let runtime: BotRuntime;
  let sent: XmlElement[];
  let boss: TestClient;
  const command = (text: string) => sendCommand(BOT, boss, text);

  beforeAll(async () => {
    server = await startServer({ blocking: false });
    ({ runtime, sent } = await startBlockBot(server));
    server.createAccount("boss", "b.test", "pw");
    boss = await TestClient.connect({ service: server.service, jid: "boss@b.test", password: "pw", roster: true, presence: true });
  });
  afterAll(async () => {
    await boss?.stop();
    await runtime?.stop();
    await server?.stop();
  });

  it("block, blocked, unblock and plan say the server lacks it; no blocking iq goes out", async () => {
    expect(await command("block spam@c.test 1h")).toBe("Nothing blocked: the server does not support blocking (no XEP-0191).");
    expect(await command("blocked")).toBe("No blocklist: the server does not support blocking (no XEP-0191).");
    expect(await command("unblock spam@c.test")).toBe("The server does not support blocking (no XEP-0191); nothing lifted.");
    expect(await command("plan")).toMatch(/\nBlocklist: the server does not support blocking \(no XEP-0191\); rules with block reject only\.$/);
    expect(sent.filter((s) => s.name === "iq" && (s.getChild("block", NS_BLOCKING) || s.getChild("unblock", NS_BLOCKING) || s.getChild("blocklist", NS_BLOCKING)))).toEqual([]);
  });
});
