import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { definePlugin } from "../../bots/plugin.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { startTestBot } from "../helpers/bot.ts";

let server: XmppTestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("bot host against a real Prosody", () => {
  it("connects, routes a message to a plugin, and answers an unhandled iq with service-unavailable", async () => {
    const seen: string[] = [];
    const echo = definePlugin({
      name: "echo",
      apply(ctx) {
        ctx.on("message", async (stanza) => {
          const body = stanza.getChildText("body");
          if (!body) return;
          seen.push(body);
          await ctx.send(xml("message", { to: stanza.attrs.from, type: "chat" }, xml("body", {}, `echo: ${body}`)));
        });
      },
    });
    const { runtime } = await startTestBot({ server, user: "echo-bot", plugins: [{ definition: echo }] });
    server.createAccount("alice", "b.test", "pw");
    const alice = await TestClient.connect({ service: server.service, jid: "alice@b.test", password: "pw" });
    try {
      const botJid = runtime.connection.fullJid!;
      await alice.send(xml("message", { to: botJid, type: "chat" }, xml("body", {}, "hello")));
      const reply = await alice.waitFor((s) => s.name === "message" && !!s.getChildText("body"));
      expect(reply.getChildText("body")).toBe("echo: hello");
      expect(seen).toEqual(["hello"]);

      const err = await alice.client.iqCaller
        .request(xml("iq", { type: "get", to: botJid }, xml("query", { xmlns: "urn:example:unknown" })))
        .catch((e) => e);
      expect(err.condition).toBe("service-unavailable");
    } finally {
      await alice.stop();
      await runtime.stop();
    }
  });
});
