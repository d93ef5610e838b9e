/**
 * Accounts with non-ASCII local parts and passwords log in (SASL wants UTF-8; xmpp.js's btoa()
 * alone throws outside Latin-1 and sends Latin-1 bytes inside it): the bot with SCRAM-SHA-1, a
 * contact with PLAIN, and they exchange a message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { definePlugin } from "../../bots/plugin.ts";
import { serverKind, startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { startTestBot } from "../helpers/bot.ts";
import { until } from "../helpers/wait.ts";

let server: XmppTestServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const echo = definePlugin({
  name: "echo",
  apply(ctx) {
    ctx.on("message", async (stanza) => {
      const body = stanza.getChildText("body");
      if (body && stanza.attrs.type !== "error") await ctx.send(xml("message", { to: stanza.attrs.from, type: "chat" }, xml("body", {}, `echo: ${body}`)));
    });
  },
});

// ejabberd refuses to register a password that fails its stringprep (🔑 is unassigned in the
// Unicode 3.2 tables stringprep uses), so there the password outside Latin-1 stays in the BMP.
const OUTSIDE_LATIN1 = serverKind() === "ejabberd" ? "密码-✓-ключ" : "密码-✓-🔑";

describe("non-ASCII credentials", () => {
  it.each([
    ["Latin-1 characters", "jörg", "pässwörd"],
    ["characters outside Latin-1", "дмитрий", OUTSIDE_LATIN1],
  ])("log in with %s (bot: SCRAM-SHA-1, contact: PLAIN)", async (_, user, password) => {
    const { runtime, logs } = await startTestBot({ server, id: "unicode", user, password, plugins: [{ definition: echo }] });
    server.createAccount(`${user}-contact`, "b.test", password);
    const contact = await TestClient.connect({ service: server.service, jid: `${user}-contact@b.test`, password });
    try {
      const reply = contact.waitFor((s) => s.name === "message" && s.getChildText("body") === "echo: grüße");
      await contact.send(xml("message", { to: `${user}@a.test`, type: "chat" }, xml("body", {}, "grüße")));
      expect((await reply).attrs.from?.split("/")[0]).toBe(`${user}@a.test`);
      expect(logs.raw.join("\n")).not.toContain(password);
      if (server.kind === "ejabberd") {
        // ejabberd logs the mechanism (it offers DIGEST-MD5, PLAIN, SCRAM-SHA-512/256/1 and X-OAUTH2;
        // the bot takes the first that is not PLAIN and that xmpp.js speaks: SCRAM-SHA-1).
        // Its logger writes a moment later.
        await until(() => server.readLog().includes(`Accepted c2s PLAIN authentication for ${user}-contact@b.test`), 5_000, "the contact's login line");
        expect(server.readLog()).toContain(`Accepted c2s SCRAM-SHA-1 authentication for ${user}@a.test`);
      }
    } finally {
      await contact.stop();
      await runtime.stop();
    }
  });
});
