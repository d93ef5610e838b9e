/**
 * What a contact's client asks the bot, asked from a contact's side over a real server: XEP-0030
 * disco#info (identity, features, a plugin's feature, the caps node), XEP-0199 ping, XEP-0092
 * version, and the XEP-0115 caps in the presence the contact receives.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { capsVer, type DiscoIdentity } from "../../bots/entity/caps.ts";
import { CAPS_NODE } from "../../bots/entity/entity-info.ts";
import type { PluginContext } from "../../bots/context.ts";
import { definePlugin } from "../../bots/plugin.ts";
import type { BotRuntime } from "../../bots/runtime.ts";
import { packageVersion } from "../../bots/version.ts";
import roster from "../../plugins/roster/index.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import { startTestBot } from "../helpers/bot.ts";
import { until } from "../helpers/wait.ts";

// Spelled out here rather than imported, so that a wrong namespace in the code fails the test.
const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const NS_PING = "urn:xmpp:ping";
const NS_VERSION = "jabber:iq:version";
const PLUGIN_FEATURE = "urn:example:entity-test";
const BOT_NAME = "Entity bot (roster)";
// A name XML must escape: the ver is computed from the characters, so this proves both ends agree.
const PLUGIN_IDENTITY = { category: "automation", type: "command-list", name: "Tom & <Jerry>" };

let server: XmppTestServer;
let runtime: BotRuntime;
let pluginCtx: PluginContext;
let alice: TestClient;
let botFull: string;
let botBare: string;
let firstPresence: XmlElement;
/** Every iq from alice that reached the bot's session. */
const botReceivedIqs: XmlElement[] = [];

/** A plugin that says what it answers, the way any plugin author would. */
const advertiser = definePlugin({
  name: "advertiser",
  apply(ctx) {
    pluginCtx = ctx;
    ctx.disco.addFeature(PLUGIN_FEATURE);
    ctx.disco.addIdentity(PLUGIN_IDENTITY);
  },
});

const isBotPresence = (s: XmlElement) => s.name === "presence" && s.attrs.from === botFull && !s.attrs.type;

beforeAll(async () => {
  server = await startServer();
  ({ runtime } = await startTestBot({
    server,
    user: "entitybot",
    name: BOT_NAME,
    plugins: [{ definition: roster, config: { subscriptions: { default: "accept" } } }, { definition: advertiser }],
  }));
  botFull = runtime.connection.fullJid!;
  botBare = botFull.split("/")[0]!;
  server.createAccount("alice", server.hosts[0]!, "pw");
  alice = await TestClient.connect({ service: server.service, jid: `alice@${server.hosts[0]}`, password: "pw", roster: true, presence: true });
  runtime.connection.client.on("stanza", (s: XmlElement) => {
    // Only alice's: the server itself asks the bot's caps node (PEP, mod_caps) whenever it likes.
    if (s.name === "iq" && s.attrs.from === alice.fullJid) botReceivedIqs.push(s);
  });
  // Once the bot accepts alice's request, the server sends her the bot's current presence.
  const seen = alice.waitFor(isBotPresence, 10_000);
  await alice.presence(botBare, "subscribe");
  firstPresence = await seen;
}, 60_000);

afterAll(async () => {
  await alice?.stop();
  await runtime?.stop();
  await server?.stop();
});

const ask = (to: string, payload: XmlElement) => alice.client.iqCaller.request(xml("iq", { type: "get", to }, payload));
const askError = (to: string, payload: XmlElement) =>
  ask(to, payload).then(
    (reply) => ({ condition: undefined as string | undefined, reply }),
    (err: { condition?: string }) => ({ condition: err.condition, reply: undefined }),
  );

function identitiesOf(query: XmlElement): DiscoIdentity[] {
  return query.getChildren("identity").map((i) => ({ category: i.attrs.category!, type: i.attrs.type!, name: i.attrs.name, lang: i.attrs["xml:lang"] }));
}

function featuresOf(query: XmlElement): string[] {
  return query.getChildren("feature").map((f) => f.attrs.var!);
}

function capsOf(presence: XmlElement): Record<string, string | undefined> {
  const c = presence.getChild("c", NS_CAPS);
  expect(c, `caps in ${presence.toString()}`).toBeDefined();
  return c!.attrs;
}

describe("what a contact's client asks the bot", () => {
  it("disco#info on the full JID: client/bot with the configured name, the host's features and the plugin's", async () => {
    const reply = await ask(botFull, xml("query", { xmlns: NS_DISCO_INFO }));
    expect(reply.attrs.type).toBe("result");
    const query = reply.getChild("query", NS_DISCO_INFO)!;
    expect(identitiesOf(query)).toEqual(
      expect.arrayContaining([
        { category: "client", type: "bot", name: BOT_NAME, lang: undefined },
        { ...PLUGIN_IDENTITY, lang: undefined },
      ]),
    );
    expect(featuresOf(query).sort()).toEqual([NS_CAPS, NS_DISCO_INFO, NS_VERSION, PLUGIN_FEATURE, NS_PING].sort());
  });

  it("the caps in the presence the contact received hash to the disco#info answer, and the caps node answers the same", async () => {
    const caps = capsOf(firstPresence);
    expect(caps).toMatchObject({ hash: "sha-1", node: CAPS_NODE });
    const query = (await ask(botFull, xml("query", { xmlns: NS_DISCO_INFO }))).getChild("query", NS_DISCO_INFO)!;
    expect(capsVer(identitiesOf(query), featuresOf(query))).toBe(caps.ver);

    const node = `${caps.node}#${caps.ver}`;
    const byNode = (await ask(botFull, xml("query", { xmlns: NS_DISCO_INFO, node }))).getChild("query", NS_DISCO_INFO)!;
    expect(byNode.attrs.node).toBe(node);
    expect(capsVer(identitiesOf(byNode), featuresOf(byNode))).toBe(caps.ver);

    expect((await askError(botFull, xml("query", { xmlns: NS_DISCO_INFO, node: `${CAPS_NODE}#stale` }))).condition).toBe("item-not-found");
  });

  it("disco#items is empty; ping gets a result; version names roster-bot and its version, no os", async () => {
    const items = (await ask(botFull, xml("query", { xmlns: NS_DISCO_ITEMS }))).getChild("query", NS_DISCO_ITEMS)!;
    expect(items.getChildElements()).toHaveLength(0);

    const iqsBefore = botReceivedIqs.length;
    const pong = await ask(botFull, xml("ping", { xmlns: NS_PING }));
    expect(pong.attrs).toMatchObject({ type: "result", from: botFull });
    expect(botReceivedIqs.length).toBe(iqsBefore + 1); // the bot answered it (the bare-JID test relies on this record)

    const version = (await ask(botFull, xml("query", { xmlns: NS_VERSION }))).getChild("query", NS_VERSION)!;
    expect(version.getChildText("name")).toBe("roster-bot");
    expect(version.getChildText("version")).toBe(packageVersion());
    expect(version.getChild("os")).toBeUndefined();
  });

  it("a feature added at run time re-broadcasts presence once, with a ver that hashes to the new disco#info", async () => {
    const before = alice.presencesFrom(botBare).length;
    const next = alice.waitFor((s) => isBotPresence(s) && capsOf(s).ver !== capsOf(firstPresence).ver);
    // Two changes in one turn: one presence, not two.
    const undoA = pluginCtx.disco.addFeature("urn:example:later-a");
    const undoB = pluginCtx.disco.addFeature("urn:example:later-b");
    const presence = await next;
    const query = (await ask(botFull, xml("query", { xmlns: NS_DISCO_INFO }))).getChild("query", NS_DISCO_INFO)!;
    expect(featuresOf(query)).toEqual(expect.arrayContaining(["urn:example:later-a", "urn:example:later-b"]));
    expect(capsVer(identitiesOf(query), featuresOf(query))).toBe(capsOf(presence).ver);
    await new Promise((r) => setTimeout(r, 500));
    expect(alice.presencesFrom(botBare).length).toBe(before + 1);

    // Removing them again goes back to the first ver (one more presence).
    const back = alice.waitFor((s) => isBotPresence(s) && capsOf(s).ver === capsOf(firstPresence).ver);
    undoA();
    undoB();
    await back;
  });

  it("a presence a plugin broadcasts carries the caps too", async () => {
    const next = alice.waitFor((s) => isBotPresence(s) && s.getChildText("status") === "busy");
    await pluginCtx.send(xml("presence", {}, xml("show", {}, "dnd"), xml("status", {}, "busy")));
    const presence = await next;
    expect(presence.getChildren("c", NS_CAPS)).toHaveLength(1);
    expect(capsOf(presence).ver).toBe(capsOf(firstPresence).ver);
  });

  it("a feature added while the stream is down goes out once the stream is resumed", async () => {
    const sm = runtime.connection.client.streamManagement;
    await until(() => sm.enabled && sm.id !== "", 5_000, "stream management enabled");
    const verBefore = runtime.connection.broadcastPresence!.getChild("c", NS_CAPS)!.attrs.ver;
    let undo: (() => void) | undefined;
    // Added in the offline handler: the change cannot go out then, so it must go out at the resume.
    const offline = new Promise<void>((resolve) =>
      runtime.connection.once("offline", () => {
        undo = pluginCtx.disco.addFeature("urn:example:while-offline");
        resolve();
      }),
    );
    const resumed = new Promise<void>((resolve) => runtime.connection.once("resumed", resolve));
    const next = alice.waitFor((s) => isBotPresence(s) && capsOf(s).ver !== verBefore, 10_000);
    runtime.connection.client.socket!.destroy();
    await offline;
    await resumed;
    const presence = await next;
    const query = (await ask(botFull, xml("query", { xmlns: NS_DISCO_INFO }))).getChild("query", NS_DISCO_INFO)!;
    expect(featuresOf(query)).toContain("urn:example:while-offline");
    expect(capsVer(identitiesOf(query), featuresOf(query))).toBe(capsOf(presence).ver);
    // What goes out again is the presence last broadcast (the plugin's), with the new caps.
    expect(presence.getChildText("status")).toBe("busy");
    undo!();
  });

  it("the bare JID is answered by the server for the account; such an iq never reaches the bot", async () => {
    // A server answers an iq addressed to a client account's bare JID itself (RFC 6121 §8.5.1):
    // disco#info there describes the account (account/registered), not the bot; what the bot says
    // is on its full JID, which is where caps send a client. Prosody: seen here. ejabberd 23.01
    // (read from its mod_disco): account/registered to a contact the account has a subscription
    // from (alice, once the bot accepted her), subscription-required to anyone else.
    const iqsBefore = botReceivedIqs.length;
    const disco = await askError(botBare, xml("query", { xmlns: NS_DISCO_INFO }));
    const query = disco.reply?.getChild("query", NS_DISCO_INFO);
    expect(query, `disco#info on the bare JID failed: ${disco.condition ?? ""}`).toBeDefined();
    const identities = identitiesOf(query!);
    expect(identities).toContainEqual(expect.objectContaining({ category: "account", type: "registered" }));
    expect(identities).not.toContainEqual(expect.objectContaining({ category: "client" }));
    expect(featuresOf(query!)).not.toContain(PLUGIN_FEATURE);

    // No server offers jabber:iq:version for an account: the server's own service-unavailable.
    expect((await askError(botBare, xml("query", { xmlns: NS_VERSION }))).condition).toBe("service-unavailable");

    // Both servers' mod_ping (loaded by the test configs) answer a ping to an account's bare JID
    // themselves: the answer is the server's, the bot sees nothing.
    const ping = await askError(botBare, xml("ping", { xmlns: NS_PING }));
    expect(ping.reply?.attrs).toMatchObject({ type: "result", from: botBare });

    expect(botReceivedIqs.slice(iqsBefore).map((s) => s.toString())).toEqual([]);
  });
});
