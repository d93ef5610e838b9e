/**
 * Several bots in one process (one with a wrong password), and the TLS policy: a bot that requires
 * TLS refuses the test server (which offers no STARTTLS) before authenticating. Passwords never
 * show up in logs or in the --debug stanza trace.
 */
import { rmSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { BotConfig } from "../../bots/config/load.ts";
import { Secret } from "../../bots/config/secret.ts";
import { TlsPolicyError } from "../../bots/connection.ts";
import { Host } from "../../bots/host.ts";
import { createLogger } from "../../bots/logger.ts";
import { definePlugin } from "../../bots/plugin.ts";
import { BotRuntime } from "../../bots/runtime.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { LogCapture, testBotConfig } from "../helpers/bot.ts";

let server: XmppTestServer;

beforeAll(async () => {
  server = await startServer();
  server.createAccount("grace", "b.test", "pw");
});
const dataDirs: string[] = [];
afterAll(async () => {
  await server?.stop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Replies "<id>: <body>" so a test can tell which bot answered. */
const echo = (id: string) =>
  definePlugin({
    name: "echo",
    apply(ctx) {
      ctx.on("message", async (stanza) => {
        const body = stanza.getChildText("body");
        if (!body || stanza.attrs.type === "error") return;
        await ctx.send(xml("message", { to: stanza.attrs.from, type: "chat" }, xml("body", {}, `${id}: ${body}`)));
      });
    },
  });

function botConfig(user: string, password: string, extra: Partial<BotConfig> = {}): BotConfig {
  const config = { ...testBotConfig({ server, user, id: user, password }), ...extra };
  dataDirs.push(config.dataDir);
  return config;
}

/** Everything that the xmpp.js debug trace prints (console.debug / console.error), as text. */
function captureTrace(): () => string {
  const out: string[] = [];
  const record = (...args: unknown[]) => void out.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(" "));
  vi.spyOn(console, "debug").mockImplementation(record);
  vi.spyOn(console, "error").mockImplementation(record);
  return () => out.join("\n");
}

describe("several bots in one process", () => {
  it("reports a bot with a wrong password clearly and keeps the other bots running", async () => {
    server.createAccount("good-bot", "a.test", "good-password-1");
    server.createAccount("other-bot", "c.test", "other-password-2");
    server.createAccount("bad-bot", "a.test", "the-real-password");
    const good = botConfig("good-bot", "good-password-1");
    const other = { ...botConfig("other-bot", "other-password-2"), jid: "other-bot@c.test" };
    const bad = botConfig("bad-bot", "wrong-password-3");
    const logs = new LogCapture();
    const host = new Host(
      [
        { bot: good, plugins: [{ key: "echo", definition: echo("good"), config: {} }] },
        { bot: bad, plugins: [{ key: "echo", definition: echo("bad"), config: {} }] },
        { bot: other, plugins: [{ key: "echo", definition: echo("other"), config: {} }] },
      ],
      createLogger("debug", logs),
      { configDir: process.cwd() },
    );
    const grace = await TestClient.connect({ service: server.service, jid: "grace@b.test", password: "pw" });
    try {
      const { started, failed } = await host.start();
      expect(started.map((r) => r.bot.id)).toEqual(["good-bot", "other-bot"]);
      expect(failed).toHaveLength(1);
      const [{ runtime, error }] = failed as [{ runtime: BotRuntime; error: Error & { condition?: string } }];
      expect(runtime.bot.id).toBe("bad-bot");
      expect(error.name).toBe("SASLError");
      expect(error.condition).toBe("not-authorized");
      const reported = logs.find((l) => l.bot === "bad-bot" && String(l.msg).startsWith('bot "bad-bot" could not start'));
      expect(reported?.msg).toMatch(/^bot "bad-bot" could not start: not-authorized/);
      expect(runtime.connection.isOnline).toBe(false);

      for (const [runtimeOf, id] of [
        [started[0]!, "good"],
        [started[1]!, "other"],
      ] as const) {
        await grace.send(xml("message", { to: runtimeOf.connection.fullJid, type: "chat" }, xml("body", {}, "hi")));
        const reply = await grace.waitFor((s) => s.getChildText("body") === `${id}: hi`);
        expect(reply.attrs.from).toBe(runtimeOf.connection.fullJid);
      }

      const text = logs.raw.join("\n");
      for (const pw of ["good-password-1", "other-password-2", "wrong-password-3", "the-real-password"]) expect(text).not.toContain(pw);
    } finally {
      await grace.stop();
      await host.stop();
    }
  });

  it("stops every bot on host.stop()", async () => {
    server.createAccount("one-bot", "a.test", "pw1");
    server.createAccount("two-bot", "a.test", "pw2");
    const host = new Host(
      [
        { bot: botConfig("one-bot", "pw1"), plugins: [] },
        { bot: botConfig("two-bot", "pw2"), plugins: [] },
      ],
      createLogger("silent"),
      { configDir: process.cwd() },
    );
    const { started, failed } = await host.start();
    expect(failed).toEqual([]);
    expect(started.every((r) => r.connection.isOnline)).toBe(true);
    await host.stop();
    expect(host.runtimes.some((r) => r.connection.isOnline)).toBe(false);
  });
});

describe("TLS policy", () => {
  it('a bot with tls: "required" refuses the plaintext server before authenticating', async () => {
    const password = "tls-required-secret-4";
    server.createAccount("tls-bot", "a.test", password);
    const trace = captureTrace();
    const logs = new LogCapture();
    const runtime = new BotRuntime(botConfig("tls-bot", password, { tls: "required" }), [], {
      logger: createLogger("trace", logs),
      configDir: process.cwd(),
      debug: true,
      retryInitial: true, // a policy refusal is permanent: no retrying even so
    });
    try {
      const err = await runtime.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TlsPolicyError);
      expect((err as Error).message).toMatch(/^refusing to authenticate over an unencrypted stream to 127\.0\.0\.1: TLS is required/);
      expect(runtime.connection.isOnline).toBe(false);
      expect(logs.find((l) => l.msg === "connection failed; retrying")).toBeUndefined();

      const traced = trace();
      expect(traced).toContain("<stream:features");
      expect(traced).not.toMatch(/<auth[\s>]/);
      // The servers' own words for a login (ejabberd's log line names the mechanism).
      expect(server.readLog()).not.toContain(server.kind === "ejabberd" ? "authentication for tls-bot@a.test" : "Authenticated as tls-bot@a.test");
      expect(traced).not.toContain(password);
      expect(traced).not.toContain(Buffer.from(password).toString("base64"));
      expect(logs.raw.join("\n")).not.toContain(password);
    } finally {
      await runtime.stop();
    }
  });

  it('"plaintext-loopback" allows the loopback test server, and the --debug trace hides the password', async () => {
    const password = "loopback-secret-5";
    server.createAccount("loopback-bot", "a.test", password);
    const trace = captureTrace();
    const logs = new LogCapture();
    const runtime = new BotRuntime(botConfig("loopback-bot", password, { tls: "plaintext-loopback" }), [], {
      logger: createLogger("trace", logs),
      configDir: process.cwd(),
      debug: true,
    });
    try {
      await runtime.start();
      expect(runtime.connection.isOnline).toBe(true);
      const traced = trace();
      // Over an unencrypted stream the bot does not use PLAIN (which would carry the password).
      expect(traced).toMatch(/<auth[^>]*mechanism="SCRAM-SHA-/);
      expect(traced).not.toContain('mechanism="PLAIN"');
      expect(traced).toContain("<bind");
      for (const form of [password, Buffer.from(password).toString("base64"), Buffer.from(`\0loopback-bot\0${password}`).toString("base64")]) {
        expect(traced).not.toContain(form);
      }
      expect(logs.raw.join("\n")).not.toContain(password);
    } finally {
      await runtime.stop();
    }
  });

  it('a bot without a password fails with a clear error', async () => {
    server.createAccount("nopw-bot", "a.test", "x");
    const config: BotConfig = { ...botConfig("nopw-bot", "x", { tls: "plaintext" }), password: undefined };
    const runtime = new BotRuntime(config, [], { logger: createLogger("silent"), configDir: process.cwd() });
    try {
      await expect(runtime.start()).rejects.toThrow('bot "nopw-bot" has no password');
    } finally {
      await runtime.stop();
    }
    // Secret is what the config loader produces; a bot built by hand uses it too.
    expect(new Secret("x").toString()).toBe("[redacted]");
  });
});
