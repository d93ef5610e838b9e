/**
 * The admin plugin against a real Prosody: admins hear about held requests and answer them by
 * chat; a non-admin is refused and audited; every read-only command replies.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { XmlElement } from "../../bots/xmpp.ts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BotConfig } from "../../bots/config/load.ts";
import type { BotRuntime } from "../../bots/runtime.ts";
import admin from "../../plugins/admin/index.ts";
import { REFUSED } from "../../plugins/admin/replies.ts";
import roster from "../../plugins/roster/index.ts";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { type LogCapture, startTestBot } from "../helpers/bot.ts";
import { waitForLog } from "../helpers/logger.ts";

const BOT = "adminbot@a.test";

let server: ProsodyServer;
let runtime: BotRuntime;
let logs: LogCapture;
let config: BotConfig;
let boss: TestClient;
const clients: TestClient[] = [];

async function contact(jid: string): Promise<TestClient> {
  const [user, host] = jid.split("@") as [string, string];
  server.createAccount(user, host, "pw");
  const c = await TestClient.connect({ service: server.service, jid, password: "pw", roster: true, presence: true });
  clients.push(c);
  return c;
}

const fromBot = (s: XmlElement) => (s.attrs.from ?? "").split("/")[0] === BOT;
const chatFromBot = (c: TestClient, ms = 5_000) => c.waitFor((s) => s.name === "message" && fromBot(s) && s.getChildText("body") !== null, ms);

async function command(c: TestClient, text: string): Promise<string> {
  const reply = chatFromBot(c);
  await c.send(xml("message", { to: BOT, type: "chat" }, xml("body", {}, text)));
  const stanza = await reply;
  expect(stanza.attrs.type).toBe("chat");
  expect(stanza.attrs.to).toBe(c.fullJid);
  return stanza.getChildText("body")!;
}

const subscriptionAnswer = (c: TestClient, ms = 3_000) =>
  c.waitFor((s) => s.name === "presence" && fromBot(s) && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""), ms);

/** The admin lines of the bot's audit log; written through a stream, so wait until one matches. */
async function auditLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs = 3_000): Promise<Record<string, unknown>> {
  const file = path.join(config.dataDir, "audit.log");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}")) : [];
    const found = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.kind === "admin" && pred(l));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching admin audit line; have:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  server = await ProsodyServer.start();
  const subscriptions = {
    default: "reject",
    rules: [
      { name: "staff", match: { domain: "b.test" }, action: "mutual" },
      { name: "unknown-partners", match: { domain: "c.test" }, action: "ask", reason: "partner domain, needs an admin" },
    ],
  };
  ({ runtime, logs, config } = await startTestBot({
    server,
    user: "adminbot",
    plugins: [
      { definition: roster, config: { subscriptions } },
      { definition: admin, config: { admins: ["Boss@B.test"] } },
    ],
  }));
  boss = await contact("boss@b.test");
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await runtime?.stop();
  await server?.stop();
});

describe("admin plugin", () => {
  it("notifies the admin of a held request; the admin approves it by chat and the contact gets subscribed", async () => {
    const held = await contact("held1@c.test");
    const note = chatFromBot(boss);
    await held.presence(BOT, "subscribe");
    const body = (await note).getChildText("body")!;
    expect(body).toContain("held1@c.test asks");
    expect(body).toContain("partner domain, needs an admin");
    expect(body).toContain('Reply "approve held1@c.test" or "deny held1@c.test".');
    expect(runtime.service("roster").subscriptions.pending().map((p) => p.jid)).toEqual(["held1@c.test"]);

    const answer = subscriptionAnswer(held);
    expect(await command(boss, "approve held1@c.test")).toBe("Approved held1@c.test: sent subscribed.");
    expect((await answer).attrs.type).toBe("subscribed");
    expect(runtime.service("roster").subscriptions.pending()).toEqual([]);
    expect(await auditLine((l) => l.command === "approve held1@c.test")).toMatchObject({ from: "boss@b.test", allowed: true, result: "ok", bot: "adminbot" });
  });

  it("an admin denies a held request", async () => {
    const held = await contact("held2@c.test");
    const note = chatFromBot(boss);
    await held.presence(BOT, "subscribe");
    await note;
    const answer = subscriptionAnswer(held);
    expect(await command(boss, "deny held2@c.test")).toBe("Denied held2@c.test: sent unsubscribed.");
    expect((await answer).attrs.type).toBe("unsubscribed");
  });

  it("refuses a non-admin politely: nothing approved, an audit line and a security log line", async () => {
    const held = await contact("held3@c.test");
    const note = chatFromBot(boss);
    await held.presence(BOT, "subscribe");
    await note;
    const eve = await contact("eve@a.test");
    expect(await command(eve, "approve held3@c.test")).toBe(REFUSED);
    await expect(subscriptionAnswer(held, 700)).rejects.toThrow(/no matching stanza/);
    expect(runtime.service("roster").subscriptions.pending().map((p) => p.jid)).toEqual(["held3@c.test"]);
    expect(await auditLine((l) => l.from === "eve@a.test")).toMatchObject({ command: "approve held3@c.test", allowed: false, result: "refused" });
    expect(await waitForLog(logs, (l) => l.security === true)).toMatchObject({ plugin: "admin", command: "approve held3@c.test" });
  });

  it("pending, explain, roster, stats and help reply with short plain text", async () => {
    expect(await command(boss, "pending")).toMatch(/^1 pending:\nheld3@c\.test - \d+s ago \(rule unknown-partners\)\nAnswer with/);
    expect((await command(boss, "explain Held3@C.test")).split("\n")).toEqual([
      "held3@c.test: ask",
      "rule unknown-partners: partner domain, needs an admin",
      "not in roster",
      expect.stringMatching(/^pending for \d+s$/),
      "(rules only: plugins and rate limits may answer otherwise)",
    ]);
    expect(await command(boss, "explain someone@elsewhere.test")).toContain("someone@elsewhere.test: reject\ndefault (no rule matches)\nnot in roster");

    const rosterReply = await command(boss, "roster");
    expect(rosterReply.split("\n")[0]).toMatch(/^\d+ contacts?:$/);
    expect(rosterReply).toContain("held1@c.test from");
    expect(await command(boss, "roster Nobody")).toBe('No contacts in group "Nobody".');

    const stats = await command(boss, "stats");
    expect(stats).toMatch(/^Contacts: \d+ \(both \d+, from \d+, to \d+, none \d+\)\nPending: 1\nDecisions since start \(\d+[smh] ago\): \d+ \(/);
    expect(stats).toMatch(/accept 1/);
    expect(stats).toMatch(/reject 1/);
    expect(stats).toMatch(/ask 3/);

    expect(await command(boss, "help")).toMatch(/^Commands:\nhelp - /);
    expect(await command(boss, "what")).toBe('Unknown command. Send "help" for the list.');
  });

  it("plan replies with the group sync plan", async () => {
    expect(await command(boss, "plan")).toMatch(/^Group sync/);
  });
});
