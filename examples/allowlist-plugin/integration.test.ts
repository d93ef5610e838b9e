/**
 * The allowlist plugin against Prosody, loaded the way a user loads it: by relative path from a
 * config file. A listed contact is accepted although the YAML default is reject.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../bots/logger.ts";
import { Host } from "../../bots/host.ts";
import { prepareConfig } from "../../bots/prepare.ts";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient } from "../../scripts/xmpp-client.ts";
import { LogCapture } from "../../test/helpers/bot.ts";
import { waitForLog } from "../../test/helpers/logger.ts";
import { lines, REPO_ROOT, tempDir, type TempDir } from "../../test/helpers/tmp.ts";

let server: ProsodyServer;
let tmp: TempDir;
beforeAll(async () => {
  server = await ProsodyServer.start();
  tmp = tempDir("allowlist-it-");
});
afterAll(async () => {
  await server?.stop();
  tmp?.remove();
});

async function contact(jid: string): Promise<TestClient> {
  const [user, host] = jid.split("@") as [string, string];
  server.createAccount(user, host, "pw");
  return TestClient.connect({ service: server.service, jid, password: "pw", roster: true, presence: true });
}

describe("allowlist plugin against Prosody", () => {
  it("accepts a listed contact although the YAML default is reject, and follows file changes", async () => {
    const bot = "listbot@a.test";
    server.createAccount("listbot", "a.test", "list-pw");
    process.env.ALLOWLIST_IT_PW = "list-pw";
    const pluginKey = "./" + path.relative(tmp.dir, path.join(REPO_ROOT, "examples/allowlist-plugin/index.ts")).split(path.sep).join("/");
    expect(pluginKey).toMatch(/^\.\/\.\.\/\.\.\/examples\//);
    tmp.write("allowlist.json", JSON.stringify({ jids: ["vip@b.test"], domains: ["c.test"] }));
    const file = tmp.write(
      "bot.config.yaml",
      lines(
        "bots:",
        "  - id: listbot",
        `    jid: ${bot}`,
        "    password: ${ALLOWLIST_IT_PW}",
        `    service: ${server.service}`,
        "    tls: plaintext-loopback",
        "    dataDir: ./data",
        "    plugins:",
        "      roster:",
        "        subscriptions:",
        "          default: reject",
        "          rules:",
        "            - name: b-test-rejected",
        "              match: { domain: b.test }",
        "              action: reject",
        `      ${pluginKey}:`,
        "        file: ./allowlist.json",
      ),
    );
    const logs = new LogCapture();
    const prepared = await prepareConfig(file, { secrets: true });
    const host = new Host(prepared.bots, createLogger("info", logs), { configDir: tmp.dir });
    const { started } = await host.start();
    expect(started).toHaveLength(1);
    const vip = await contact("vip@b.test");
    const partner = await contact("carl@c.test");
    const other = await contact("bob@b.test");
    const late = await contact("late@a.test");
    const answer = (c: TestClient) =>
      c.waitFor((s) => s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === bot && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""));
    try {
      for (const c of [vip, partner]) {
        const a = answer(c);
        await c.presence(bot, "subscribe");
        expect((await a).attrs.type).toBe("subscribed");
      }
      let a = answer(other);
      await other.presence(bot, "subscribe");
      expect((await a).attrs.type).toBe("unsubscribed");

      const loadedBefore = logs.lines.filter((l) => l.msg === "allowlist loaded").length;
      tmp.write("allowlist.json", JSON.stringify({ jids: ["late@a.test"] }));
      await waitForLog(logs, () => logs.lines.filter((l) => l.msg === "allowlist loaded").length > loadedBefore);
      a = answer(late);
      await late.presence(bot, "subscribe");
      expect((await a).attrs.type).toBe("subscribed");

      const audit = readFileSync(path.join(tmp.dir, "data", "audit.log"), "utf8");
      expect(audit).toMatch(/"from":"vip@b\.test","action":"accept","decidedBy":"allowlist"/);
    } finally {
      await Promise.all([vip, partner, other, late].map((c) => c.stop()));
      await host.stop();
    }
  });
});
