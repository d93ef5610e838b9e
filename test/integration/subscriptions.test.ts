/**
 * Subscription policy against a real Prosody: every action observed from the contact's side, the
 * redelivery of ignored requests, held requests across a restart, and hot reload.
 */
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../bots/logger.ts";
import { Host } from "../../bots/host.ts";
import { prepareConfig } from "../../bots/prepare.ts";
import { reloadHost } from "../../bots/reload.ts";
import roster from "../../plugins/roster/index.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";
import { LogCapture, startTestBot } from "../helpers/bot.ts";

let server: XmppTestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

const RULES = {
  default: "reject",
  rules: [
    { name: "staff", match: { domain: "b.test" }, action: "mutual" },
    { name: "partners", match: { jid: "*@c.test" }, action: "accept" },
    { name: "quiet", match: { regex: "^quiet[0-9]*@" }, action: "ignore" },
    { name: "held", match: { jid: "held@a.test" }, action: "ask" },
  ],
};

async function contact(jid: string): Promise<TestClient> {
  const [user, host] = jid.split("@") as [string, string];
  server.createAccount(user, host, "pw");
  return TestClient.connect({ service: server.service, jid, password: "pw", roster: true, presence: true });
}

const answer = (c: TestClient, from: string, ms = 3_000) =>
  c.waitFor((s) => s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === from && ["subscribed", "unsubscribed", "subscribe"].includes(s.attrs.type ?? ""), ms);

async function silence(c: TestClient, from: string, ms = 700): Promise<boolean> {
  return answer(c, from, ms).then(
    () => false,
    () => true,
  );
}

function auditLines(dataDir: string): Record<string, unknown>[] {
  return readFileSync(path.join(dataDir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
}

describe("each action, seen from the contact's side", () => {
  it("accept, mutual, reject, ignore and ask", async () => {
    const { runtime, config } = await startTestBot({ server, user: "policybot", plugins: [{ definition: roster, config: { subscriptions: RULES } }] });
    const bot = "policybot@a.test";
    const decided: string[] = [];
    runtime.service("roster").hooks.subscriptionDecided.tap("test", (d) => void decided.push(`${d.jid} ${d.action} ${d.decidedBy}`));
    const staff = await contact("alice@b.test");
    const partner = await contact("carl@c.test");
    const stranger = await contact("eve@a.test");
    const quiet = await contact("quiet1@a.test");
    const held = await contact("held@a.test");
    try {
      // mutual: a subscribe back, then subscribed.
      const approved = staff.waitFor((s) => s.attrs.type === "subscribed" && s.attrs.from?.startsWith(bot) === true);
      await staff.presence(bot, "subscribe");
      const first = await answer(staff, bot);
      expect(first.attrs.type).toBe("subscribe");
      await approved;
      await staff.presence(bot, "subscribed"); // alice approves the bot's request back

      await partner.presence(bot, "subscribe");
      expect((await answer(partner, bot)).attrs.type).toBe("subscribed");
      expect(await silence(partner, bot)).toBe(true); // accept does not subscribe back

      await stranger.presence(bot, "subscribe");
      expect((await answer(stranger, bot)).attrs.type).toBe("unsubscribed");

      await quiet.presence(bot, "subscribe");
      expect(await silence(quiet, bot)).toBe(true);

      await held.presence(bot, "subscribe");
      expect(await silence(held, bot)).toBe(true);
      expect(runtime.service("roster").subscriptions.pending().map((p) => p.jid)).toEqual(["held@a.test"]);

      const service = runtime.service("roster");
      await new Promise((r) => setTimeout(r, 200));
      expect(service.get("alice@b.test")).toMatchObject({ subscription: "both" });
      expect(service.get("carl@c.test")).toMatchObject({ subscription: "from" });
      expect(decided.sort()).toEqual(
        [
          "alice@b.test mutual rules",
          "carl@c.test accept rules",
          "eve@a.test reject default",
          "held@a.test ask rules",
          "quiet1@a.test ignore rules",
        ].sort(),
      );
      const lines = auditLines(config.dataDir).filter((l) => l.kind === "decision");
      expect(lines.find((l) => l.from === "alice@b.test")).toMatchObject({ action: "mutual", decidedBy: "rules", rule: "staff", sent: ["subscribe", "subscribed"], bot: "policybot" });
      expect(lines.find((l) => l.from === "eve@a.test")).toMatchObject({ action: "reject", decidedBy: "default" });
    } finally {
      await Promise.all([staff, partner, stranger, quiet, held].map((c) => c.stop()));
      await runtime.stop();
    }
  });
});

describe("across restarts", () => {
  it("an ignored request is redelivered at the next login and decided by the changed rules", async () => {
    const quiet = await contact("quiet2@a.test");
    const first = await startTestBot({ server, user: "redeliverbot", plugins: [{ definition: roster, config: { subscriptions: RULES } }] });
    await quiet.presence("redeliverbot@a.test", "subscribe");
    expect(await silence(quiet, "redeliverbot@a.test")).toBe(true);
    await first.runtime.stop();

    const changed = { ...RULES, rules: [{ name: "now-welcome", match: { regex: "^quiet" }, action: "accept" }] };
    const second = await startTestBot({ server, user: "redeliverbot", dataDir: first.config.dataDir, plugins: [{ definition: roster, config: { subscriptions: changed } }] });
    expect((await answer(quiet, "redeliverbot@a.test", 5_000)).attrs.type).toBe("subscribed");
    await second.runtime.stop();
    await quiet.stop();
  });

  it("a held request survives a restart and is approved through the API", async () => {
    const held = await contact("held@a.test");
    const first = await startTestBot({ server, user: "holdbot", plugins: [{ definition: roster, config: { subscriptions: RULES } }] });
    await held.presence("holdbot@a.test", "subscribe");
    await new Promise((r) => setTimeout(r, 500));
    expect(first.runtime.service("roster").subscriptions.pending().map((p) => p.jid)).toEqual(["held@a.test"]);
    await first.runtime.stop();

    const second = await startTestBot({ server, user: "holdbot", dataDir: first.config.dataDir, plugins: [{ definition: roster, config: { subscriptions: RULES } }] });
    const subs = second.runtime.service("roster").subscriptions;
    expect(subs.pending().map((p) => p.jid)).toEqual(["held@a.test"]);
    expect(await silence(held, "holdbot@a.test")).toBe(true); // the redelivered request stays held
    const decision = await subs.approve("held@a.test", { by: "test-admin" });
    expect(decision).toMatchObject({ action: "accept", decidedBy: "test-admin", sent: ["subscribed"] });
    expect((await answer(held, "holdbot@a.test")).attrs.type).toBe("subscribed");
    expect(subs.pending()).toEqual([]);
    await second.runtime.stop();
    await held.stop();
  });
});

describe("hot reload", () => {
  it("swaps valid rules and keeps the running rules when the new file is broken", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-reload-"));
    const file = path.join(dir, "bot.config.yaml");
    server.createAccount("reloadbot", "a.test", "reload-pw");
    process.env.RELOAD_TEST_PW = "reload-pw";
    const yaml = (action: string, extra = "") => `bots:
  - id: reloadbot
    jid: reloadbot@a.test
    password: \${RELOAD_TEST_PW}
    service: ${server.service}
    tls: plaintext-loopback
    dataDir: ./data
    plugins:
      roster:
        subscriptions:
          default: reject
          rules:
            - name: b-domain
              match: { domain: b.test }
              action: ${action}
${extra}`;
    writeFileSync(file, yaml("reject"));
    const logs = new LogCapture();
    const logger = createLogger("info", logs);
    const prepared = await prepareConfig(file, { secrets: true });
    const host = new Host(prepared.bots, logger, { configDir: dir });
    await host.start();
    const bob = await contact("bob@b.test");
    const carol = await contact("carol@b.test");
    try {
      await bob.presence("reloadbot@a.test", "subscribe");
      expect((await answer(bob, "reloadbot@a.test")).attrs.type).toBe("unsubscribed");

      writeFileSync(file, yaml("accept"));
      expect(await reloadHost(file, host, logger)).toBe(true);
      await carol.presence("reloadbot@a.test", "subscribe");
      expect((await answer(carol, "reloadbot@a.test")).attrs.type).toBe("subscribed");

      // Broken: a bad regex and an unknown key; then failing policy cases. The running rules (accept b.test) stay.
      writeFileSync(file, yaml("accept", `            - name: bad\n              match: { regex: "([" }\n              action: reject\n              colour: red\n`));
      expect(await reloadHost(file, host, logger)).toBe(false);
      const errors = logs.messages().filter((m) => m.startsWith("config not reloaded"));
      expect(errors.length).toBeGreaterThanOrEqual(2);
      expect(errors.some((m) => /bot\.config\.yaml:1[0-9]:\d+: .*regex/i.test(m))).toBe(true);
      expect(errors.some((m) => /bot\.config\.yaml:\d+:\d+: .*colour/.test(m))).toBe(true);

      // Valid rules whose policy test cases fail: refused like any invalid config, the case named.
      writeFileSync(path.join(dir, "policy.test.yaml"), "- name: b.test gets in\n  jid: x@b.test\n  expect: accept\n");
      const before = logs.messages().length;
      writeFileSync(file, yaml("reject", "          tests: ./policy.test.yaml\n"));
      expect(await reloadHost(file, host, logger)).toBe(false);
      const failing = logs.messages().slice(before).filter((m) => m.startsWith("config not reloaded"));
      expect(failing).toEqual([expect.stringMatching(/bot\.config\.yaml:\d+:\d+: .*subscriptions\.tests: policy test .*policy\.test\.yaml:1:3 b\.test gets in \(x@b\.test\) fails: expected accept, the rules gave reject \(decided by rule "b-domain": .*\)$/)]);
      const dave = await contact("dave@b.test");
      await dave.presence("reloadbot@a.test", "subscribe");
      expect((await answer(dave, "reloadbot@a.test")).attrs.type).toBe("subscribed");
      await dave.stop();
    } finally {
      await bob.stop();
      await carol.stop();
      await host.stop();
    }
  });
});
