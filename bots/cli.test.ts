import { chmodSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { cliInProcess } from "../test/helpers/cli.ts";
import { lines, REPO_ROOT, tempDir, type TempDir } from "../test/helpers/tmp.ts";
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from "./cli.ts";

const cli = cliInProcess;

describe("roster-bot CLI", () => {
  let tmp: TempDir;
  let good: string;
  let bad: string;

  beforeAll(() => {
    tmp = tempDir("cli-");
    tmp.write(
      "greeter.ts",
      lines(
        'import { z } from "zod";',
        'import { definePlugin } from "../../bots/plugin.ts";',
        'export default definePlugin({ name: "greeter", config: z.object({ text: z.string() }).strict(), apply() {} });',
      ),
    );
    good = tmp.write(
      "good.yaml",
      lines(
        "bots:",
        "  - id: main",
        "    jid: bot@example.org",
        "    password: ${CLI_TEST_PW}",
        "    service: xmpp://127.0.0.1:5222",
        "    plugins:",
        "      ./greeter.ts: { text: hello }",
        "  - id: second",
        "    jid: other@example.org",
        "    password: ${CLI_TEST_PW}",
      ),
    );
    bad = tmp.write(
      "bad.yaml",
      lines(
        "bots:",
        "  - id: main",
        "    jid: bot@example.org",
        "    password: literally-the-password", // 4
        "    tls: sometimes", // 5
        "    plugins:",
        "      ./greeter.ts: { text: 5 }", // 7
        "      nonexistent-plugin-xyz:", // 8
        "  - id: main", // 9
        "    jid: other@example.org",
        "    password: ${CLI_TEST_UNSET}",
        "    speed: fast", // 12
      ),
    );
  });
  afterAll(() => tmp.remove());
  afterEach(() => vi.unstubAllEnvs());

  it("check: a good config exits 0 and lists the bots and their plugins", async () => {
    vi.stubEnv("CLI_TEST_PW", "secret-value");
    const r = await cli("check", "--config", good);
    expect(r.err).toBe("");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toBe(
      `bot main (bot@example.org): plugins greeter\nbot second (other@example.org): plugins (none)\n${good}: ok\n`,
    );
    expect(r.out).not.toContain("secret-value");
  });

  it("check: warns, naming the file and its mode, when the password file is readable by group or others", async () => {
    const pw = tmp.write("loose-password", "pw\n");
    const file = tmp.write("loose.yaml", lines("bots:", "  - id: loose", "    jid: loose@example.org", `    passwordFile: ${pw}`));
    for (const [mode, says] of [
      [0o644, "group and others (mode 0644)"],
      [0o604, "others (mode 0604)"],
      [0o640, "group (mode 0640)"],
    ] as const) {
      chmodSync(pw, mode);
      const r = await cli("check", "--config", file);
      expect(r.code).toBe(EXIT_OK);
      expect(r.err).toBe(`warning: ${file}:4:19: bots[0].passwordFile: password file ${pw} is readable by ${says}; chmod 600 it\n`);
    }
    chmodSync(pw, 0o600);
    expect((await cli("check", "--config", file)).err).toBe("");
  });

  it("check: a missing password variable makes a good file fail", async () => {
    vi.stubEnv("CLI_TEST_PW", undefined);
    const r = await cli("check", "-c", good);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain(`${good}:4:15: bots[0].password: environment variable CLI_TEST_PW is not set`);
    expect(r.err).toContain(`${good}:10:15: bots[1].password: environment variable CLI_TEST_PW is not set`);
  });

  it("check: a bad config exits 2 and lists every error with file:line:column", async () => {
    const r = await cli("check", "--config", bad);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.out).toBe("");
    const errLines = r.err.trimEnd().split("\n");
    const summary = errLines.pop();
    // The host schema fails here (literal password, bad tls, unknown key); the plugin sections are
    // validated in the same pass all the same.
    expect(errLines).toEqual([
      `${bad}:4:15: bots[0].password: a literal password is refused: write \${ENV_VAR} or use passwordFile`,
      expect.stringMatching(new RegExp(`^${esc(bad)}:5:10: bots\\[0\\]\\.tls: Invalid option`)),
      `${bad}:7:29: bots[0].plugins../greeter.ts.text: Invalid input: expected string, received number`,
      expect.stringMatching(new RegExp(`^${esc(bad)}:8:7: bots\\[0\\]\\.plugins\\.nonexistent-plugin-xyz: plugin "nonexistent-plugin-xyz" (not found|failed to load)`)),
      `${bad}:12:5: bots[1].speed: unknown key "speed"`,
    ]);
    expect(summary).toBe(`5 problem(s) in ${bad}`);
    expect(r.err).not.toContain("literally-the-password");
  });

  it("check: errors found after the schema (duplicate id, plugins, variables) are all listed", async () => {
    const file = tmp.write(
      "bad2.yaml",
      lines(
        "bots:",
        "  - id: main",
        "    jid: bot@example.org",
        "    password: ${CLI_TEST_UNSET}", // 4
        "    plugins:",
        "      ./greeter.ts: { text: 5 }", // 6
        "      nonexistent-plugin-xyz:", // 7
        "  - id: main", // 8
        "    jid: other@", // 9
        "    passwordFile: ./no-such-file", // 10
      ),
    );
    const r = await cli("check", "--config", file);
    expect(r.code).toBe(EXIT_USAGE);
    const errLines = r.err.trimEnd().split("\n");
    expect(errLines.pop()).toBe(`6 problem(s) in ${file}`);
    expect(errLines.map((l) => l.slice(file.length + 1).replace(/: .*/s, ""))).toEqual([
      "4:15",
      "6:29",
      "7:7",
      "8:9",
      "9:10",
      "10:19",
    ]);
    expect(errLines[0]).toContain("environment variable CLI_TEST_UNSET is not set");
    expect(errLines[1]).toContain("bots[0].plugins../greeter.ts.text: Invalid input: expected string, received number");
    expect(errLines[2]).toMatch(/plugin "nonexistent-plugin-xyz" (not found|failed to load)/);
    expect(errLines[3]).toContain('duplicate bot id "main"');
    expect(errLines[4]).toContain('"other@" is not a valid bare JID');
    expect(errLines[5]).toContain("cannot read password file");
  });

  it("check: a missing config file exits 2", async () => {
    const r = await cli("check", "--config", `${tmp.dir}/nope.yaml`);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain("cannot read config: file not found");
  });

  it("check: takes the config from ROSTER_BOT_CONFIG", async () => {
    vi.stubEnv("ROSTER_BOT_CONFIG", good);
    vi.stubEnv("CLI_TEST_PW", "x");
    const r = await cli("check");
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain(`${good}: ok`);
  });

  it("run: a bad config exits 2 before connecting", async () => {
    const r = await cli("run", "--config", bad);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain("problem(s) in");
  });

  it("schema: prints a JSON Schema (valid JSON) describing bots", async () => {
    const r = await cli("schema");
    expect(r.code).toBe(EXIT_OK);
    const schema = JSON.parse(r.out) as {
      $schema: string;
      title: string;
      type: string;
      required: string[];
      properties: { bots: { type: string; minItems: number; items: { properties: Record<string, unknown>; required: string[] } } };
    };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(schema.title).toMatch(/roster-bot/);
    expect(schema.type).toBe("object");
    expect(schema.required).toContain("bots");
    expect(schema.properties.bots.type).toBe("array");
    expect(schema.properties.bots.minItems).toBe(1);
    const bot = schema.properties.bots.items;
    expect(Object.keys(bot.properties)).toEqual(
      expect.arrayContaining(["id", "jid", "password", "passwordFile", "service", "resource", "tls", "dataDir", "reconnect", "plugins"]),
    );
    expect(bot.required).toEqual(expect.arrayContaining(["id", "jid"]));
  });

  it("an unknown command exits 2 with the usage", async () => {
    const r = await cli("frobnicate");
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain('unknown command "frobnicate"');
    expect(r.err).toContain("Usage: roster-bot");
  });

  it("an unknown option exits 2", async () => {
    const r = await cli("check", "--colour");
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toContain("Usage: roster-bot");
  });

  it("no command prints the usage to stderr and exits 2; --help prints it and exits 0", async () => {
    const none = await cli();
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.err).toContain("Usage: roster-bot");
    const help = await cli("--help");
    expect(help.code).toBe(EXIT_OK);
    expect(help.out).toContain("Usage: roster-bot");
    expect(help.err).toBe("");
    const helpCmd = await cli("check", "-h");
    expect(helpCmd.code).toBe(EXIT_OK);
    expect(helpCmd.out).toContain("Usage: roster-bot");
  });
});

describe("roster-bot CLI: version, help and arguments", () => {
  let tmp: TempDir;
  let config: string;
  beforeAll(() => {
    tmp = tempDir("cli-help-");
    config = tmp.write("c.yaml", lines("bots:", "  - id: main", "    jid: bot@example.org", "    password: ${CLI_TEST_PW}", "    plugins:", "      roster: {}"));
  });
  afterAll(() => tmp.remove());
  afterEach(() => vi.unstubAllEnvs());

  it("--version and -V print the package version", async () => {
    const version = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
    for (const flag of ["--version", "-V"]) {
      const r = await cli(flag);
      expect(r).toEqual({ code: EXIT_OK, out: `roster-bot ${version}\n`, err: "" });
    }
  });

  it("--help lists the built-in commands and those the config's plugins add, with their plugin", async () => {
    const r = await cli("--help", "--config", config);
    expect(r.code).toBe(EXIT_OK);
    const commands = r.out.split("Commands:\n")[1]!.split("\n\n")[0]!.split("\n").map((l) => l.trim().split(/\s{2,}/)[0]);
    expect(commands).toEqual(["run", "check", "schema", "help [COMMAND]", "explain JID", "test [CASES…]", "replay [AUDIT_LOG…]", "plan", "sync"]);
    expect(r.out).toMatch(/explain JID\s+offline: .* \[roster\]/);
    expect(r.out).toContain("-V, --version");
  });

  it("--help without a readable config lists the built-ins and says why plugins' commands are missing", async () => {
    const r = await cli("--help", "--config", `${tmp.dir}/missing.yaml`);
    expect(r.code).toBe(EXIT_OK);
    expect(r.out).toContain("  check ");
    expect(r.out).not.toContain("explain");
    expect(r.out).toContain(`Plugins' commands are listed when the config can be read (${tmp.dir}/missing.yaml: cannot read config`);
  });

  it("help COMMAND and COMMAND --help print the command's own usage and options", async () => {
    const viaHelp = await cli("help", "explain", "--config", config);
    const viaFlag = await cli("explain", "--help", "--config", config);
    expect(viaHelp.code).toBe(EXIT_OK);
    expect(viaFlag).toEqual(viaHelp);
    expect(viaHelp.out).toMatch(/^Usage: roster-bot explain JID \[options\]\n/);
    expect(viaHelp.out).toMatch(/--json\s+machine-readable output/);
    expect(viaHelp.out).not.toContain("Commands:");
    const run = await cli("help", "run");
    expect(run.out).toMatch(/^Usage: roster-bot run \[options\]/);
    const unknown = await cli("help", "frobnicate", "--config", config);
    expect(unknown.code).toBe(EXIT_USAGE);
    expect(unknown.err).toContain('unknown command "frobnicate"');
  });

  it.each([
    [["check", "extra-arg"], 'check: unexpected argument "extra-arg"'],
    [["schema", "x"], 'schema: unexpected argument "x"'],
    [["explain"], "explain: missing JID"],
    [["explain", "a@b.test", "c@d.test"], 'explain: unexpected argument "c@d.test"'],
    [["help", "run", "check"], 'help: unexpected argument "check"'],
    [["explain", "a@b.test", "--colour"], "Unknown option '--colour'"],
  ])("%j exits 2 with the command's usage", async (argv, message) => {
    vi.stubEnv("CLI_TEST_PW", "x");
    const r = await cli(...argv, "--config", config);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.out).toBe("");
    expect(r.err).toContain(message);
    expect(r.err).toContain(`Usage: roster-bot ${argv[0]}`);
  });
});

describe("roster-bot CLI: commands added by plugins", () => {
  let tmp: TempDir;
  beforeAll(() => {
    tmp = tempDir("cli-cmd-");
    tmp.write(
      "greeter.ts",
      lines(
        'import { definePlugin, UsageError, z } from "roster-bot";',
        "export default definePlugin({",
        '  name: "greeter",',
        "  config: z.object({ text: z.string() }).strict(),",
        "  apply() {},",
        "  commands: [{",
        '    name: "greet", usage: "NAME", summary: "prints the greeting", args: { min: 1, max: 1 },',
        '    options: { shout: { type: "boolean", description: "in capitals" }, times: { type: "string", value: "N", description: "how often" } },',
        "    async run(cmd) {",
        "      const target = await cmd.target();",
        '      if (cmd.args[0] === "nobody") throw new UsageError("nobody cannot be greeted");',
        '      if (cmd.args[0] === "error") throw new Error("it broke");',
        '      const text = `${target.config.text} ${cmd.args[0]} from ${target.bot.id}`;',
        '      for (let i = 0; i < Number(cmd.options.times ?? 1); i++) cmd.out((cmd.options.shout ? text.toUpperCase() : text) + "\\n");',
        "      return 0;",
        "    },",
        "  }],",
        "});",
      ),
    );
    tmp.write("clash.ts", lines('import { definePlugin } from "roster-bot";', 'export default definePlugin({ name: "clash", apply() {}, commands: [{ name: "check", summary: "x", run: () => 0 }] });'));
  });
  afterAll(() => tmp.remove());

  const config = (...bots: string[]) => tmp.write(`c${Math.random().toString(36).slice(2)}.yaml`, lines("bots:", ...bots));
  const bot = (id: string, text: string) => [`  - id: ${id}`, `    jid: ${id}@example.org`, "    password: ${CLI_TEST_PW}", "    plugins:", `      ./greeter.ts: { text: ${text} }`];

  it("runs with its own options, the target bot and that bot's validated plugin config", async () => {
    const file = config(...bot("one", "Hello"));
    const r = await cli("greet", "world", "--shout", "--times", "2", "--config", file);
    expect(r).toEqual({ code: EXIT_OK, out: "HELLO WORLD FROM ONE\nHELLO WORLD FROM ONE\n", err: "" });
    expect((await cli("--help", "--config", file)).out).toMatch(/greet NAME\s+prints the greeting \[greeter\]/);
    expect((await cli("greet", "--help", "--config", file)).out).toMatch(/--times N\s+how often/);
  });

  it("asks for --bot when several bots load the plugin, and takes it", async () => {
    const file = config(...bot("one", "Hi"), ...bot("two", "Yo"));
    const both = await cli("greet", "x", "--config", file);
    expect(both.code).toBe(EXIT_USAGE);
    expect(both.err).toContain("greet: 2 bots load the greeter plugin (one, two); choose one with --bot ID");
    expect(await cli("greet", "x", "--bot", "two", "--config", file)).toEqual({ code: EXIT_OK, out: "Yo x from two\n", err: "" });
    const none = await cli("greet", "x", "--bot", "three", "--config", file);
    expect(none.code).toBe(EXIT_RUNTIME);
    expect(none.err).toContain('no bot with id "three"');
  });

  it("a UsageError exits 2 with the command's usage; any other error exits 1; a bad config section exits 2", async () => {
    const file = config(...bot("one", "Hi"));
    const usage = await cli("greet", "nobody", "--config", file);
    expect(usage.code).toBe(EXIT_USAGE);
    expect(usage.err).toMatch(/^greet: nobody cannot be greeted\n\nUsage: roster-bot greet NAME/);
    expect(await cli("greet", "error", "--config", file)).toEqual({ code: EXIT_RUNTIME, out: "", err: "roster-bot: it broke\n" });
    const bad = config(...bot("one", "5"));
    const invalid = await cli("greet", "x", "--config", bad);
    expect(invalid.code).toBe(EXIT_USAGE);
    expect(invalid.err).toContain(`${bad}:6:29: bots[0].plugins../greeter.ts.text: Invalid input: expected string, received number`);
  });

  it("a config whose YAML cannot be read is reported for a plugin's command, not taken for an unknown command", async () => {
    const file = tmp.write("broken.yaml", lines("bots:", "  - id: one", "    jid: [unclosed"));
    const r = await cli("greet", "x", "--config", file);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toMatch(new RegExp(`^${esc(file)}:4:1: `));
    expect(r.err).not.toContain("unknown command");
  });

  it("a plugin command that takes a built-in's name is refused by name", async () => {
    const file = config("  - id: one", "    jid: one@example.org", "    password: ${CLI_TEST_PW}", "    plugins:", "      ./clash.ts: {}");
    const r = await cli("plan", "--config", file);
    expect(r.code).toBe(EXIT_RUNTIME);
    expect(r.err).toContain('plugin "clash" adds the command "check", which roster-bot itself already has');
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
