/**
 * Security faults (issue #7) beyond multi-bot, cli and admin tests: the password never shows in
 * `roster-bot run --debug` output or the bot's files, across login, reconnect and a failed reconnect;
 * `tls: plaintext-loopback` refuses to authenticate to a non-loopback address (skipped without one;
 * bots/tls-policy.test.ts covers the check); an admin look-alike JID drives no command.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TlsPolicyError } from "../../bots/connection.ts";
import { createLogger } from "../../bots/logger.ts";
import { BotRuntime } from "../../bots/runtime.ts";
import admin from "../../plugins/admin/index.ts";
import { REFUSED } from "../../plugins/admin/replies.ts";
import roster from "../../plugins/roster/index.ts";
import { ProsodyServer } from "../../scripts/prosody.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { LogCapture, startTestBot, testBotConfig } from "../helpers/bot.ts";
import { tempDir, type TempDir } from "../helpers/tmp.ts";
import { until } from "../helpers/wait.ts";
import { bareOf, sleep, spawnBot, yamlConfig } from "./support.ts";

/** b.test with a Cyrillic "е": a different server that looks the same. */
const LOOKALIKE_HOST = "b.t\u0435st";

let server: ProsodyServer;
let tmp: TempDir;
const clients: TestClient[] = [];

beforeAll(async () => {
  server = await ProsodyServer.start({ hosts: ["a.test", "b.test", "c.test", LOOKALIKE_HOST], logLevel: "info" });
  tmp = tempDir("fault-security-");
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await server?.stop();
  tmp?.remove();
});

/** Every form in which a password could leak: as is, base64 (PLAIN), URL- and JSON-escaped, hex. */
function forms(user: string, password: string): string[] {
  return [
    password,
    Buffer.from(password).toString("base64"),
    Buffer.from(`\0${user}\0${password}`).toString("base64"),
    Buffer.from(`${user}\0${password}`).toString("base64"),
    encodeURIComponent(password),
    JSON.stringify(password).slice(1, -1),
    Buffer.from(password).toString("hex"),
  ];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe("the password never shows", () => {
  it("in `run --debug` output (trace level) across a SCRAM login, a reconnect and a failed reconnect, nor in the bot's files", async () => {
    const password = "Sesame-7f3a9c-debug";
    server.createAccount("secretbot", "a.test", password);
    const config = yamlConfig(tmp.write, "secret.yaml", {
      log: { level: "trace" },
      bots: [
        {
          id: "secret",
          jid: "secretbot@a.test",
          password: "${SECRET_BOT_PASSWORD}",
          service: server.service,
          tls: "plaintext-loopback",
          dataDir: "./secret-data",
          reconnect: { initialDelay: "100ms", maxDelay: "500ms" },
          plugins: { roster: { subscriptions: { default: "reject" } } },
        },
      ],
    });
    const bot = spawnBot(["run", "--debug", "--config", config], { cwd: tmp.dir, logFile: path.join(tmp.dir, "secret.log"), env: { SECRET_BOT_PASSWORD: password } });
    try {
      await bot.waitForOutput(/"msg":"session ready"/);
      // A reconnect: the server restarts, the bot logs in again (a new SCRAM exchange).
      await server.restart();
      await bot.waitForOutput(/"msg":"session ready"[\s\S]*"msg":"session ready"/, 30_000);
      // A failed reconnect: the password changed on the server; SASL fails, no retry, and with no
      // bot left the process exits 1.
      await server.stopProcess();
      server.createAccount("secretbot", "a.test", "another-password");
      await server.restart();
      await bot.waitForOutput(/"msg":"reconnect failed permanently"/, 30_000);
      expect((await bot.exited).code).toBe(1);

      const out = bot.output();
      // The trace shows three SASL exchanges, all SCRAM (PLAIN is never used over plaintext).
      expect(bot.count(/<auth [^>]*mechanism="SCRAM-SHA-1"/)).toBe(3);
      expect(out).not.toContain('mechanism="PLAIN"');
      expect(out).toMatch(/not-authorized/);
      for (const form of forms("secretbot", password)) expect(out).not.toContain(form);
      for (const file of filesUnder(path.join(tmp.dir, "secret-data"))) {
        const text = readFileSync(file, "latin1");
        for (const form of forms("secretbot", password)) expect(text, file).not.toContain(form);
      }
    } finally {
      await bot.kill9();
      server.createAccount("secretbot", "a.test", password);
    }
  });
});

const external = Object.values(os.networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal && !a.address.startsWith("127."))?.address;

describe.skipIf(!external)(`tls: plaintext-loopback against a non-loopback address (${external ?? "none on this machine"})`, () => {
  let relay: net.Server;
  let port: number;
  beforeAll(async () => {
    // This machine's own address, relayed to the test server (which listens on loopback only).
    relay = net.createServer((socket) => {
      const upstream = net.connect(server.port, "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      const close = () => (socket.destroy(), upstream.destroy());
      socket.on("error", close);
      upstream.on("error", close);
    });
    await new Promise<void>((resolve) => relay.listen(0, external, resolve));
    port = (relay.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => relay?.close(resolve));
  });

  function trace(): () => string {
    const out: string[] = [];
    const record = (...args: unknown[]) => void out.push(args.map(String).join(" "));
    vi.spyOn(console, "debug").mockImplementation(record);
    vi.spyOn(console, "error").mockImplementation(record);
    return () => out.join("\n");
  }

  it("refuses to authenticate before any SASL exchange; tls: plaintext reaches the same address", async () => {
    const password = "loopback-only-password-9";
    server.createAccount("farbot", "a.test", password);
    const base = { ...testBotConfig({ server, user: "farbot", password }), service: `xmpp://${external}:${port}`, dataDir: path.join(tmp.dir, "far") };

    const traced = trace();
    const logs = new LogCapture();
    const refused = new BotRuntime({ ...base, tls: "plaintext-loopback" }, [], { logger: createLogger("trace", logs), configDir: tmp.dir, debug: true, retryInitial: true });
    const logBefore = server.readLog().length;
    let err: unknown;
    try {
      err = await refused.start().then(() => undefined, (e: unknown) => e);
    } finally {
      await refused.stop();
      vi.restoreAllMocks();
    }
    expect(err).toBeInstanceOf(TlsPolicyError);
    expect((err as Error).message).toBe(`refusing to authenticate over an unencrypted stream to ${external}: plaintext is allowed only to a loopback address`);
    expect(traced()).toContain("<stream:features");
    expect(traced()).not.toMatch(/<auth[\s>]/);
    expect(server.readLog().slice(logBefore)).not.toContain("Authenticated as farbot@a.test");
    expect(logs.find((l) => l.msg === "connection failed; retrying")).toBeUndefined(); // permanent: no retry
    for (const form of forms("farbot", password)) expect(traced() + logs.raw.join("\n")).not.toContain(form);

    // Control: `tls: plaintext` reaches the same address, so the refusal is the policy, not the network.
    const allowed = new BotRuntime({ ...base, tls: "plaintext" }, [], { logger: createLogger("silent"), configDir: tmp.dir });
    try {
      await allowed.start();
      expect(allowed.connection.isOnline).toBe(true);
    } finally {
      await allowed.stop();
    }
  });
});

describe("admin commands", () => {
  it("an account that only looks like the admin (a Cyrillic е in its domain) cannot drive any command", async () => {
    const lookalike = `boss@${LOOKALIKE_HOST}`;
    const { runtime, logs } = await startTestBot({
      server,
      user: "secadmin",
      plugins: [
        { definition: roster, config: { subscriptions: { default: "reject", rules: [{ name: "held", match: { domain: "c.test" }, action: "ask" }] } } },
        { definition: admin, config: { admins: ["boss@b.test"] } },
      ],
    });
    try {
      const bot = "secadmin@a.test";
      const connect = async (jid: string) => {
        const [user, domain] = jid.split("@") as [string, string];
        server.createAccount(user, domain, "pw");
        const c = await TestClient.connect({ service: server.service, jid, password: "pw", resource: "phone", roster: true, presence: true });
        clients.push(c);
        return c;
      };
      const held = await connect("waiting@c.test");
      await held.presence(bot, "subscribe");
      const service = runtime.service("roster");
      await until(() => service.subscriptions.pending().length === 1, 5_000, "the held request");

      const fake = await connect(lookalike);
      expect(fake.bare).not.toBe("boss@b.test");
      const replies: string[] = [];
      fake.client.on("stanza", (s) => {
        if (s.name === "message" && bareOf(s.attrs.from) === bot) replies.push(s.getChildText("body") ?? "");
      });
      const commands = ["approve waiting@c.test", "grant waiting@c.test", "grant stranger@c.test", "deny waiting@c.test", "sync", "pending", "stats", "roster", "explain waiting@c.test"];
      for (const command of commands) {
        await fake.send(xml("message", { to: bot, type: "chat" }, xml("body", {}, command)));
      }
      await until(() => logs.lines.filter((l) => l.msg === "admin command refused: sender is not an admin").length === commands.length, 5_000, "every command refused");
      await sleep(300);
      // One polite refusal (a minute's worth), no data, nothing changed.
      expect(replies).toEqual([REFUSED]);
      expect(service.subscriptions.pending().map((p) => p.jid)).toEqual(["waiting@c.test"]);
      expect(held.presencesFrom(bot).filter((s) => ["subscribed", "unsubscribed"].includes(s.attrs.type ?? ""))).toEqual([]);
      expect(service.get("stranger@c.test")).toBeUndefined();
      expect(logs.lines.filter((l) => l.security === true && l.plugin === "admin").every((l) => bareOf(String(l.from)) === lookalike)).toBe(true);

      // The real admin is obeyed.
      const boss = await connect("boss@b.test");
      const answer = held.waitFor((s) => s.name === "presence" && bareOf(s.attrs.from) === bot && s.attrs.type === "subscribed");
      const reply = boss.waitFor((s) => s.name === "message" && (s.getChildText("body") ?? "").startsWith("Approved"));
      await boss.send(xml("message", { to: bot, type: "chat" }, xml("body", {}, "approve waiting@c.test")));
      await reply;
      await answer;
    } finally {
      await runtime.stop();
    }
  });
});
