/**
 * The CLI end to end: `node bin/roster-bot.js` as a separate process against the test Prosody,
 * with the password in an environment variable.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { TestClient, xml } from "../../scripts/xmpp-client.ts";
import { kill, spawnCli, type Run } from "../helpers/cli.ts";
import { lines, tempDir, type TempDir } from "../helpers/tmp.ts";

const PASSWORD = "cli-e2e-password-6";

let server: XmppTestServer;
let tmp: TempDir;

beforeAll(async () => {
  server = await startServer();
  server.createAccount("cli-bot", "a.test", PASSWORD);
  server.createAccount("henry", "b.test", "pw");
  tmp = tempDir("cli-e2e-");
  tmp.write(
    "echo.ts",
    lines(
      'import { definePlugin, xml } from "roster-bot";',
      "export default definePlugin({",
      '  name: "echo",',
      "  apply(ctx) {",
      '    ctx.on("message", async (stanza) => {',
      '      const body = stanza.getChildText("body");',
      '      if (!body || stanza.attrs.type === "error") return;',
      '      await ctx.send(xml("message", { to: stanza.attrs.from, type: "chat" }, xml("body", {}, `cli: ${body}`)));',
      "    });",
      "  },",
      "});",
    ),
  );
});
afterAll(async () => {
  tmp?.remove();
  await server?.stop();
});

function config(name: string, tls: string, level = "debug"): string {
  return tmp.write(
    name,
    lines(
      `log: { level: ${level} }`,
      "bots:",
      "  - id: cli",
      "    jid: cli-bot@a.test",
      "    password: ${CLI_BOT_PASSWORD}",
      `    service: ${server.service}`,
      `    tls: ${tls}`,
      "    reconnect: { initialDelay: 100ms, maxDelay: 1s }",
      "    plugins:",
      "      ./echo.ts:",
    ),
  );
}

function roster(args: string[], env: Record<string, string> = {}): Run {
  return spawnCli(args, { cwd: tmp.dir, env });
}

describe("roster-bot CLI (separate process)", () => {
  it("run: exits 1 when the last bot fails for good (its password no longer works)", async () => {
    server.createAccount("cli-bot2", "a.test", "first-password");
    const base = readFileSync(config("fatal-base.yaml", "plaintext-loopback"), "utf8");
    const file = tmp.write("fatal.yaml", base.replace("cli-bot@a.test", "cli-bot2@a.test"));
    const run = roster(["run", "--config", file], { CLI_BOT_PASSWORD: "first-password" });
    try {
      await run.waitForOutput(/"msg":"session ready"/);
      server.createAccount("cli-bot2", "a.test", "changed-password");
      await server.restart();
      const { code } = await run.exited;
      expect(code).toBe(1);
      expect(run.output()).toMatch(/bot stopped after a permanent failure/);
    } finally {
      await kill(run);
    }
  });

  it("run: connects, serves, and exits 0 on SIGTERM after a graceful shutdown", async () => {
    const file = config("run.yaml", "plaintext-loopback");
    const run = roster(["run", "--config", file], { CLI_BOT_PASSWORD: PASSWORD });
    const henry = await TestClient.connect({ service: server.service, jid: "henry@b.test", password: "pw" });
    try {
      await run.waitForOutput(/"msg":"session ready"/);
      await henry.send(xml("message", { to: "cli-bot@a.test/roster-bot", type: "chat" }, xml("body", {}, "ping")));
      const reply = await henry.waitFor((s) => s.getChildText("body") === "cli: ping");
      expect(reply.attrs.from).toBe("cli-bot@a.test/roster-bot");

      run.child.kill("SIGTERM");
      const { code, signal } = await run.exited;
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(run.output()).toMatch(/"msg":"shutting down"/);
      expect(run.output()).toContain('"signal":"SIGTERM"');
      expect(run.output()).not.toContain(PASSWORD);
    } finally {
      await henry.stop();
      await kill(run);
    }
  });

  it("run --debug: prints the stanza trace without the password", async () => {
    const file = config("debug.yaml", "plaintext-loopback", "info");
    const run = roster(["run", "--debug", "--config", file], { CLI_BOT_PASSWORD: PASSWORD });
    try {
      await run.waitForOutput(/"msg":"session ready"/);
      run.child.kill("SIGINT");
      expect((await run.exited).code).toBe(0);
      const out = run.output();
      expect(out).toMatch(/OUT\n<auth /);
      expect(out).toContain("<bind");
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(Buffer.from(PASSWORD).toString("base64"));
    } finally {
      await kill(run);
    }
  });

  it('run: a bot with tls: required is refused by the plaintext server; exit 1, password never printed', async () => {
    const file = config("tls.yaml", "required", "trace");
    const run = roster(["run", "--debug", "--config", file], { CLI_BOT_PASSWORD: PASSWORD });
    try {
      const { code } = await run.exited;
      expect(code).toBe(1);
      const out = run.output();
      expect(out).toContain("TLS is required");
      expect(out).toContain("roster-bot: no bot could start");
      expect(out).not.toMatch(/OUT\n<auth /);
      expect(out).not.toContain(PASSWORD);
      expect(out).not.toContain(Buffer.from(PASSWORD).toString("base64"));
    } finally {
      await kill(run);
    }
  });

  it("check: exits 0 on a good config and 2 on a broken one, listing file:line:column", async () => {
    const good = config("good.yaml", "plaintext-loopback");
    const ok = roster(["check", "--config", good], { CLI_BOT_PASSWORD: PASSWORD });
    expect((await ok.exited).code).toBe(0);
    await ok.waitForOutput(/: ok\n/);

    const broken = tmp.write(
      "broken.yaml",
      lines(
        "bots:",
        "  - id: cli",
        "    jid: cli-bot@a.test",
        "    password: ${CLI_BOT_PASSWORD}",
        "    tls: maybe", // 5
        "    colour: blue", // 6
      ),
    );
    const bad = roster(["check", "--config", broken], { CLI_BOT_PASSWORD: PASSWORD });
    expect((await bad.exited).code).toBe(2);
    await bad.waitForOutput(/problem\(s\) in/);
    const out = bad.output();
    expect(out).toContain(`${broken}:5:10: bots[0].tls: `);
    expect(out).toContain(`${broken}:6:5: bots[0].colour: unknown key "colour"`);
    expect(out).toContain(`2 problem(s) in ${broken}`);
  });

  it("check: loads .mjs and .ts plugins (these through tsx); a CommonJS-scoped file or a missing package gets one line on what to change", async () => {
    const plugin = (name: string) => `export default { name: ${JSON.stringify(name)}, apply() {} };\n`;
    tmp.write("esm/package.json", JSON.stringify({ type: "module" }));
    tmp.write("esm/typed.ts", `import { definePlugin } from "roster-bot";\nexport default definePlugin({ name: "typed", apply(): void {} });\n`);
    tmp.write("esm/plain.mjs", plugin("plain"));
    tmp.write("cjs/package.json", "{}");
    tmp.write("cjs/legacy.ts", `import { definePlugin } from "roster-bot";\nexport default definePlugin({ name: "legacy", apply() {} });\n`);
    const body = (plugins: string[]) =>
      lines("bots:", "  - id: cli", "    jid: cli-bot@a.test", "    password: ${CLI_BOT_PASSWORD}", "    plugins:", ...plugins.map((p) => `      ${p}: {}`));
    const good = tmp.write("loaders.yaml", body(["./esm/typed.ts", "./esm/plain.mjs"]));
    const ok = roster(["check", "--config", good], { CLI_BOT_PASSWORD: PASSWORD });
    expect((await ok.exited).code).toBe(0);
    expect(ok.output()).toBe(`bot cli (cli-bot@a.test): plugins typed, plain\n${good}: ok\n`);

    tmp.write("esm/needs-pkg.mjs", 'import "left-pad-that-is-not-installed";\nexport default { name: "needs", apply() {} };\n');
    const missing = tmp.write("missing.yaml", body(["./esm/needs-pkg.mjs"]));
    const unresolved = roster(["check", "--config", missing], { CLI_BOT_PASSWORD: PASSWORD });
    expect((await unresolved.exited).code).toBe(2);
    expect(unresolved.output()).toContain(
      `plugin "./esm/needs-pkg.mjs" failed to load: it imports "left-pad-that-is-not-installed", which is not installed where the plugin is: ` +
        `run \`npm install left-pad-that-is-not-installed\` in ${path.join(tmp.dir, "esm")} (or a folder above it)\n`,
    );

    const cjs = tmp.write("cjs.yaml", body(["./cjs/legacy.ts"]));
    const bad = roster(["check", "--config", cjs], { CLI_BOT_PASSWORD: PASSWORD });
    expect((await bad.exited).code).toBe(2);
    const pkg = path.join(tmp.dir, "cjs/package.json");
    expect(bad.output()).toBe(
      `${cjs}:6:7: bots[0].plugins../cjs/legacy.ts: plugin "./cjs/legacy.ts" failed to load: Node reads legacy.ts as CommonJS ` +
        `(${pkg} has no "type": "module"): add "type": "module" to ${pkg}, or name the file legacy.mts\n1 problem(s) in ${cjs}\n`,
    );
  });

  it("run: a missing password variable is a config error (exit 2), before connecting", async () => {
    const file = config("nopw.yaml", "plaintext-loopback");
    const run = roster(["run", "--config", file], { CLI_BOT_PASSWORD: "" });
    expect((await run.exited).code).toBe(2);
    expect(run.output()).toContain(`${file}:5:15: bots[0].password: environment variable CLI_BOT_PASSWORD is not set`);
  });
});
