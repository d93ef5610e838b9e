/**
 * The RFC 6121 login and roster copy against a scripted server (test/helpers/scripted-server.ts),
 * for what neither test server produces: a server without roster versioning or pre-approval
 * (checklist 2, 21; both Prosody and ejabberd advertise them), an empty result followed by
 * incremental pushes (3; both answer a stale version with the full roster), a roster result from
 * another JID (9; a real server answers the bot's get itself, and a third party cannot know its id
 * in time), and an item with `approved="true"` (21; Prosody 0.12 never sends the attribute).
 * The bot is the real runtime and plugin over TCP; assertions are on the stanzas it sent.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { xml, type XmlElement } from "../../bots/xmpp.ts";
import { memoryLogger } from "../../test/helpers/logger.ts";
import { NS_ROSTER, startRosterBot, type RosterBot } from "../../test/helpers/roster-bot.ts";
import { ScriptedServer, type ScriptedServerOptions, type ScriptedSession } from "../../test/helpers/scripted-server.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import { until } from "../../test/helpers/wait.ts";
import { RosterCache } from "./cache.ts";
import { RosterError } from "./errors.ts";

const ROSTERVER = xml("ver", { xmlns: "urn:xmpp:features:rosterver" });
const PRE_APPROVAL = xml("sub", { xmlns: "urn:xmpp:features:pre-approval" });

let tmp: TempDir;
const running: { server: ScriptedServer; bot?: RosterBot }[] = [];

beforeEach(() => {
  tmp = tempDir("roster-wire-");
});
afterEach(async () => {
  for (const { server, bot } of running.splice(0)) {
    await bot?.runtime.stop();
    await server.stop();
  }
  tmp.remove();
});

const item = (attrs: Record<string, string>) => xml("item", attrs);
const rosterResult = (iq: XmlElement, query: XmlElement | undefined, attrs: Record<string, string> = {}) =>
  xml("iq", { type: "result", id: iq.attrs.id, ...attrs }, query);
const isRosterGet = (iq: XmlElement) => iq.attrs.type === "get" && !!iq.getChild("query", NS_ROSTER);
const push = (ver: string, attrs: Record<string, string>, id: string) => xml("iq", { type: "set", id }, xml("query", { xmlns: NS_ROSTER, ver }, item(attrs)));

/** A scripted server whose roster get is answered by `answer`, and a bot logged in to it. */
async function session(answer: (iq: XmlElement, s: ScriptedSession) => void, options: Omit<ScriptedServerOptions, "onIq"> = {}, waitLoaded = true) {
  const server = await ScriptedServer.start({
    ...options,
    onIq: (iq, s) => {
      if (!isRosterGet(iq)) return false;
      answer(iq, s);
      return true;
    },
  });
  const entry: { server: ScriptedServer; bot?: RosterBot } = { server };
  running.push(entry);
  entry.bot = await startRosterBot(server, { user: "bot", dataDir: tmp.dir, waitLoaded });
  return { server, bot: entry.bot };
}

async function stop(s: { server: ScriptedServer; bot: RosterBot }): Promise<void> {
  await s.bot.runtime.stop();
  await s.server.stop();
  running.splice(running.findIndex((r) => r.server === s.server), 1);
}

const rosterGets = (server: ScriptedServer) => server.received.filter(isRosterGet).map((iq) => iq.getChild("query", NS_ROSTER)!);

/** A first session with a versioning server: the bot caches alice and bob at version "1". */
async function cachedAtVersion1(): Promise<void> {
  const first = await session(
    (iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER, ver: "1" }, item({ jid: "alice@b.test", subscription: "both" }), item({ jid: "bob@b.test", subscription: "from" })))),
    { features: [ROSTERVER] },
  );
  expect(first.bot.service.version).toBe("1");
  await stop(first);
}

describe("versioning (checklist 2)", () => {
  it("sends no ver to a server that does not advertise versioning, even with a versioned cache", async () => {
    await cachedAtVersion1();
    const second = await session((iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER }, item({ jid: "alice@b.test", subscription: "both" })))));
    const [query] = rosterGets(second.server);
    expect(query!.attrs).toEqual({ xmlns: NS_ROSTER }); // no ver attribute at all
    expect(second.bot.service.features.versioning).toBe(false);
    expect(second.bot.service.list().map((i) => i.jid)).toEqual(["alice@b.test"]);
  });

  it("sends the cached ver to a server that advertises versioning", async () => {
    await cachedAtVersion1();
    const second = await session((iq, s) => s.send(rosterResult(iq, undefined)), { features: [ROSTERVER] });
    expect(rosterGets(second.server)[0]!.attrs.ver).toBe("1");
  });
});

describe("an empty result followed by pushes (checklist 3)", () => {
  it("keeps the cached copy and applies each push in order, with its ver; each push gets its result", async () => {
    await cachedAtVersion1();
    const second = await session(
      (iq, s) => {
        // One write: the result and both pushes arrive together, as a server sends them.
        s.send(rosterResult(iq, undefined));
        s.send(push("2", { jid: "carol@c.test", subscription: "none", name: "Carol" }, "push-2"));
        s.send(push("3", { jid: "bob@b.test", subscription: "remove" }, "push-3"));
      },
      { features: [ROSTERVER] },
    );
    const { bot } = second;
    await until(() => bot.service.version === "3");
    expect(bot.service.list().map((i) => i.jid).sort()).toEqual(["alice@b.test", "carol@c.test"]);
    await until(() => bot.events.length === 2);
    expect(bot.events).toEqual(["added carol@c.test push", "removed bob@b.test push"]);
    for (const id of ["push-2", "push-3"]) {
      await until(() => second.server.received.some((s) => s.attrs.id === id));
      expect(second.server.received.filter((s) => s.attrs.id === id).map((s) => s.attrs.type)).toEqual(["result"]);
    }
    await bot.runtime.stop();
    const cached = new RosterCache(bot.cacheFile, bot.jid, memoryLogger().logger).load()!;
    expect(cached.ver).toBe("3");
    expect([...cached.items.keys()].sort()).toEqual(["alice@b.test", "carol@c.test"]);
  });

  it("an empty <query/> is the whole roster, empty: the cached copy is cleared", async () => {
    await cachedAtVersion1();
    const second = await session((iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER, ver: "9" }))), { features: [ROSTERVER] });
    expect(second.bot.service.list()).toEqual([]);
    expect(second.bot.service.version).toBe("9");
    await until(() => second.bot.events.length === 2);
    expect(second.bot.events.sort()).toEqual(["removed alice@b.test reload", "removed bob@b.test reload"]);
  });
});

describe("the roster result's sender (checklist 9)", () => {
  it("a result from another JID is refused: nothing of it is taken, a security line is logged", async () => {
    const { bot } = await session(
      (iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER, ver: "6" }, item({ jid: "mallory@evil.test", subscription: "both" })), { from: "mallory@evil.test/x" })),
      {},
      false,
    );
    await until(() => bot.logs.lines.some((l) => l.msg === "roster result not from the account; ignored"));
    expect(bot.logs.find((l) => l.msg === "roster result not from the account; ignored")).toMatchObject({ security: true, from: "mallory@evil.test/x" });
    expect(bot.service.list()).toEqual([]);
    expect(bot.service.version).toBeUndefined();
    expect(bot.service.loaded).toBe(false);
  });

  it("a result from the account's bare JID is taken", async () => {
    const { bot } = await session((iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER }, item({ jid: "alice@b.test", subscription: "both" })), { from: "bot@scripted.test" })));
    expect(bot.service.list().map((i) => i.jid)).toEqual(["alice@b.test"]);
  });
});

describe("pre-approval (checklist 21)", () => {
  it("the copy shows approved=\"true\" as the server sends it, and drops it when a push does", async () => {
    const { server, bot } = await session(
      (iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER }, item({ jid: "pat@b.test", subscription: "none", approved: "true" })))),
      { features: [PRE_APPROVAL] },
    );
    expect(bot.service.get("pat@b.test")).toMatchObject({ subscription: "none", approved: true });
    server.send(push("", { jid: "pat@b.test", subscription: "from" }, "push-approved"));
    await until(() => bot.service.get("pat@b.test")?.subscription === "from");
    expect(bot.service.get("pat@b.test")?.approved).toBe(false);
  });

  it("preApprove fails with not-supported, sending nothing, when the server does not advertise it", async () => {
    const { server, bot } = await session((iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER }))));
    const err = await bot.service.preApprove("pat@b.test").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RosterError);
    expect(err).toMatchObject({ condition: "not-supported", operation: "preApprove" });
    // A ping round trip: anything sent before it has reached the server.
    await bot.runtime.connection.request(xml("iq", { type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" }))).catch(() => undefined);
    expect(server.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribed")).toEqual([]);
  });

  it("preApprove sends subscribed to the bare JID when the server advertises it", async () => {
    const { server, bot } = await session((iq, s) => s.send(rosterResult(iq, xml("query", { xmlns: NS_ROSTER }))), { features: [PRE_APPROVAL] });
    await bot.service.preApprove("Pat@B.test");
    await until(() => server.received.some((s) => s.name === "presence" && s.attrs.type === "subscribed"));
    expect(server.received.filter((s) => s.name === "presence" && s.attrs.type === "subscribed").map((s) => s.attrs)).toEqual([{ to: "pat@b.test", type: "subscribed" }]);
  });
});
