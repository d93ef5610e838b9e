/**
 * The admin plugin's policy commands on the wire (Prosody and ejabberd), with the bot run from a
 * config file as `roster-bot run` does: `test` runs the case file the config names (read again at
 * each call) and names a failing case with what the rules gave; `replay N` decides the requests the
 * bot recorded in its audit log again with the rules it runs after a hot reload, and names the JIDs
 * that flip and the rule that flips them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Host } from "../../bots/host.ts";
import { createLogger } from "../../bots/logger.ts";
import { prepareConfig } from "../../bots/prepare.ts";
import { reloadHost } from "../../bots/reload.ts";
import type { TestClient } from "../../scripts/xmpp-client.ts";
import { auditLineIn, sendCommand } from "../helpers/admin-chat.ts";
import { LogCapture } from "../helpers/bot.ts";
import { useTestServer } from "../helpers/server-fixture.ts";

const BOT = "policybot@a.test";
const fixture = useTestServer({ hosts: ["a.test", "b.test", "c.test", "d.test"] });

/** The bot's config: c.test are partners, everyone else is rejected; `extraRules` are added after. */
function configYaml(service: string, extraRules = ""): string {
  return `bots:
  - id: policybot
    jid: ${BOT}
    password: \${ADMIN_POLICY_TEST_PW}
    service: ${service}
    tls: plaintext-loopback
    dataDir: ./data
    plugins:
      roster:
        subscriptions:
          default: reject
          tests: ./policy.test.yaml
          rules:
            - name: partners
              match: { domain: c.test }
              action: accept
${extraRules}      admin:
        admins: [boss@b.test]
        notifyOnAsk: false
`;
}

const D_PARTNERS = `            - name: d-partners
              match: { domain: d.test }
              action: accept
`;

const cases = (dTest: "accept" | "reject") => `- name: partners are let in
  jid: alice@c.test
  expect: accept
  rule: partners
- name: d.test is ${dTest === "accept" ? "a partner now" : "turned away"}
  jid: eve@d.test
  expect: ${dTest}
`;

/** Sends a subscription request and waits for the bot's answer. */
async function ask(c: TestClient): Promise<string> {
  const answer = c.waitFor((s) => s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === BOT && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""), 5_000);
  await c.presence(BOT, "subscribe");
  return (await answer).attrs.type!;
}

describe("admin test and replay", () => {
  it("test names a case broken on disk; replay after a hot reload names the JIDs that flip and the rule", async () => {
    const server = fixture.server;
    const dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-admin-policy-"));
    const file = path.join(dir, "bot.config.yaml");
    const caseFile = path.join(dir, "policy.test.yaml");
    const dataDir = path.join(dir, "data");
    server.createAccount("policybot", "a.test", "policy-pw");
    process.env.ADMIN_POLICY_TEST_PW = "policy-pw";
    writeFileSync(file, configYaml(server.service));
    writeFileSync(caseFile, cases("reject"));

    const logs = new LogCapture();
    const logger = createLogger("info", logs);
    // As `run` loads it: the configured cases run in the check, and these pass.
    const prepared = await prepareConfig(file, { secrets: true });
    const host = new Host(prepared.bots, logger, { configDir: dir });
    await host.start();
    try {
      const boss = await fixture.contact("boss@b.test");
      const command = (text: string) => sendCommand(BOT, boss, text, 10_000);
      expect(await command("test")).toBe("Policy tests: 2 cases, all passed.");

      // The case file changes under the running bot: `test` reads it again and names the failing case.
      writeFileSync(caseFile, cases("accept"));
      const failing = (await command("test")).split("\n");
      expect(failing).toEqual([
        "Policy tests: 1 of 2 cases failed:",
        expect.stringMatching(/^✗ d\.test is a partner now \(eve@d\.test\) at .*policy\.test\.yaml:5:3$/),
        "  expected accept, the default gave reject",
        "  default (no rule matches)",
      ]);
      expect(await auditLineIn(dataDir, "admin", (l) => l.command === "test" && l.result !== "ok")).toMatchObject({ from: "boss@b.test", allowed: true, result: "1 of 2 cases failed" });

      // Requests decided by the running rules, each recorded in audit.log.
      const strangers = await Promise.all(["s1@d.test", "s2@d.test"].map((jid) => fixture.contact(jid)));
      const partner = await fixture.contact("carol@c.test");
      for (const s of strangers) expect(await ask(s)).toBe("unsubscribed");
      expect(await ask(partner)).toBe("subscribed");
      for (const jid of ["s1@d.test", "s2@d.test", "carol@c.test"]) await auditLineIn(dataDir, "decision", (l) => l.from === jid);

      // d.test become partners: the edited case now passes, so the hot reload is taken.
      writeFileSync(file, configYaml(server.service, D_PARTNERS));
      expect(await reloadHost(file, host, logger)).toBe(true);
      expect(await command("test")).toBe("Policy tests: 2 cases, all passed.");

      const replay = (await command("replay 1")).split("\n");
      expect(replay.slice(0, 4)).toEqual([
        expect.stringMatching(/^Replay of the last 1 day \(since \d{4}-\d\d-\d\d \d\d:\d\d UTC\) against the running rules:$/),
        "3 decisions, 3 of them by the rules (replayed): 2 would change.",
        "reject -> accept: 2",
        "now accept by rule d-partners: 2 (was reject 2)",
      ]);
      expect(replay[4]!.trim().split(", ").sort()).toEqual(["s1@d.test", "s2@d.test"]);
      expect(replay).toHaveLength(5);
      expect(await auditLineIn(dataDir, "admin", (l) => l.command === "replay 1")).toMatchObject({ from: "boss@b.test", allowed: true, result: "ok" });
    } finally {
      await host.stop();
    }
  });
});
