/**
 * Bad input through a real server (the issue #7 corpus), at one bot loaded from YAML by the host:
 * look-alike domains, oversized payloads, malformed senders through a component, spoofed and huge
 * roster pushes, over-long roster items, oversized chat commands and broken config reloads. Each gets
 * a clear log line or error; the bot keeps serving and loses nothing already decided or stored. What
 * Prosody does not let through is unit-tested: plugins/roster/bad-input.test.ts,
 * bots/jid-unicode.test.ts, plugins/roster/policy/lookalike.test.ts, bots/config/bad-input.test.ts.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { XmlElement } from "../../bots/xmpp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Host } from "../../bots/host.ts";
import { prepareConfig } from "../../bots/prepare.ts";
import { createLogger } from "../../bots/logger.ts";
import { reloadHost } from "../../bots/reload.ts";
import type { RosterService } from "../../plugins/roster/api.ts";
import { decodeRosterCache } from "../../plugins/roster/cache.ts";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { RawComponent, type PresenceAttrs } from "../../scripts/xmpp-component.ts";
import { LogCapture } from "../helpers/bot.ts";
import { tempDir, type TempDir } from "../helpers/tmp.ts";
import { until } from "../helpers/wait.ts";
import { bareOf, NS_ROSTER, readAudit, sleep } from "./support.ts";

const CYRILLIC_PARTNER = "p\u0430rtner.test"; // Cyrillic "а"
const BOT = "inputbot@a.test";
const PASSWORD = "bad-input-bot-password";

let server: ProsodyServer;
let tmp: TempDir;
let host: Host | undefined;
const clients: TestClient[] = [];

const config = (action = "accept", extra = "") => `log: { level: debug }
bots:
  - id: input
    jid: ${BOT}
    password: \${INPUT_BOT_PASSWORD}
    service: ${server.service}
    tls: plaintext-loopback
    dataDir: ./data
    plugins:
      roster:
        subscriptions:
          default: reject
          rules:
            - name: partners
              match: { domain: partner.test }
              action: ${action}
            - name: hold
              match: { domain: hold.test }
              action: ask
${extra}      admin:
        admins: [boss@b.test]
`;

beforeAll(async () => {
  server = await ProsodyServer.start({
    hosts: ["a.test", "b.test", "partner.test", CYRILLIC_PARTNER, "hold.test"],
    components: [{ domain: "far.test", secret: "far-secret" }],
    logLevel: "warn",
  });
  server.createAccount("inputbot", "a.test", PASSWORD);
  tmp = tempDir("fault-input-");
  process.env.INPUT_BOT_PASSWORD = PASSWORD;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await host?.stop();
  await server?.stop();
  tmp?.remove();
});

async function contact(jid: string, resource = "phone"): Promise<TestClient> {
  const [user, domain] = jid.split("@") as [string, string];
  server.createAccount(user, domain, "pw");
  const c = await TestClient.connect({ service: server.service, jid, password: "pw", resource, roster: true, presence: true });
  clients.push(c);
  return c;
}

const answerTo = (c: TestClient, ms = 5_000) =>
  c.waitFor((s) => s.name === "presence" && bareOf(s.attrs.from) === BOT && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""), ms).then((s) => s.attrs.type);

describe("the bad-input corpus through a real server", () => {
  it("logs or refuses each piece, keeps serving, and loses nothing already decided or stored", async () => {
    const file = tmp.write("bot.config.yaml", config());
    const logs = new LogCapture();
    const logger = createLogger("debug", logs);
    const prepared = await prepareConfig(file, { secrets: true });
    host = new Host(prepared.bots, logger, { configDir: tmp.dir });
    const { started } = await host.start();
    const runtime = started[0]!;
    const roster: RosterService = runtime.service("roster");
    await roster.whenLoaded();
    const auditFile = path.join(tmp.dir, "data", "audit.log");

    // Decided and stored before the corpus: an accepted contact, a held request.
    const alice = await contact("alice@partner.test");
    const aliceAnswer = answerTo(alice);
    await alice.presence(BOT, "subscribe");
    expect(await aliceAnswer).toBe("subscribed");
    const held = await contact("held@hold.test");
    await held.presence(BOT, "subscribe");
    await until(() => roster.subscriptions.pending().length === 1 && roster.get("alice@partner.test")?.subscription === "from", 5_000, "alice accepted, held held");
    const itemsBefore = roster.list();
    const pendingBefore = roster.subscriptions.pending();

    // 1. A look-alike of the accepted domain gets the default (reject), not the rule.
    const spoof = await contact(`mallory@${CYRILLIC_PARTNER}`);
    const spoofAnswer = answerTo(spoof);
    await spoof.presence(BOT, "subscribe");
    expect(await spoofAnswer).toBe("unsubscribed");
    expect(readAudit(auditFile).find((l) => l.from === `mallory@${CYRILLIC_PARTNER}`)).toMatchObject({ action: "reject", decidedBy: "default" });

    // 2. A request with ~200 kB of payload, and one addressed to the bot's full JID: decided as usual.
    const bulky = await contact("bulky@partner.test");
    const bulkyAnswer = answerTo(bulky);
    await bulky.send(xml("presence", { to: BOT, type: "subscribe" }, xml("status", {}, "x".repeat(200_000)), xml("junk", { xmlns: "urn:example:junk" }, xml("deeper", {}, "?"))));
    expect(await bulkyAnswer).toBe("subscribed");
    const direct = await contact("direct@b.test");
    const directAnswer = answerTo(direct);
    await direct.send(xml("presence", { to: runtime.connection.fullJid, type: "subscribe" }));
    expect(await directAnswer).toBe("unsubscribed");

    // 2b. Through a component: Prosody answers malformed and oversized senders with jid-malformed
    //     itself. A request with no `from` arrives from the domain, a fullwidth sender in its
    //     standard form; both are decided like any other.
    const far = await RawComponent.connect({ port: server.componentPort, domain: "far.test", secret: "far-secret" });
    const toFar: PresenceAttrs[] = [];
    far.onPresence = (attrs) => void toFar.push(attrs);
    const badSenders = ["two words@far.test", `${"x".repeat(2_000)}@far.test`, "<b>&\"'@far.test"];
    for (const from of badSenders) await far.presence(from, BOT, "subscribe");
    await far.presence(undefined, BOT, "subscribe");
    await far.presence("\uff46\uff49\uff4e\uff45@far.test", BOT, "subscribe"); // ｆｉｎｅ
    await until(() => toFar.filter((p) => p.type === "unsubscribed").length === 2, 5_000, "the answers to far.test and fine@far.test");
    await sleep(300);
    expect(toFar.filter((p) => p.type !== "unavailable").map((p) => `${p.to} ${p.type}`)).toEqual([
      ...badSenders.map((j) => `${j} error`),
      "far.test unsubscribed",
      "fine@far.test unsubscribed",
    ]);
    expect(readAudit(auditFile).filter((l) => l.from?.endsWith("far.test")).map((l) => `${l.from} ${l.action} ${l.decidedBy}`)).toEqual([
      "far.test reject default",
      "fine@far.test reject default",
    ]);
    await far.stop();

    // 3. Roster pushes with zero and with 100 items from a contact: refused, logged as security events.
    const mallory = await contact("mallory@b.test");
    const pushTo = (items: XmlElement[]) =>
      mallory.client.iqCaller.request(xml("iq", { type: "set", to: runtime.connection.fullJid }, xml("query", { xmlns: NS_ROSTER }, ...items))).catch((e: { condition?: string }) => e.condition);
    expect(await pushTo([])).toBe("service-unavailable");
    expect(await pushTo(Array.from({ length: 100 }, (_, i) => xml("item", { jid: `fake${i}@b.test`, subscription: "both" })))).toBe("service-unavailable");
    expect(logs.lines.filter((l) => l.msg === "spoofed roster push rejected" && l.from === mallory.fullJid)).toHaveLength(2);

    // 4. Items with empty and duplicate groups, 10,000 groups, a very long name, set by another
    //    resource of the bot's account: the server stores them, the bot's copy keeps its limits.
    const phone = await TestClient.connect({ service: server.service, jid: BOT, password: PASSWORD, resource: "phone", roster: true });
    clients.push(phone);
    expect((await phone.rosterSet("groups@b.test", { groups: ["", "Team", "Team", " ", "Ops"] })).attrs.type).toBe("result");
    expect((await phone.rosterSet("many@b.test", { groups: Array.from({ length: 10_000 }, (_, i) => `g${i}`) })).attrs.type).toBe("result");
    expect((await phone.rosterSet("long@b.test", { name: "N".repeat(5_000), groups: ["Team"] })).attrs.type).toBe("result");
    await until(() => ["groups@b.test", "many@b.test", "long@b.test"].every((j) => roster.get(j)), 10_000, "the three pushes applied");
    expect(roster.get("groups@b.test")!.groups).toEqual(["Ops", "Team"]);
    expect(roster.get("many@b.test")!.groups).toHaveLength(100);
    expect(roster.get("long@b.test")!.name).toHaveLength(1_024);
    const trimmed = logs.lines.filter((l) => String(l.msg).startsWith("roster item over the limits"));
    expect(trimmed.map((l) => `${String(l.jid)}: ${String(l.trimmed)}`)).toEqual(["many@b.test: 9900 of 10000 groups dropped (maxGroups 100)", "long@b.test: name cut to 1024 characters"]);

    // 5. Chat: a 100 kB message from a stranger, a malformed command from the admin.
    const boss = await contact("boss@b.test");
    await mallory.send(xml("message", { to: BOT, type: "chat" }, xml("body", {}, "approve ".repeat(12_500))));
    const usage = boss.waitFor((s) => s.name === "message" && s.getChildText("body") !== null);
    await boss.send(xml("message", { to: BOT, type: "chat" }, xml("body", {}, "approve not@@a@jid")));
    expect((await usage).getChildText("body")).toMatch(/is not a valid JID\. Usage: approve JID/);
    await until(() => logs.lines.some((l) => l.msg === "admin command refused: sender is not an admin" && l.from === mallory.fullJid), 5_000, "the refusal");

    // 6. Config reloads with broken files: each refused with file:line:column, the rules stay.
    const broken = {
      yaml: config().replace("default: reject", "default: [reject"),
      schema: config("accept-please", "            - name: bad-domain\n              match: { domain: 'a b' }\n              action: reject\n"),
      bomb: `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n${config()}`,
      deep: `deep: ${"[".repeat(3_000)}${"]".repeat(3_000)}\n${config()}`,
    };
    for (const [what, text] of Object.entries(broken)) {
      const from = logs.lines.length;
      writeFileSync(file, text);
      expect(await reloadHost(file, host, logger), what).toBe(false);
      const errors = logs.lines.slice(from).filter((l) => String(l.msg).startsWith("config not reloaded: "));
      expect(errors.length, what).toBeGreaterThan(0);
      expect(errors.every((l) => new RegExp(`^config not reloaded: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:\\d+:\\d+: `).test(String(l.msg))), what).toBe(true);
    }
    writeFileSync(file, config());

    // The bot keeps serving: a normal request is answered by the rules as they were.
    const newbie = await contact("newbie@partner.test");
    const newbieAnswer = answerTo(newbie);
    await newbie.presence(BOT, "subscribe");
    expect(await newbieAnswer).toBe("subscribed");
    const stats = boss.waitFor((s) => s.name === "message" && (s.getChildText("body") ?? "").startsWith("Contacts:"));
    await boss.send(xml("message", { to: BOT, type: "chat" }, xml("body", {}, "stats")));
    expect((await stats).getChildText("body")).toMatch(/\nPending: 1\n/);
    expect(runtime.connection.isOnline).toBe(true);

    // Nothing decided or stored before the corpus is lost.
    await sleep(300);
    for (const item of itemsBefore) expect(roster.get(item.jid)).toEqual(item);
    expect(roster.subscriptions.pending()).toEqual(pendingBefore);
    expect(readAudit(auditFile).filter((l) => l.from === "held@hold.test").every((l) => l.action === "ask")).toBe(true);
    await until(() => {
      const cached = decodeRosterCache(readFileSync(path.join(tmp.dir, "data", "plugins", "roster", "roster.json"), "utf8"), BOT);
      return itemsBefore.every((i) => JSON.stringify(cached.items.get(i.jid)) === JSON.stringify(i));
    }, 5_000, "the cache to hold the items decided before");
  });
});
