/**
 * Plugin lifecycle against a real Prosody: graceful shutdown (unavailable presence, plugins disposed
 * in reverse load order), a plugin that fails to apply, and a message handler that throws.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { definePlugin, type PluginDefinition } from "../../bots/plugin.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { startTestBot } from "../helpers/bot.ts";
import { waitForLog } from "../helpers/logger.ts";

let server: XmppTestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const bodyOf = (s: { getChildText(n: string): string | null }) => s.getChildText("body");
const isMessageFrom = (bare: string) => (s: { name: string; attrs: Record<string, string | undefined> }) =>
  s.name === "message" && (s.attrs.from ?? "").split("/")[0] === bare;

function echoPlugin(name: string, prefix: string, dependencies?: string[]): PluginDefinition {
  return definePlugin({
    name,
    dependencies,
    apply(ctx) {
      ctx.on("message", async (stanza) => {
        const body = bodyOf(stanza);
        if (!body || stanza.attrs.type === "error") return;
        await ctx.send(xml("message", { to: stanza.attrs.from, type: "chat" }, xml("body", {}, `${prefix}${body}`)));
      });
    },
  });
}

describe("graceful shutdown", () => {
  it("a subscribed contact sees the bot go unavailable, and plugins are disposed in reverse load order", async () => {
    const botUser = "shutdown-bot";
    const bot = `${botUser}@a.test`;
    const contact = "carol@b.test";
    // The contact is subscribed to the bot's presence (bot: from, contact: to), written before login.
    server.createAccount("carol", "b.test", "pw");
    server.writeRoster(botUser, "a.test", [{ jid: contact, subscription: "from" }]);
    server.writeRoster("carol", "b.test", [{ jid: bot, subscription: "to" }]);
    const carol = await TestClient.connect({ service: server.service, jid: contact, password: "pw", roster: true, presence: true });

    const events: string[] = [];
    const recording = (name: string, dependencies?: string[]) =>
      definePlugin({
        name,
        dependencies,
        apply(ctx) {
          events.push(`apply ${name}`);
          ctx.onSession(() => void events.push(`session ${name}`));
          ctx.onDispose(async () => {
            events.push(`dispose ${name} online=${ctx.isOnline}`);
            // Still connected while disposing: a plugin can say goodbye.
            if (name === "audit") await ctx.send(xml("message", { to: contact, type: "chat" }, xml("body", {}, "audit: goodbye")));
          });
        },
      });

    try {
      // Listed out of order on purpose: dependencies decide the load order.
      const { runtime, logs } = await startTestBot({
        server,
        user: botUser,
        plugins: [
          { definition: recording("audit", ["roster"]) },
          { definition: recording("roster", ["store"]) },
          { definition: recording("store") },
          { definition: recording("metrics") },
        ],
      });
      expect(runtime.activePlugins).toEqual(["store", "roster", "audit", "metrics"]);
      await carol.waitFor((s) => s.name === "presence" && (s.attrs.from ?? "").startsWith(`${bot}/`) && !s.attrs.type, 5_000, true);

      await runtime.stop();

      const unavailable = await carol.waitFor(
        (s) => s.name === "presence" && s.attrs.type === "unavailable" && (s.attrs.from ?? "").startsWith(`${bot}/`),
        5_000,
        true,
      );
      expect(unavailable.attrs.from).toBe(`${bot}/roster-bot`);
      await new Promise((r) => setTimeout(r, 300));
      // Once: closing the stream after the explicit unavailable presence does not repeat it.
      expect(carol.presencesFrom(bot, "unavailable").filter((s) => s.attrs.from === `${bot}/roster-bot`)).toHaveLength(1);
      const goodbye = await carol.waitFor((s) => isMessageFrom(bot)(s) && bodyOf(s) === "audit: goodbye", 5_000, true);
      expect(goodbye).toBeDefined();

      expect(events).toEqual([
        "apply store",
        "apply roster",
        "apply audit",
        "apply metrics",
        "session store",
        "session roster",
        "session audit",
        "session metrics",
        "dispose metrics online=true",
        "dispose audit online=true",
        "dispose roster online=true",
        "dispose store online=true",
      ]);
      expect(runtime.activePlugins).toEqual([]);
      expect(runtime.connection.isOnline).toBe(false);
      await runtime.stop();
      expect(logs.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    } finally {
      await carol.stop();
    }
  });
});

describe("plugin failures", () => {
  it("a plugin whose apply throws is disabled, with the plugins depending on it; the others keep working", async () => {
    server.createAccount("dave", "b.test", "pw");
    const disposed: string[] = [];
    let brokenHandlerCalls = 0;
    const broken = definePlugin({
      name: "broken",
      async apply(ctx) {
        // Registered before the failure: must be undone when the plugin is disabled.
        ctx.on("message", () => void brokenHandlerCalls++);
        ctx.onDispose(() => void disposed.push("broken"));
        await new Promise((r) => setTimeout(r, 5));
        throw new Error("cannot start: missing table");
      },
    });
    let dependentApplied = false;
    const dependent = definePlugin({
      name: "dependent",
      dependencies: ["broken"],
      apply() {
        dependentApplied = true;
      },
    });
    const { runtime, logs } = await startTestBot({
      server,
      user: "failing-plugins-bot",
      plugins: [
        { definition: echoPlugin("first", "first: ") },
        { definition: broken },
        { definition: dependent },
        { definition: echoPlugin("last", "last: ") },
      ],
    });
    const dave = await TestClient.connect({ service: server.service, jid: "dave@b.test", password: "pw" });
    try {
      expect(runtime.activePlugins).toEqual(["first", "last"]);
      expect(dependentApplied).toBe(false);
      expect(disposed).toEqual(["broken"]);

      const failed = await waitForLog(logs, (l) => l.plugin === "broken" && String(l.msg).includes("failed to start"));
      expect(failed.msg).toBe('plugin "broken" failed to start and is disabled');
      expect((failed.err as { message: string }).message).toBe("cannot start: missing table");
      const blocked = await waitForLog(logs, (l) => l.plugin === "dependent");
      expect(blocked.msg).toBe('plugin "dependent" disabled: it depends on failed plugin(s) broken');

      await dave.send(xml("message", { to: runtime.connection.fullJid, type: "chat" }, xml("body", {}, "ping")));
      const replies = [
        await dave.waitFor((s) => bodyOf(s) === "first: ping"),
        await dave.waitFor((s) => bodyOf(s) === "last: ping", 5_000, true),
      ];
      expect(replies).toHaveLength(2);
      expect(brokenHandlerCalls).toBe(0);
    } finally {
      await dave.stop();
      await runtime.stop();
    }
  });

  it("a message handler that throws does not stop other handlers or the bot", async () => {
    server.createAccount("erin", "b.test", "pw");
    let thrown = 0;
    const thrower = definePlugin({
      name: "thrower",
      apply(ctx) {
        ctx.on("message", (stanza) => {
          if (!bodyOf(stanza)) return;
          thrown++;
          throw new Error(`handler exploded #${thrown}`);
        });
        ctx.on("message", async (stanza) => {
          if (!bodyOf(stanza)) return;
          await Promise.reject(new Error("async handler exploded"));
        });
      },
    });
    const { runtime, logs } = await startTestBot({
      server,
      user: "throwing-handler-bot",
      plugins: [{ definition: thrower }, { definition: echoPlugin("echo", "echo: ") }],
    });
    const erin = await TestClient.connect({ service: server.service, jid: "erin@b.test", password: "pw" });
    try {
      for (const body of ["one", "two", "three"]) {
        await erin.send(xml("message", { to: runtime.connection.fullJid, type: "chat" }, xml("body", {}, body)));
        const reply = await erin.waitFor((s) => bodyOf(s) === `echo: ${body}`);
        expect(reply).toBeDefined();
      }
      expect(thrown).toBe(3);
      expect(runtime.connection.isOnline).toBe(true);
      const errors = logs.lines.filter((l) => l.plugin === "thrower" && l.level === 50);
      expect(errors).toHaveLength(6);
      expect(errors[0]!.msg).toBe('plugin "thrower" failed handling a message');
      const pong = await erin.client.iqCaller.request(xml("iq", { type: "get", to: runtime.connection.fullJid }, xml("ping", { xmlns: "urn:xmpp:ping" })));
      expect(pong.attrs.type).toBe("result");
    } finally {
      await erin.stop();
      await runtime.stop();
    }
  });

  it("an iq handler that throws answers with an error instead of crashing", async () => {
    server.createAccount("frank", "b.test", "pw");
    const iqPlugin = definePlugin({
      name: "iq-plugin",
      apply(ctx) {
        ctx.onIq("get", "urn:example:boom", "query", () => {
          throw new Error("iq handler exploded");
        });
        ctx.onIq("get", "urn:example:ok", "query", () => xml("query", { xmlns: "urn:example:ok" }, xml("fine")));
      },
    });
    const { runtime } = await startTestBot({ server, user: "iq-bot", plugins: [{ definition: iqPlugin }] });
    const frank = await TestClient.connect({ service: server.service, jid: "frank@b.test", password: "pw" });
    try {
      const to = runtime.connection.fullJid;
      const err = await frank.client.iqCaller
        .request(xml("iq", { type: "get", to }, xml("query", { xmlns: "urn:example:boom" })), 5_000)
        .catch((e: { condition?: string }) => e);
      expect((err as { condition?: string }).condition).toBe("internal-server-error");
      const ok = await frank.client.iqCaller.request(xml("iq", { type: "get", to }, xml("query", { xmlns: "urn:example:ok" })));
      expect(ok.getChild("query", "urn:example:ok")?.getChild("fine")).toBeDefined();
      expect(runtime.connection.isOnline).toBe(true);
    } finally {
      await frank.stop();
      await runtime.stop();
    }
  });
});
