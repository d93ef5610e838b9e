/**
 * Fault: plugins whose hook taps throw or never return, loaded by the host from the config file
 * (`roster-bot run`, its own process) next to the roster and admin plugins. Every request is still
 * decided within the hook timeout, a whole burst at once (a hanging tap holds up only its own
 * request); each failure is logged with hook and tap; admin commands and SIGTERM still work.
 * plugins/roster/subscription-handler.test.ts covers the same without a network.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { lines, tempDir, type TempDir } from "../helpers/tmp.ts";
import { until } from "../helpers/wait.ts";
import { bareOf, connectCrowd, readAudit, spawnBot, yamlConfig, type BotProcess } from "./support.ts";

const BOT = "hookbot@a.test";
const PASSWORD = "hook-bot-password";
const TIMEOUT_MS = 500;

let server: ProsodyServer;
let tmp: TempDir;
let bot: BotProcess | undefined;
const clients: TestClient[] = [];

beforeAll(async () => {
  server = await ProsodyServer.start({ logLevel: "warn" });
  server.createAccount("hookbot", "a.test", PASSWORD);
  tmp = tempDir("fault-hooks-");
  tmp.write(
    "throwing.ts",
    lines(
      'import { definePlugin } from "../../bots/plugin.ts";',
      "export default definePlugin({",
      '  name: "throwing",',
      '  dependencies: ["roster"],',
      "  apply(ctx) {",
      '    const roster = ctx.use("roster");',
      '    ctx.tap(roster.hooks.subscriptionRequest, () => { throw new Error("directory is down"); }, { order: -20 });',
      '    ctx.tap(roster.hooks.subscriptionDecided, () => { throw new Error("notifier is down"); });',
      '    ctx.tap(roster.hooks.itemAdded, async () => { throw new Error("crm is down"); });',
      "  },",
      "});",
    ),
  );
  tmp.write(
    "hanging.ts",
    lines(
      'import { definePlugin } from "../../bots/plugin.ts";',
      "export default definePlugin({",
      '  name: "hanging",',
      '  dependencies: ["roster"],',
      "  apply(ctx) {",
      '    const roster = ctx.use("roster");',
      "    ctx.tap(roster.hooks.subscriptionRequest, () => new Promise(() => {}), { order: -10 });",
      "    ctx.tap(roster.hooks.subscriptionDecided, () => new Promise(() => {}));",
      "    ctx.tap(roster.hooks.itemAdded, () => new Promise(() => {}));",
      "  },",
      "});",
    ),
  );
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await bot?.kill9();
  await server?.stop();
  tmp?.remove();
});

const answerOf = (c: TestClient, ms = 10_000) =>
  c.waitFor((s) => s.name === "presence" && bareOf(s.attrs.from) === BOT && ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""), ms).then((s) => s.attrs.type);

describe("plugins whose hooks throw or never return, loaded by the host", () => {
  it("are isolated and timed out; the rules or the default decide; the bot keeps serving", async () => {
    const config = yamlConfig(tmp.write, "bot.config.yaml", {
      log: { level: "info" },
      bots: [
        {
          id: "hooks",
          jid: BOT,
          password: "${HOOK_BOT_PASSWORD}",
          service: server.service,
          tls: "plaintext-loopback",
          dataDir: "./data",
          plugins: {
            roster: {
              subscriptions: {
                default: "reject",
                hookTimeout: `${TIMEOUT_MS}ms`,
                rules: [{ name: "staff", match: { domain: "b.test" }, action: "accept" }],
              },
            },
            admin: { admins: ["boss@a.test"] },
            "./throwing.ts": {},
            "./hanging.ts": {},
          },
        },
      ],
    });
    bot = spawnBot(["run", "--config", config], { cwd: tmp.dir, logFile: path.join(tmp.dir, "bot.log"), env: { HOOK_BOT_PASSWORD: PASSWORD } });
    await bot.waitForOutput(/"msg":"session ready"/);
    expect(bot.output()).not.toMatch(/failed to start and is disabled/);

    // 10 the rules accept, 10 the default rejects.
    const jids = [...Array.from({ length: 10 }, (_, i) => `staff${i}@b.test`), ...Array.from({ length: 10 }, (_, i) => `stranger${i}@c.test`)];
    const crowd = await connectCrowd(server, jids);
    clients.push(...crowd);
    server.createAccount("boss", "a.test", "pw");
    const boss = await TestClient.connect({ service: server.service, jid: "boss@a.test", password: "pw", resource: "phone", presence: true });
    clients.push(boss);

    const t0 = performance.now();
    const answers = Promise.all(crowd.map((c) => answerOf(c).then((type) => ({ type, ms: performance.now() - t0 }))));
    for (const c of crowd) await c.presence(BOT, "subscribe");
    // The admin asks while every request is stuck in the hanging tap.
    const stats = boss.waitFor((s) => s.name === "message" && s.getChildText("body") !== null, 5_000).then(() => performance.now() - t0);
    await boss.send(xml("message", { to: BOT, type: "chat" }, xml("body", {}, "stats")));
    const adminMs = await stats;
    const got = await answers;
    const burstMs = Math.max(...got.map((g) => g.ms));

    expect(got.map((g) => g.type)).toEqual([...Array(10).fill("subscribed"), ...Array(10).fill("unsubscribed")]);
    // Each request waited for the hanging tap's timeout once, all of them at the same time.
    expect(Math.min(...got.map((g) => g.ms))).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(burstMs).toBeLessThan(TIMEOUT_MS * 4);
    expect(adminMs).toBeLessThan(1_000);

    const audit = readAudit(path.join(tmp.dir, "data", "audit.log")).filter((l) => l.kind === "decision");
    expect(audit.map((l) => l.decidedBy).sort()).toEqual([...Array(10).fill("default"), ...Array(10).fill("rules")]);
    // Read afresh on every call: notify-hook failures keep arriving while the test waits.
    const failures = () => bot!.logLines().filter((l) => l.hook !== undefined);
    const count = (hook: string, tap: string, outcome?: string) =>
      failures().filter((l) => l.hook === hook && l.tap === tap && (outcome === undefined || String(l.msg).endsWith(`(${outcome})`))).length;
    expect(count("roster.subscriptionRequest", "throwing", "treated as no answer")).toBe(20);
    expect(count("roster.subscriptionRequest", "hanging", "treated as no answer")).toBe(20);
    expect(failures().find((l) => l.tap === "throwing" && l.hook === "roster.subscriptionRequest")!.err).toMatchObject({ message: "directory is down" });
    expect(failures().find((l) => l.tap === "hanging" && l.hook === "roster.subscriptionRequest")!.err).toMatchObject({ message: `tap "hanging" did not finish within ${TIMEOUT_MS} ms` });
    // Notify hooks: the throwing taps are logged once per event, the hanging ones after their timeout.
    // (itemAdded fires as the server's pushes for the 10 accepted contacts arrive, which a busy
    // server may spread out: wait for all of them.)
    await until(() => Math.min(count("roster.itemAdded", "throwing"), count("roster.itemAdded", "hanging")) >= 10, 15_000, "itemAdded failures of both taps for the 10 accepted contacts").catch((err: Error) => {
      const trace = bot!.output().split("\n").filter((l) => /session|stream|connect|itemAdded|push/.test(l));
      throw new Error(`${err.message}\n${trace.slice(-60).join("\n")}`);
    });
    expect(count("roster.subscriptionDecided", "throwing", "ignored")).toBe(20);
    expect(count("roster.itemAdded", "throwing", "ignored")).toBeGreaterThanOrEqual(10);

    const late = await connectCrowd(server, ["late@b.test"]);
    clients.push(...late);
    const lateAnswer = answerOf(late[0]!);
    await late[0]!.presence(BOT, "subscribe");
    expect(await lateAnswer).toBe("subscribed");
    const reply = boss.waitFor((s) => s.name === "message" && (s.getChildText("body") ?? "").startsWith("Contacts:"), 5_000);
    await boss.send(xml("message", { to: BOT, type: "chat" }, xml("body", {}, "stats")));
    expect((await reply).getChildText("body")).toMatch(/accept 11/);

    // Hanging taps do not hold up shutdown.
    const stopStart = performance.now();
    expect((await bot.stop()).code).toBe(0);
    const stopMs = performance.now() - stopStart;
    expect(stopMs).toBeLessThan(5_000);
    console.log("plugin-hooks:", JSON.stringify({ requests: 20, burstMs: Math.round(burstMs), adminMs: Math.round(adminMs), stopMs: Math.round(stopMs), hookFailuresLogged: failures().length }));
  });
});
