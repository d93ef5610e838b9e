/**
 * The roster copy across connection losses, against a real Prosody (mod_smacks, hibernation 30 s): a
 * stream-management resume is the same session (no roster get again, the copy stays, a push queued
 * on the server is applied); a new session after a server restart fetches the roster again with the
 * stored `ver` and applies what changed while the bot was down.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { XmlElement } from "../../bots/xmpp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { definePlugin } from "../../bots/plugin.ts";
import type { BotRuntime } from "../../bots/runtime.ts";
import type { RosterLoadedEvent, RosterService } from "../../plugins/roster/api.ts";
import { decodeRosterCache, type LoadedRoster } from "../../plugins/roster/cache.ts";
import roster from "../../plugins/roster/index.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";
import { startTestBot, type LogCapture } from "../helpers/bot.ts";

const NS_ROSTER = "jabber:iq:roster";
const BOT = "sessionbot@a.test";
const PASSWORD = "bot-password";

let server: XmppTestServer;
let runtime: BotRuntime;
let service: RosterService;
let logs: LogCapture;
let dataDir: string;
const sent: XmlElement[] = [];
const events: string[] = [];
const loadedEvents: RosterLoadedEvent[] = [];
let sessions = 0;
let resumes = 0;

/** While closed, the bot's reconnect attempts wait before opening a socket: the bot stays down. */
let gate: Promise<void> | undefined;
let openGate: () => void = () => {};
function closeGate(): void {
  gate = new Promise((resolve) => (openGate = resolve));
}

function rosterGets(): XmlElement[] {
  return sent.filter((s) => s.name === "iq" && s.attrs.type === "get" && s.getChild("query", NS_ROSTER)).map((s) => s.getChild("query", NS_ROSTER)!);
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms\n${logs.raw.slice(-20).join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function once(event: "resumed" | "session" | "offline", ms = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${ms} ms\n${logs.raw.slice(-20).join("\n")}`)), ms);
    runtime.connection.once(event, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** xmpp.js's stream-management state (outbound_q is not in the typings). */
const sm = () => runtime.connection.client.streamManagement as unknown as { enabled: boolean; id: string; outbound_q: unknown[] };

/** Another resource of the bot's account, changing the roster while the bot is away. */
async function fromPhone(change: (phone: TestClient) => Promise<unknown>): Promise<void> {
  const phone = await TestClient.connect({ service: server.service, jid: BOT, password: PASSWORD, resource: "phone" });
  try {
    await change(phone);
  } finally {
    await phone.stop();
  }
}

function readCache(): LoadedRoster | undefined {
  try {
    return decodeRosterCache(readFileSync(path.join(dataDir, "plugins", "roster", "roster.json"), "utf8"), BOT);
  } catch {
    return undefined;
  }
}

const jids = () =>
  service
    .list()
    .map((i) => i.jid)
    .sort();

beforeAll(async () => {
  server = await startServer();
  const [user, host] = BOT.split("@") as [string, string];
  server.createAccount(user, host, PASSWORD);
  server.writeRoster(user, host, [
    { jid: "alice@b.test", name: "Alice", subscription: "both", groups: ["Friends"] },
    { jid: "bob@c.test", subscription: "from" },
    { jid: "carol@b.test", name: "Carol", subscription: "none", groups: ["Work", "Friends"] },
  ]);
  const recorder = definePlugin({
    name: "recorder",
    dependencies: ["roster"],
    apply(ctx) {
      const r = ctx.use("roster");
      ctx.tap(r.hooks.loaded, (e) => void loadedEvents.push(e));
      ctx.tap(r.hooks.itemAdded, ({ item, origin }) => void events.push(`added ${item.jid} ${origin}`));
      ctx.tap(r.hooks.itemUpdated, ({ after, origin }) => void events.push(`updated ${after.jid} ${origin}`));
      ctx.tap(r.hooks.itemRemoved, ({ before, origin }) => void events.push(`removed ${before.jid} ${origin}`));
    },
  });
  const bot = await startTestBot({
    server,
    user,
    host,
    password: PASSWORD,
    plugins: [{ definition: roster }, { definition: recorder }],
    beforeStart: (rt) => {
      rt.connection.client.on("send", (el: XmlElement) => sent.push(el));
      rt.connection.on("session", () => void sessions++);
      rt.connection.on("resumed", () => void resumes++);
      const client = rt.connection.client;
      const connect = client.connect.bind(client);
      client.connect = async (service?: string) => {
        if (gate) await gate;
        return connect(service);
      };
    },
  });
  runtime = bot.runtime;
  logs = bot.logs;
  dataDir = bot.config.dataDir;
  service = runtime.service("roster");
  await service.whenLoaded();
  // Resumption is possible only once <enabled id=.../> has arrived. It can come after the roster
  // result (the roster get is sent right after binding, before <enable/>), so wait for it; and for
  // the server to ack what the bot sent, so that a resume has nothing to resend.
  await until(() => sm().enabled && sm().id !== "" && sm().outbound_q.length === 0, "stream management enabled and acked");
});

afterAll(async () => {
  openGate();
  await runtime?.stop();
  await server?.stop();
});

describe("stream-management resume", () => {
  it("the session starts with one full roster get and stream management enabled with resumption", () => {
    expect(rosterGets()).toHaveLength(1);
    expect(rosterGets()[0]!.attrs.ver).toBe("");
    expect(jids()).toEqual(["alice@b.test", "bob@c.test", "carol@b.test"]);
    expect(sessions).toBe(1);
    expect(sm().enabled).toBe(true);
    expect(sm().id).not.toBe("");
  });

  it("a broken TCP connection is resumed: no second roster get, the copy is intact", async () => {
    const before = service.list();
    const version = service.version;
    const loadedCount = loadedEvents.length;
    const sentBefore = sent.length;
    const resumed = once("resumed");
    runtime.connection.client.socket!.destroy();
    await resumed;
    await until(() => runtime.connection.isOnline, "online after resume");

    expect(resumes).toBe(1);
    expect(sessions).toBe(1);
    expect(rosterGets()).toHaveLength(1);
    // Nothing but stream-management and authentication traffic went out again: no presence either.
    const resent = sent.slice(sentBefore).filter((s) => ["iq", "presence", "message"].includes(s.name));
    expect(resent.map((s) => s.toString())).toEqual([]);
    expect(service.list()).toEqual(before);
    // The very same frozen objects: the copy was not rebuilt.
    expect(service.list().every((item, i) => item === before[i])).toBe(true);
    expect(service.version).toBe(version);
    expect(loadedEvents).toHaveLength(loadedCount);
    expect(events).toEqual([]);
    expect(logs.messages()).toContain("stream resumed");
  });

  it("a push the server queued while the bot was away is applied after the resume, as a push", async () => {
    const version = service.version;
    closeGate();
    const offline = once("offline");
    const resumed = once("resumed");
    runtime.connection.client.socket!.destroy();
    await offline;
    // The session hibernates on the server; the push for it is queued there.
    await fromPhone((phone) => phone.rosterSet("dave@c.test", { name: "Dave", groups: ["Ops"] }));
    openGate();
    await resumed;
    await until(() => service.get("dave@c.test") !== undefined, "queued push applied");

    expect(resumes).toBe(2);
    expect(sessions).toBe(1);
    expect(rosterGets()).toHaveLength(1);
    expect(service.get("dave@c.test")).toMatchObject({ name: "Dave", groups: ["Ops"], subscription: "none" });
    expect(service.version).not.toBe(version);
    await until(() => events.includes("added dave@c.test push"), "itemAdded event");
    expect(events).toEqual(["added dave@c.test push"]);
  });

  it("after a resume the copy counts as loaded again (whenLoaded resolves)", async () => {
    expect(runtime.connection.isOnline).toBe(true);
    const resolved = await Promise.race([service.whenLoaded().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))]);
    expect({ loaded: service.loaded, whenLoadedResolved: resolved }).toEqual({ loaded: true, whenLoadedResolved: true });
  });
});

describe("a new session after the server restarted", () => {
  it("fetches the roster again with the stored ver; nothing changed, so the copy stands", async () => {
    const version = service.version;
    expect(version).toBeTruthy();
    const before = service.list();
    const eventsBefore = events.length;
    const loadedBefore = loadedEvents.length;
    const session = once("session", 45_000);
    await server.restart(); // hibernated sessions die with the process: resume is impossible
    await session;
    await until(() => loadedEvents.length > loadedBefore, "roster loaded after the new session");

    expect(sessions).toBe(2);
    const gets = rosterGets();
    expect(gets).toHaveLength(2);
    expect(gets[1]!.attrs.ver).toBe(version);
    expect(loadedEvents.at(-1)).toMatchObject({ kind: "unchanged", version, fromCache: false, changes: [] });
    expect(service.loaded).toBe(true);
    expect(service.list()).toEqual(before);
    expect(service.version).toBe(version);
    expect(events.length).toBe(eventsBefore);
    // The resume was tried and refused before the new session.
    const resumes = sent.filter((s) => s.name === "resume");
    expect(resumes.length).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it("changes made while the bot was down are applied after the new session, as a reload", async () => {
    const version = service.version;
    const eventsBefore = events.length;
    const loadedBefore = loadedEvents.length;
    closeGate();
    const offline = once("offline");
    const session = once("session", 45_000);
    try {
      await server.restart();
      await offline;
      // The server is back but the bot is not: another resource changes the roster meanwhile.
      await fromPhone(async (phone) => {
        await phone.rosterSet("erin@c.test", { name: "Erin", groups: ["Night"] });
        await phone.rosterSet("alice@b.test", { remove: true });
        await phone.rosterSet("carol@b.test", { name: "Carol C.", groups: ["Work"] });
      });
    } finally {
      // A failure here must not leave the bot shut out for the next test.
      openGate();
    }
    await session;
    await until(() => loadedEvents.length > loadedBefore, "roster loaded after the new session");

    const gets = rosterGets();
    expect(gets).toHaveLength(3);
    expect(gets[2]!.attrs.ver).toBe(version);
    expect(service.loaded).toBe(true);
    expect(service.version).not.toBe(version);
    expect(jids()).toEqual(["bob@c.test", "carol@b.test", "dave@c.test", "erin@c.test"]);
    expect(service.get("carol@b.test")).toMatchObject({ name: "Carol C.", groups: ["Work"], subscription: "none" });
    expect(service.get("erin@c.test")).toMatchObject({ name: "Erin", groups: ["Night"] });
    const last = loadedEvents.at(-1)!;
    expect(last.changes.map((c) => c.jid).sort()).toEqual(["alice@b.test", "carol@b.test", "erin@c.test"]);
    await until(() => events.length >= eventsBefore + 3, "reload events");
    expect(events.slice(eventsBefore).sort()).toEqual(["added erin@c.test reload", "removed alice@b.test reload", "updated carol@b.test reload"]);
    await until(() => readCache()?.ver === service.version, "cache saved with the new version");
    expect([...readCache()!.items.keys()].sort()).toEqual(jids());
  }, 60_000);

  it("the bot is reachable for pushes in the new session", async () => {
    await fromPhone((phone) => phone.rosterSet("frank@b.test", { groups: ["Late"] }));
    await until(() => service.get("frank@b.test") !== undefined, "push in the new session");
    expect(service.get("frank@b.test")?.groups).toEqual(["Late"]);
    await until(() => events.includes("added frank@b.test push"), "itemAdded event");
  });
});
