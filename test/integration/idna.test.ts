/**
 * Internationalized domains on the wire: a contact on a host configured in A-label form
 * (xn--bcher-kva.test) is the same contact as one written in U-labels (bücher.test) for rules,
 * held requests and explain, and is answered in the spelling the server uses.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Host } from "../../bots/host.ts";
import { createLogger } from "../../bots/logger.ts";
import { prepareConfig } from "../../bots/prepare.ts";
import roster from "../../plugins/roster/index.ts";
import { LogCapture, startTestBot } from "../helpers/bot.ts";
import type { TestClient } from "../../scripts/xmpp-client.ts";
import { spawnCli } from "../helpers/cli.ts";
import { useTestServer } from "../helpers/server-fixture.ts";

const IDN_HOST = "xn--bcher-kva.test"; // bücher.test
const fixture = useTestServer({ hosts: ["bot.test", IDN_HOST] });
const contact = (jid: string) => fixture.contact(jid);

const answer = (c: TestClient, from: string, ms = 3_000) =>
  c.waitFor((s) => s.name === "presence" && (s.attrs.from ?? "").split("/")[0] === from && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""), ms);

function decisionLines(dataDir: string): Record<string, unknown>[] {
  const lines = readFileSync(path.join(dataDir, "audit.log"), "utf8").trim().split("\n");
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.kind === "decision");
}

describe("a contact on an A-label host", () => {
  it("is rejected by a U-label domain rule, answered in A-labels, and a held request is approved by the U-label form", async () => {
    const subscriptions = {
      default: "accept",
      rules: [
        { name: "held", match: { jid: `held@${IDN_HOST}` }, action: "ask" },
        { name: "no-books", match: { domain: "bücher.test" }, action: "reject" },
      ],
    };
    const { runtime, config } = await startTestBot({ server: fixture.server, user: "idnabot", host: "bot.test", plugins: [{ definition: roster, config: { subscriptions } }] });
    const bot = "idnabot@bot.test";
    const stranger = await contact(`a@${IDN_HOST}`);
    const held = await contact(`held@${IDN_HOST}`);
    try {
      // The server stamps the request from a@xn--bcher-kva.test; the rule is written in U-labels.
      await stranger.presence(bot, "subscribe");
      const rejected = await answer(stranger, bot);
      expect(rejected.attrs.type).toBe("unsubscribed");
      // Delivered only because it went to the A-label spelling: to Prosody, bücher.test is another host.
      expect(rejected.attrs.to?.split("/")[0]).toBe(`a@${IDN_HOST}`);

      const subs = runtime.service("roster").subscriptions;
      expect(subs.explain(`a@${IDN_HOST}`)).toMatchObject({ jid: "a@bücher.test", input: `a@${IDN_HOST}`, action: "reject", rule: "no-books" });

      await held.presence(bot, "subscribe");
      await expect(answer(held, bot, 700)).rejects.toThrow();
      expect(subs.pending()).toMatchObject([{ jid: "held@bücher.test", address: `held@${IDN_HOST}` }]);
      const approved = answer(held, bot);
      await subs.approve("held@bücher.test", { by: "admin@bot.test" });
      expect((await approved).attrs.type).toBe("subscribed");

      // The audit log writes its lines at the next setImmediate (batched): let the approval's go out.
      await new Promise((resolve) => setImmediate(resolve));
      const lines = decisionLines(config.dataDir);
      expect(lines.find((l) => l.rule === "no-books")).toMatchObject({ from: "a@bücher.test", address: `a@${IDN_HOST}`, action: "reject", sent: ["unsubscribed"] });
      expect(lines.at(-1)).toMatchObject({ from: "held@bücher.test", address: `held@${IDN_HOST}`, action: "accept", via: "approve", sent: ["subscribed"] });
    } finally {
      await Promise.all([stranger.stop(), held.stop()]);
      await runtime.stop();
    }
  });
});

describe("a bot account on an A-label host", () => {
  // Prosody takes a VirtualHost in either spelling but keeps them apart: a client that names the
  // other spelling gets host-unknown. So the bot logs in with the spelling its config uses.
  it("logs in with the config's A-labels, and its rules in A-labels match a contact", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-idna-"));
    const file = path.join(dir, "bot.config.yaml");
    fixture.server.createAccount("idnahost", IDN_HOST, "idna-pw");
    process.env.IDNA_TEST_PW = "idna-pw";
    writeFileSync(
      file,
      `bots:
  - id: idnahost
    jid: idnahost@XN--BCHER-KVA.test
    password: \${IDNA_TEST_PW}
    service: ${fixture.server.service}
    tls: plaintext-loopback
    dataDir: ./data
    plugins:
      roster:
        subscriptions:
          default: reject
          rules:
            - name: neighbours
              match: { domain: xn--bcher-kva.test }
              action: accept
`,
    );
    const logs = new LogCapture();
    const prepared = await prepareConfig(file, { secrets: true });
    expect(prepared.bots[0]!.bot.jid).toBe("idnahost@bücher.test");
    const host = new Host(prepared.bots, createLogger("info", logs), { configDir: dir });
    await host.start();
    const neighbour = await contact(`n@${IDN_HOST}`);
    const outsider = await contact("o@bot.test");
    try {
      const bot = `idnahost@${IDN_HOST}`;
      await neighbour.presence(bot, "subscribe");
      expect((await answer(neighbour, bot)).attrs.type).toBe("subscribed");
      await outsider.presence(bot, "subscribe");
      expect((await answer(outsider, bot)).attrs.type).toBe("unsubscribed");
    } finally {
      await Promise.all([neighbour.stop(), outsider.stop()]);
      await host.stop();
    }
  });
});

describe("roster-bot explain", () => {
  it("names the normal form it decided on, and the JID as given; a list file in A-labels matches too", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-idna-explain-"));
    writeFileSync(path.join(dir, "partners.list"), "# partners\nxn--bcher-kva.test\n");
    writeFileSync(
      path.join(dir, "bot.config.yaml"),
      `bots:
  - id: main
    jid: bot@bot.test
    password: \${IDNA_EXPLAIN_PW}
    plugins:
      roster:
        subscriptions:
          default: reject
          rules:
            - name: partners
              match: { list: partners.list }
              action: accept
`,
    );
    const explain = async (...args: string[]) => {
      const run = spawnCli(["explain", ...args, "--config", "bot.config.yaml"], { cwd: dir, env: { IDNA_EXPLAIN_PW: "x" } });
      expect((await run.exited).code).toBe(0);
      return run.output();
    };
    expect((await explain("A@bücher.test")).split("\n")[0]).toBe("a@bücher.test: accept");
    expect((await explain("a@xn--bcher-kva.test")).split("\n").slice(0, 2)).toEqual([
      "a@bücher.test (given as a@xn--bcher-kva.test): accept",
      '  decided by rule "partners": jid listed in partners.list matches rule "partners"',
    ]);
    expect(JSON.parse(await explain("a@xn--bcher-kva.test", "--json"))).toMatchObject({ jid: "a@bücher.test", input: "a@xn--bcher-kva.test", action: "accept", rule: "partners" });
  });
});
