/**
 * The roster plugin against a real server (Prosody or ejabberd): RFC 6121 login, versioned cache, pushes (genuine and
 * spoofed), and roster changes with their error conditions.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { XmlElement } from "../../bots/xmpp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BotRuntime } from "../../bots/runtime.ts";
import { RosterError, type RosterService } from "../../plugins/roster/api.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { NS_ROSTER, startRosterBot } from "../helpers/roster-bot.ts";
import { until } from "../helpers/wait.ts";

let server: XmppTestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  if (process.env.DUMP_PROSODY_LOG) writeFileSync("/tmp/prosody-dump.log", server.readLog());
  await server?.stop();
});

/** A bot with the roster plugin, recording every roster event and stanza (test/helpers/roster-bot.ts). */
const rosterBot = (user: string, dataDir?: string) => startRosterBot(server, { user, dataDir });

function rosterGets(sent: XmlElement[]): XmlElement[] {
  return sent.filter((s) => s.name === "iq" && s.attrs.type === "get" && s.getChild("query", NS_ROSTER)).map((s) => s.getChild("query", NS_ROSTER)!);
}

describe("login and versioned cache", () => {
  it("fetches the full roster first, then asks with the stored ver and applies only offline changes", async () => {
    server.createAccount("cachebot", "a.test", "bot-password");
    server.writeRoster("cachebot", "a.test", [
      { jid: "alice@b.test", name: "Alice", subscription: "both", groups: ["Friends"] },
      { jid: "bob@c.test", subscription: "from" },
    ]);
    const first = await rosterBot("cachebot");
    const gets1 = rosterGets(first.sent);
    expect(gets1).toHaveLength(1);
    expect(gets1[0]!.attrs.ver).toBe(""); // Prosody advertises rosterver: ask for the full roster
    expect(first.service.features.versioning).toBe(true);
    expect(first.service.list().map((i) => i.jid).sort()).toEqual(["alice@b.test", "bob@c.test"]);
    expect(first.service.get("Alice@B.test")?.groups).toEqual(["Friends"]);
    // Initial presence only after the roster request (RFC 6121 §2.2).
    const iGet = first.sent.findIndex((s) => s.name === "iq" && s.getChild("query", NS_ROSTER));
    const iPres = first.sent.findIndex((s) => s.name === "presence" && !s.attrs.type);
    expect(iGet).toBeGreaterThanOrEqual(0);
    expect(iPres).toBeGreaterThan(iGet);
    const ver1 = first.service.version;
    await first.runtime.stop();

    // While the bot is down, another resource of its account changes the roster.
    const other = await TestClient.connect({ service: server.service, jid: "cachebot@a.test", password: "bot-password", resource: "phone" });
    await other.rosterSet("carol@b.test", { name: "Carol", groups: ["Work"] });
    await other.rosterSet("bob@c.test", { remove: true });
    await other.stop();

    const second = await rosterBot("cachebot", first.dataDir);
    const gets2 = rosterGets(second.sent);
    expect(gets2[0]!.attrs.ver).toBe(ver1);
    expect(second.service.list().map((i) => i.jid).sort()).toEqual(["alice@b.test", "carol@b.test"]);
    await until(() => second.events.length >= 2);
    expect(second.events.sort()).toEqual(["added carol@b.test reload", "removed bob@c.test reload"]);
    const ver2 = second.service.version;
    await second.runtime.stop();

    // Nothing changed while offline: the server answers with an empty result; the cached copy stands.
    const third = await rosterBot("cachebot", first.dataDir);
    expect(rosterGets(third.sent)[0]!.attrs.ver).toBe(ver2);
    expect(third.service.list().map((i) => i.jid).sort()).toEqual(["alice@b.test", "carol@b.test"]);
    expect(third.events).toEqual([]);
    await third.runtime.stop();
  });

  it("discards a corrupt cache with a warning and fetches the full roster", async () => {
    server.createAccount("corruptbot", "a.test", "bot-password");
    server.writeRoster("corruptbot", "a.test", [{ jid: "dave@b.test", subscription: "both" }]);
    const first = await rosterBot("corruptbot");
    await first.runtime.stop();
    const cacheFile = path.join(first.dataDir, "plugins", "roster", "roster.json");
    expect(JSON.parse(readFileSync(cacheFile, "utf8")).items).toHaveLength(1);
    writeFileSync(cacheFile, '{"format":1,"account":"corruptbot@a.test","ver":"7","items":[{"jid":');

    const second = await rosterBot("corruptbot", first.dataDir);
    expect(second.logs.messages().some((m) => m.includes("roster cache corrupt"))).toBe(true);
    expect(rosterGets(second.sent)[0]!.attrs.ver).toBe("");
    expect(second.service.list().map((i) => i.jid)).toEqual(["dave@b.test"]);
    await second.runtime.stop();
    expect(JSON.parse(readFileSync(cacheFile, "utf8")).items).toHaveLength(1);
  });
});

describe("roster pushes", () => {
  let bot: Awaited<ReturnType<typeof rosterBot>>;
  let runtime: BotRuntime;
  let service: RosterService;

  beforeAll(async () => {
    server.createAccount("pushbot", "a.test", "bot-password");
    bot = await rosterBot("pushbot");
    runtime = bot.runtime;
    service = bot.service;
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it("applies a push caused by another resource of the account, with events", async () => {
    const phone = await TestClient.connect({ service: server.service, jid: "pushbot@a.test", password: "bot-password", resource: "phone", roster: true });
    if (server.kind === "ejabberd") {
      // ejabberd refuses duplicate groups (bad-request, RFC 6121 §2.3.3); Prosody stores them once.
      await expect(phone.rosterSet("erin@c.test", { name: "Erin", groups: ["Ops", "Ops"] })).rejects.toMatchObject({ condition: "bad-request" });
      await phone.rosterSet("erin@c.test", { name: "Erin", groups: ["Ops"] });
    } else {
      await phone.rosterSet("erin@c.test", { name: "Erin", groups: ["Ops", "Ops"] });
    }
    await until(() => service.get("erin@c.test") !== undefined);
    expect(service.get("erin@c.test")).toMatchObject({ name: "Erin", groups: ["Ops"], subscription: "none" });
    await until(() => bot.events.includes("added erin@c.test push"));
    await phone.rosterSet("erin@c.test", { name: "Erin E.", groups: ["Ops", "Night"] });
    await until(() => bot.events.includes("updated erin@c.test push"));
    expect(service.inGroup("Night").map((i) => i.jid)).toEqual(["erin@c.test"]);
    await phone.stop();
  });

  it("rejects spoofed pushes: the copy is unchanged, no event fires, the sender gets an error", async () => {
    server.createAccount("mallory", "b.test", "pw");
    const mallory = await TestClient.connect({ service: server.service, jid: "mallory@b.test", password: "pw" });
    const phone = await TestClient.connect({ service: server.service, jid: "pushbot@a.test", password: "bot-password", resource: "evil" });
    const before = service.list();
    const eventsBefore = bot.events.length;
    const botFull = runtime.connection.fullJid!;
    const push = (items: XmlElement[]) => xml("iq", { type: "set", to: botFull }, xml("query", { xmlns: NS_ROSTER }, ...items));

    // From another account's full JID.
    const e1 = await mallory.client.iqCaller.request(push([xml("item", { jid: "mallory@b.test", subscription: "both" })])).catch((e) => e);
    expect(e1.condition).toBe("service-unavailable");
    // From another resource of the bot's own account.
    const e2 = await phone.client.iqCaller.request(push([xml("item", { jid: "x@b.test", subscription: "both" })])).catch((e) => e);
    expect(e2.condition).toBe("service-unavailable");
    const e3 = await mallory.client.iqCaller
      .request(push([xml("item", { jid: "y@b.test" }), xml("item", { jid: "z@b.test" })]))
      .catch((e) => e);
    expect(e3.name).toBe("StanzaError");

    await new Promise((r) => setTimeout(r, 200));
    expect(service.list()).toEqual(before);
    expect(bot.events.length).toBe(eventsBefore);
    const security = bot.logs.lines.filter((l) => l.security === true);
    expect(security.length).toBeGreaterThanOrEqual(3);
    expect(security.map((l) => l.from)).toContain(mallory.fullJid);
    expect(security.map((l) => l.from)).toContain(phone.fullJid);
    await mallory.stop();
    await phone.stop();
  });
});

describe("changing the roster", () => {
  let runtime: BotRuntime;
  let service: RosterService;

  beforeAll(async () => {
    server.createAccount("editbot", "a.test", "bot-password");
    const bot = await rosterBot("editbot");
    runtime = bot.runtime;
    service = bot.service;
  });
  afterAll(async () => {
    await runtime?.stop();
  });

  it("sets an item; the copy holds the server's echo (the set on the wire: checklist-pushes.test.ts)", async () => {
    const item = await service.set({ jid: "Frank@B.test", name: "Frank", groups: ["Team", "Team", "", "  ", "Ops"] });
    expect(item).toMatchObject({ jid: "frank@b.test", name: "Frank", groups: ["Ops", "Team"] });
    expect(service.get("frank@b.test")?.groups).toEqual(["Ops", "Team"]);
  });

  it("removing an unknown JID is a typed item-not-found (ejabberd answers result and nothing changes)", async () => {
    const before = service.list();
    const err = await service.remove("nobody@b.test").then(
      () => undefined,
      (e: unknown) => e,
    );
    if (server.kind === "ejabberd") {
      // ejabberd 23.01 acknowledges removing an item it does not have (RFC 6121 §2.5.3 says item-not-found).
      expect(err).toBeUndefined();
      expect(service.list()).toEqual(before);
      return;
    }
    expect(err).toBeInstanceOf(RosterError);
    expect(err).toMatchObject({ condition: "item-not-found", jid: "nobody@b.test", operation: "remove" });
  });

  it("adding yourself is a typed error on Prosody; ejabberd stores the item", async () => {
    const result = await service.set({ jid: "editbot@a.test" }).catch((e: unknown) => e);
    if (server.kind === "ejabberd") {
      // ejabberd lets an account hold itself in its roster; Prosody refuses with not-allowed.
      expect(result).toMatchObject({ jid: "editbot@a.test", subscription: "none" });
      await service.remove("editbot@a.test");
      expect(service.get("editbot@a.test")).toBeUndefined();
      return;
    }
    expect(result).toBeInstanceOf(RosterError);
    expect(result).toMatchObject({ condition: "not-allowed", jid: "editbot@a.test", operation: "set" });
  });

  it("a full JID is refused before it reaches the server", async () => {
    const err = await service.set({ jid: "frank@b.test/phone" }).catch((e) => e);
    expect(err).toMatchObject({ condition: "bad-request", operation: "set" });
  });

  it("removes an item", async () => {
    await service.remove("frank@b.test");
    expect(service.get("frank@b.test")).toBeUndefined();
  });

  it("pre-approves a contact on Prosody, which advertises pre-approval; not-supported on ejabberd, which does not", async () => {
    if (server.kind === "ejabberd") {
      // ejabberd 23.01 has no subscription pre-approval (no stream feature, no stored state).
      expect(service.features.preApproval).toBe(false);
      await expect(service.preApprove("grace@c.test")).rejects.toMatchObject({ condition: "not-supported", operation: "preApprove" });
      return;
    }
    expect(service.features.preApproval).toBe(true);
    server.createAccount("grace", "c.test", "pw");
    const grace = await TestClient.connect({ service: server.service, jid: "grace@c.test", password: "pw", roster: true, presence: true });
    await service.preApprove("grace@c.test");
    // A ping round trip on the bot's stream: the server has processed the pre-approval before Grace asks.
    await runtime.connection.request(xml("iq", { type: "get", to: "a.test" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
    // Grace asks later and is approved by the server at once, without the bot seeing a request.
    const subscribed = grace.waitFor((s) => s.name === "presence" && s.attrs.type === "subscribed");
    await grace.presence("editbot@a.test", "subscribe");
    await subscribed;
    await until(() => service.get("grace@c.test")?.subscription === "from");
    await grace.stop();
  });

  it("subscribe shows as a pending ask in the copy", async () => {
    server.createAccount("heidi", "c.test", "pw");
    await service.subscribe("heidi@c.test");
    await until(() => service.get("heidi@c.test")?.ask === "subscribe");
    expect(service.get("heidi@c.test")).toMatchObject({ subscription: "none", ask: "subscribe" });
  });
});
