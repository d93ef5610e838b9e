/** The welcome plugin: unit checks (fakeShared) and the real thing against Prosody. */
import { xml } from "roster-bot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RosterService } from "../../plugins/roster/api.ts";
import { rosterConfigSchema } from "../../plugins/roster/config.ts";
import roster from "../../plugins/roster/index.ts";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";
import { startTestBot } from "../../test/helpers/bot.ts";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { tempDir } from "../../test/helpers/tmp.ts";
import welcome, { welcomeConfigSchema } from "./index.ts";

const RULES = {
  default: "reject",
  rules: [
    { name: "staff", match: { domain: "b.test" }, action: "mutual" },
    { name: "partners", match: { domain: "c.test" }, action: "accept" },
    { name: "held", match: { jid: "held@a.test" }, action: "ask" },
  ],
};

describe("welcome plugin without a network", () => {
  it("welcomes accepted and approved contacts only, with the configured text", async () => {
    const tmp = tempDir("welcome-");
    const env = fakeShared(tmp.dir);
    const rosterCtx = env.context("roster");
    await roster.apply(rosterCtx, rosterConfigSchema.parse({ cache: false, subscriptions: RULES }));
    const ctx = env.context("welcome");
    await welcome.apply(ctx, welcomeConfigSchema.parse({ text: "Hi {jid}!" }));
    const service = env.shared.services.get("roster")!.value as RosterService;
    for (const from of ["ann@b.test/x", "carl@c.test", "eve@a.test", "held@a.test"]) {
      await env.router.routeStanza(xml("presence", { from, type: "subscribe" }));
    }
    await service.subscriptions.approve("held@a.test", { by: "admin" });
    await new Promise((r) => setTimeout(r, 20));
    const messages = env.sent.filter((s) => s.name === "message").map((s) => `${s.attrs.to} ${s.attrs.type} ${s.getChildText("body")}`);
    expect(messages).toEqual(["ann@b.test chat Hi ann@b.test!", "carl@c.test chat Hi carl@c.test!", "held@a.test chat Hi held@a.test!"]);
    expect(await env.shared.metrics.scrape()).toContain('roster_bot_welcome_messages_total{bot="b"} 3');
    await ctx.dispose();
    expect(await env.shared.metrics.scrape()).not.toContain("roster_bot_welcome_messages_total");
    await rosterCtx.dispose();
    tmp.remove();
  });
});

describe("welcome plugin against Prosody", () => {
  let server: ProsodyServer;
  beforeAll(async () => {
    server = await ProsodyServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function contact(jid: string): Promise<TestClient> {
    const [user, host] = jid.split("@") as [string, string];
    server.createAccount(user, host, "pw");
    return TestClient.connect({ service: server.service, jid, password: "pw", roster: true, presence: true });
  }

  it("an accepted contact receives subscribed, then the welcome; a rejected one no welcome", async () => {
    const bot = "welcomebot@a.test";
    const { runtime } = await startTestBot({
      server,
      user: "welcomebot",
      plugins: [
        { definition: roster, config: { subscriptions: RULES } },
        { definition: welcome, config: { text: "Welcome aboard, {jid}." } },
      ],
    });
    const partner = await contact("carl@c.test");
    const staff = await contact("ann@b.test");
    const stranger = await contact("eve@a.test");
    const fromBot = (s: { attrs: Record<string, string | undefined> }) => (s.attrs.from ?? "").split("/")[0] === bot;
    const welcomeOf = (c: TestClient, ms = 5_000) => c.waitFor((s) => s.name === "message" && fromBot(s) && s.getChildText("body") !== null, ms);
    try {
      for (const [c, jid] of [[partner, "carl@c.test"], [staff, "ann@b.test"]] as const) {
        const subscribed = c.waitFor((s) => s.name === "presence" && fromBot(s) && s.attrs.type === "subscribed");
        const message = welcomeOf(c);
        await c.presence(bot, "subscribe");
        await subscribed;
        const m = await message;
        expect(m.attrs.type).toBe("chat");
        expect(m.getChildText("body")).toBe(`Welcome aboard, ${jid}.`);
      }
      const rejected = stranger.waitFor((s) => s.name === "presence" && fromBot(s) && s.attrs.type === "unsubscribed");
      await stranger.presence(bot, "subscribe");
      await rejected;
      await expect(welcomeOf(stranger, 700)).rejects.toThrow(/no matching stanza/);
    } finally {
      await Promise.all([partner, staff, stranger].map((c) => c.stop()));
      await runtime.stop();
    }
  });
});
