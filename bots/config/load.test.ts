import { chmodSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { lines, tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import { prepareConfig } from "../prepare.ts";
import { loadHostConfig, validateHost, type LoadOptions } from "./load.ts";
import { ConfigError, ConfigSource, formatIssues, type ConfigIssue } from "./source.ts";

const FILE = "/cfg/bot.config.yaml";

function validate(text: string, options: LoadOptions = {}) {
  return validateHost(new ConfigSource(FILE, text), options);
}

/** "line:column message" of each issue, for compact assertions. */
function where(issues: ConfigIssue[]): string[] {
  return issues.map((i) => `${i.line}:${i.column} ${i.message}`);
}

const GOOD = lines(
  "bots:", //
  "  - id: main",
  "    jid: Bot@Example.ORG",
  "    password: ${BOT_PW}",
);

describe("validateHost: a good config", () => {
  it("applies defaults and normalizes the JID", () => {
    const { config, issues } = validate(GOOD, { env: {} });
    expect(issues).toEqual([]);
    const bot = config!.bots[0]!;
    expect(bot).toMatchObject({
      id: "main",
      jid: "bot@example.org",
      resource: "roster-bot",
      tls: "required",
      service: undefined,
      reconnect: { initialDelay: 1_000, maxDelay: 60_000 },
      plugins: [],
      index: 0,
      password: undefined, // secrets were not requested
    });
    expect(bot.dataDir).toBe(path.resolve("/cfg", "data", "main"));
    expect(config!.logLevel).toBe("info");
  });

  it("keeps an internationalized domain in U-labels, and the JID as written for logging in", () => {
    const { config, issues } = validate(lines("bots:", "  - id: main", "    jid: Bot@XN--BCHER-KVA.example", "    password: ${BOT_PW}"), { env: {} });
    expect(issues).toEqual([]);
    expect(config!.bots[0]).toMatchObject({ jid: "bot@bücher.example", jidAsWritten: "Bot@XN--BCHER-KVA.example" });
  });

  it("parses durations and keeps plugin sections in the order written", () => {
    const { config, issues } = validate(
      lines(
        "log: { level: debug }",
        "bots:",
        "  - id: b",
        "    jid: b@example.org",
        "    service: xmpps://xmpp.example.org:5223",
        "    dataDir: ./state",
        "    reconnect: { initialDelay: 500ms, maxDelay: 2m }",
        "    plugins:",
        "      zeta: { a: 1 }",
        "      alpha:",
      ),
    );
    expect(issues).toEqual([]);
    const bot = config!.bots[0]!;
    expect(config!.logLevel).toBe("debug");
    expect(bot.reconnect).toEqual({ initialDelay: 500, maxDelay: 120_000 });
    expect(bot.service).toBe("xmpps://xmpp.example.org:5223");
    expect(bot.dataDir).toBe(path.resolve("/cfg/state"));
    expect(bot.plugins).toEqual([
      { key: "zeta", config: { a: 1 } },
      { key: "alpha", config: {} },
    ]);
  });
});

describe("validateHost: errors with positions", () => {
  it("reports a YAML syntax error at its position", () => {
    const { config, issues } = validate(lines("bots:", "  - id: a", "    jid: [unclosed"));
    expect(config).toBeUndefined();
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.file).toBe(FILE);
    expect(issues[0]!.line).toBeGreaterThanOrEqual(3);
    expect(issues[0]!.column).toBeGreaterThanOrEqual(1);
  });

  it("reports a duplicate YAML key", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    jid: b@x.org"));
    expect(where(issues)).toEqual([expect.stringMatching(/^4:5 .*unique/i)]);
  });

  it("points at an unknown key itself, not its value", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    password: ${PW}", "    pasword: oops"), {
      env: {},
    });
    expect(where(issues)).toEqual(['5:5 unknown key "pasword"']);
    expect(issues[0]!.path).toEqual(["bots", 0, "pasword"]);
  });

  it("reports an unknown top-level key and an unknown nested key", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    reconnect:", "      delay: 1s", "verbose: true"));
    expect(where(issues)).toEqual(['5:7 unknown key "delay"', '6:1 unknown key "verbose"']);
  });

  it("reports a wrong type at the value", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    resource: 42"));
    expect(where(issues)).toEqual(["4:15 Invalid input: expected string, received number"]);
  });

  it("reports a bot name contacts' clients could not be sent (empty, a control character, too long) at its value", () => {
    const { issues } = validate(
      lines(
        "bots:",
        "  - id: a",
        "    jid: a@x.org",
        '    name: "  "',
        "  - id: b",
        "    jid: b@x.org",
        '    name: "Help\\u0007desk"',
        "  - id: c",
        "    jid: c@x.org",
        `    name: ${"x".repeat(101)}`,
      ),
    );
    expect(where(issues)).toEqual([
      "4:11 name must not be empty",
      "7:11 name must not contain control characters",
      "10:11 name may be at most 100 characters",
    ]);
    const ok = validate(lines("bots:", "  - id: a", "    jid: a@x.org", '    name: " Help desk & co "'));
    expect(ok.issues).toEqual([]);
    expect(ok.config!.bots[0]!.name).toBe("Help desk & co");
  });

  it("reports a missing required field at the object that lacks it", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    resource: r"));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 2, column: 5, path: ["bots", 0, "jid"] });
    expect(issues[0]!.message).toMatch(/expected string, received undefined/);
  });

  it("requires at least one bot", () => {
    expect(where(validate("bots: []\n").issues)).toEqual(["1:7 at least one bot is needed"]);
    expect(validate("log: { level: info }\n").issues[0]).toMatchObject({ path: ["bots"] });
  });

  it("reports a bad duration and a bad log level", () => {
    const { issues } = validate(lines("log:", "  level: loud", "bots:", "  - id: a", "    jid: a@x.org", "    reconnect: { initialDelay: soon }"));
    expect(where(issues)).toEqual([
      expect.stringMatching(/^2:10 Invalid option/),
      '6:32 expected a duration like "30s", "10m" or "2h"',
    ]);
  });

  it("reports a duplicate bot id at the second id", () => {
    const { issues } = validate(
      lines("bots:", "  - id: twin", "    jid: a@x.org", "  - id: twin", "    jid: b@x.org"),
    );
    expect(where(issues)).toEqual(['4:9 duplicate bot id "twin"']);
  });

  it("refuses a JID whose A-label is not valid Punycode, saying why", () => {
    const { issues } = validate(lines("bots:", "  - id: main", "    jid: bot@xn--zzzz.example", "    password: ${BOT_PW}"), { env: {} });
    expect(where(issues)).toEqual([`3:10 "bot@xn--zzzz.example" is not a valid bare JID (user@domain): domain of JID "xn--zzzz.example" is not a valid internationalized domain name (IDNA)`]);
  });

  it("refuses an invalid bot id", () => {
    const { issues } = validate(lines("bots:", "  - id: 'my bot'", "    jid: a@x.org"));
    expect(where(issues)).toEqual(["2:9 id may hold letters, digits, '.', '_' and '-'"]);
  });

  it("refuses a bot id too long to name its data folder", () => {
    expect(where(validate(lines("bots:", `  - id: ${"b".repeat(64)}`, "    jid: a@x.org")).issues)).toEqual([]);
    const { issues } = validate(lines("bots:", `  - id: ${"b".repeat(300)}`, "    jid: a@x.org"));
    expect(where(issues)).toEqual(["2:9 id may be at most 64 characters"]);
  });

  it.each([
    ["not a jid", 'is not a valid bare JID'],
    ["bot@", "is not a valid bare JID"],
    ["example.org", "is not a valid bare JID"],
    ["bot@example.org/res", "is not a valid bare JID"],
    ["b<t@example.org", "is not a valid bare JID"],
  ])("refuses the JID %j", (jid, message) => {
    const { issues } = validate(lines("bots:", "  - id: a", `    jid: "${jid}"`));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 3, column: 10, path: ["bots", 0, "jid"] });
    expect(issues[0]!.message).toContain(message);
  });

  it.each([["http://example.org"], ["xmpp://host:5222/path"], ["example.org:5222"], ["xmpp://"]])(
    "refuses the service URL %j",
    (service) => {
      const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", `    service: "${service}"`));
      expect(where(issues)).toEqual(["4:14 service must look like xmpp://host:port or xmpps://host:port"]);
    },
  );

  it.each([["xmpp://127.0.0.1:abc"], ["xmpp://127.0.0.1:70000"], ["xmpp://127.0.0.1:0"], ["xmpp://127.0.0.1:"]])(
    "refuses the service URL %j for its port (a PORT variable gone wrong)",
    (service) => {
      const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", `    service: "${service}"`));
      expect(where(issues)).toEqual(["4:14 the service's port must be a number from 1 to 65535"]);
    },
  );

  it.each([["xmpp://127.0.0.1:5222"], ["xmpps://[::1]:5223"], ["xmpp://xmpp.example.org"]])("accepts the service URL %j", (service) => {
    expect(validate(lines("bots:", "  - id: a", "    jid: a@x.org", `    service: "${service}"`)).issues).toEqual([]);
  });

  it("refuses an unknown TLS policy", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    tls: off"));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 4, column: 10, path: ["bots", 0, "tls"] });
  });

  it("reports every error of a file at once, in file order", () => {
    const text = lines(
      "log:",
      "  level: chatty", // 2: bad enum
      "bots:",
      "  - id: one",
      "    jid: one@x.org",
      "    password: hunter2", // 6: literal password
      "    colour: blue", // 7: unknown key
      "    resource: 5", // 8: wrong type
      "  - id: two", // 9: missing jid
      "    service: ftp://x", // 10: bad service
      "    reconnect:",
      "      maxDelay: -1", // 12: negative duration
    );
    const { config, issues } = validate(text, { env: {} });
    expect(config).toBeUndefined();
    const found = where(issues).sort((a, b) => parseInt(a) - parseInt(b));
    expect(found).toEqual([
      expect.stringMatching(/^2:10 Invalid option/),
      "6:15 a literal password is refused: write ${ENV_VAR} or use passwordFile",
      '7:5 unknown key "colour"',
      "8:15 Invalid input: expected string, received number",
      expect.stringMatching(/^9:5 Invalid input: expected string, received undefined/), // the object lacking "jid"
      "10:14 service must look like xmpp://host:port or xmpps://host:port",
      expect.stringMatching(/^12:17 /),
    ]);
    // The formatted message names file:line:column and the path of each.
    const text2 = formatIssues(issues);
    expect(text2).toContain(`${FILE}:7:5: bots[0].colour: unknown key "colour"`);
    expect(text2).toContain(`${FILE}:6:15: bots[0].password: a literal password is refused`);
  });

  it("reports post-schema problems (duplicate id, bad JID, unset variable) together", () => {
    const { issues } = validate(
      lines("bots:", "  - id: a", "    jid: a@x.org", "  - id: a", '    jid: "@x.org"', '    resource: "${NOPE}"'),
      { env: {} },
    );
    expect(where(issues).sort()).toEqual(
      [
        '4:9 duplicate bot id "a"',
        '5:10 "@x.org" is not a valid bare JID (user@domain): empty local part in JID',
        "6:15 environment variable NOPE is not set",
      ].sort(),
    );
  });
});

describe("validateHost: plugin sections for validation in the same pass", () => {
  it("returns every bot's plugin sections even when the host part fails its schema", () => {
    const { config, issues, pluginSections } = validate(
      lines(
        "bots:",
        "  - id: a",
        "    jid: a@x.org",
        "    tls: sometimes",
        "    plugins:",
        "      one: { x: 1 }",
        "      two:",
        "  - id: b",
        "    jid: b@x.org",
        "    plugins: [not, a, mapping]",
        "  - id: c",
        "    jid: c@x.org",
        "    plugins:",
        "      three: { url: 'https://${HOST}' }",
      ),
      { env: { HOST: "example.org" } },
    );
    expect(config).toBeUndefined();
    expect(issues.map((i) => i.line)).toEqual([4, 10]);
    expect(pluginSections).toEqual([
      { index: 0, plugins: [{ key: "one", config: { x: 1 } }, { key: "two", config: {} }] },
      { index: 2, plugins: [{ key: "three", config: { url: "https://example.org" } }] },
    ]);
  });

  it("returns no plugin sections after a YAML syntax error", () => {
    expect(validate("bots: [\n").pluginSections).toEqual([]);
  });
});

describe("passwords and ${VAR} substitution", () => {
  it("refuses a literal password with a clear message and never echoes it", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    password: s3cret-literal"), {
      secrets: true,
      env: {},
    });
    expect(where(issues)).toEqual(["4:15 a literal password is refused: write ${ENV_VAR} or use passwordFile"]);
    expect(formatIssues(issues)).not.toContain("s3cret-literal");
  });

  it("resolves ${VAR} passwords from the environment as a Secret", () => {
    const { config, issues } = validate(GOOD, { secrets: true, env: { BOT_PW: "pa55" } });
    expect(issues).toEqual([]);
    const pw = config!.bots[0]!.password!;
    expect(pw.reveal()).toBe("pa55");
    expect(String(pw)).toBe("[redacted]");
    expect(JSON.stringify({ pw })).toBe('{"pw":"[redacted]"}');
  });

  it("reports an unset password variable at the password line", () => {
    const { issues } = validate(GOOD, { secrets: true, env: {} });
    expect(where(issues)).toEqual(["4:15 environment variable BOT_PW is not set"]);
  });

  it("treats an empty password variable as unset", () => {
    const { issues } = validate(GOOD, { secrets: true, env: { BOT_PW: "" } });
    expect(where(issues)).toEqual(["4:15 environment variable BOT_PW is not set"]);
  });

  it("does not need passwords when secrets are not requested", () => {
    expect(validate(GOOD, { env: {} }).issues).toEqual([]);
    expect(validate(lines("bots:", "  - id: a", "    jid: a@x.org"), { env: {} }).issues).toEqual([]);
  });

  it("asks for a password when neither password nor passwordFile is given", () => {
    const { issues } = validate(lines("log: { level: info }", "bots:", "  - id: a", "    jid: a@x.org"), { secrets: true, env: {} });
    expect(where(issues)).toEqual(["3:5 a password is needed: password: ${ENV_VAR} or passwordFile: FILE"]);
  });

  it("substitutes ${VAR} in other strings", () => {
    const { config, issues } = validate(
      lines("bots:", "  - id: a", "    jid: ${BOT_USER}@${BOT_DOMAIN}", "    service: xmpp://${XMPP_HOST}:5222", "    plugins:", "      p: { greeting: 'hi ${NAME}' }"),
      { env: { BOT_USER: "Alice", BOT_DOMAIN: "x.org", XMPP_HOST: "127.0.0.1", NAME: "there" } },
    );
    expect(issues).toEqual([]);
    expect(config!.bots[0]!.jid).toBe("alice@x.org");
    expect(config!.bots[0]!.service).toBe("xmpp://127.0.0.1:5222");
    expect(config!.bots[0]!.plugins).toEqual([{ key: "p", config: { greeting: "hi there" } }]);
  });

  it("reports an unset ${VAR} at the line where it is used, once per use", () => {
    const { issues } = validate(
      lines("bots:", "  - id: a", "    jid: a@x.org", "    plugins:", "      p:", "        url: https://${API_HOST}/v1", "        token: ${API_HOST}"),
      { env: {} },
    );
    expect(where(issues)).toEqual(["6:14 environment variable API_HOST is not set", "7:16 environment variable API_HOST is not set"]);
    expect(issues[0]!.path).toEqual(["bots", 0, "plugins", "p", "url"]);
  });

  it("${VAR:-default}: the default when VAR is unset or empty, the variable otherwise", () => {
    const text = lines("bots:", "  - id: a", "    jid: a@x.org", "    service: xmpp://127.0.0.1:${PORT:-5222}");
    const service = (env: NodeJS.ProcessEnv) => validate(text, { env }).config!.bots[0]!.service;
    expect(service({})).toBe("xmpp://127.0.0.1:5222");
    expect(service({ PORT: "" })).toBe("xmpp://127.0.0.1:5222");
    expect(service({ PORT: "5333" })).toBe("xmpp://127.0.0.1:5333");
  });

  it("a default holding another ${...} is an issue at its line", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    resource: ${R:-${HOST}}"), { env: { HOST: "h" } });
    expect(where(issues)).toEqual(["4:15 the default of ${R:-...} cannot hold another ${...}"]);
  });

  it("a password cannot have a default: that would be a password written in the file", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    password: ${PW:-hunter2}"), { secrets: true, env: {} });
    expect(where(issues)).toEqual(["4:15 a literal password is refused: write ${ENV_VAR} or use passwordFile"]);
  });

  it("validates a value after substitution (a variable holding a bad service URL)", () => {
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    service: ${SVC}"), { env: { SVC: "http://x" } });
    expect(where(issues)).toEqual(["4:14 service must look like xmpp://host:port or xmpps://host:port"]);
  });

  it("files.mode: 0600 by default, a quoted octal string otherwise; a bare number is refused at its position", () => {
    expect(validate(GOOD, { env: {} }).config!.fileMode).toBe(0o600);
    expect(validate(lines('files: { mode: "0640" }', GOOD), { env: {} }).config!.fileMode).toBe(0o640);
    const bad = (mode: string) => where(validate(lines("files:", `  mode: ${mode}`, GOOD), { env: {} }).issues);
    expect(bad("0640")).toEqual(['2:9 write the mode as a quoted octal string, e.g. "0640"']);
    expect(bad('"0440"')).toEqual(["2:9 the owner (the bot) must be able to read and write its files: the mode needs 06xx"]);
    expect(bad('"0700"')).toEqual(["2:9 the bot's files need no execute bit"]);
    expect(bad('"rw-r-----"')).toEqual(['2:9 write the mode as an octal string, e.g. "0640"']);
  });

  it("refuses both password and passwordFile", () => {
    const { issues } = validate(
      lines("bots:", "  - id: a", "    jid: a@x.org", "    password: ${PW}", "    passwordFile: pw.txt"),
      { secrets: true, env: { PW: "x" } },
    );
    expect(where(issues)).toEqual(["5:19 give either password or passwordFile, not both"]);
  });
});

describe("loadHostConfig (files)", () => {
  let tmp: TempDir;
  afterEach(() => tmp?.remove());

  it("reads passwordFile relative to the config file, dropping one trailing newline", () => {
    tmp = tempDir("config-");
    tmp.write("secrets/pw", "from-file\n");
    const file = tmp.write("bot.config.yaml", lines("bots:", "  - id: a", "    jid: a@x.org", "    passwordFile: secrets/pw"));
    const config = loadHostConfig(file, { secrets: true, env: {} });
    expect(config.bots[0]!.password!.reveal()).toBe("from-file");
    expect(config.bots[0]!.dataDir).toBe(path.join(tmp.dir, "data", "a"));
    expect(config.source.file).toBe(file);
  });

  it("warns, at its position, when the password file is readable by others; not when only the owner can read it", () => {
    tmp = tempDir("config-");
    const pw = tmp.write("pw", "secret\n");
    const file = tmp.write("bot.config.yaml", lines("bots:", "  - id: a", "    jid: a@x.org", "    passwordFile: pw"));
    chmodSync(pw, 0o644);
    expect(where(loadHostConfig(file, { secrets: true, env: {} }).warnings)).toEqual([
      `4:19 password file ${pw} is readable by group and others (mode 0644); chmod 600 it`,
    ]);
    chmodSync(pw, 0o400);
    expect(loadHostConfig(file, { secrets: true, env: {} }).warnings).toEqual([]);
  });

  it("reports a missing or empty passwordFile at its line", () => {
    tmp = tempDir("config-");
    tmp.write("empty", "");
    const file = tmp.write(
      "bot.config.yaml",
      lines("bots:", "  - id: a", "    jid: a@x.org", "    passwordFile: nowhere", "  - id: b", "    jid: b@x.org", "    passwordFile: empty"),
    );
    const err = catchConfigError(() => loadHostConfig(file, { secrets: true, env: {} }));
    expect(where(err.issues)).toEqual([
      `4:19 cannot read password file ${path.join(tmp.dir, "nowhere")}: ENOENT: no such file or directory, open '${path.join(tmp.dir, "nowhere")}'`,
      `7:19 cannot read password file ${path.join(tmp.dir, "empty")}: file is empty`,
    ]);
  });

  it("throws a ConfigError whose message lists file:line:column for each issue", () => {
    tmp = tempDir("config-");
    const file = tmp.write("bot.config.yaml", lines("bots:", "  - id: a", "    jid: a@x.org", "    extra: 1", "    tls: never"));
    const err = catchConfigError(() => loadHostConfig(file));
    expect(err.issues).toHaveLength(2);
    expect(err.message.split("\n").sort()).toEqual([
      `${file}:4:5: bots[0].extra: unknown key "extra"`,
      expect.stringMatching(new RegExp(`^${escape(file)}:5:10: bots\\[0\\]\\.tls: Invalid option`)),
    ]);
  });

  it("reports a missing config file", () => {
    const err = catchConfigError(() => loadHostConfig("/nonexistent/bot.config.yaml"));
    expect(err.issues).toEqual([{ file: "/nonexistent/bot.config.yaml", line: 0, column: 0, path: [], message: "cannot read config: file not found" }]);
  });
});

describe("plugin sections, validated by each plugin's own schema", () => {
  let tmp: TempDir;
  afterEach(() => tmp?.remove());

  const PLUGIN = lines(
    'import { z } from "zod";',
    'import { definePlugin } from "../../bots/plugin.ts";',
    "export default definePlugin({",
    '  name: "my-plugin",',
    "  config: z.object({ greeting: z.string(), times: z.number().int().default(1) }).strict(),",
    "  apply() {},",
    "});",
  );

  it("applies the plugin's schema (defaults included)", async () => {
    tmp = tempDir("plugin-config-");
    tmp.write("my-plugin.ts", PLUGIN);
    const file = tmp.write(
      "bot.config.yaml",
      lines("bots:", "  - id: a", "    jid: a@x.org", "    password: ${PW}", "    plugins:", "      ./my-plugin.ts:", "        greeting: hello"),
    );
    const prepared = await prepareConfig(file, { secrets: true, env: { PW: "x" } });
    const [loaded] = prepared.bots[0]!.plugins;
    expect(loaded!.key).toBe("./my-plugin.ts");
    expect(loaded!.definition.name).toBe("my-plugin");
    expect(loaded!.config).toEqual({ greeting: "hello", times: 1 });
  });

  it("reports plugin config errors with positions, together with host errors", async () => {
    tmp = tempDir("plugin-config-");
    tmp.write("my-plugin.ts", PLUGIN);
    const file = tmp.write(
      "bot.config.yaml",
      lines(
        "bots:",
        "  - id: a",
        "    jid: a@x.org",
        "    plugins:",
        "      ./my-plugin.ts:",
        "        greeting: 7", // 6: wrong type
        "        times: 1.5", // 7: not an integer
        "        volume: 11", // 8: unknown key
        "  - id: b",
        "    jid: b@x.org",
        "    plugins:",
        "      ./my-plugin.ts:", // 12: greeting missing
        "        times: 2",
        "  - id: c",
        "    jid: c@x.org",
        "    password: ${UNSET_PW}", // 16
      ),
    );
    const err = await prepareConfig(file, { secrets: true, env: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    // Sorted by position; the plugin sections are checked although the host part has problems.
    expect(where(issues)).toEqual([
      "2:5 a password is needed: password: ${ENV_VAR} or passwordFile: FILE",
      "6:19 Invalid input: expected string, received number",
      expect.stringMatching(/^7:16 .*int/i),
      '8:9 unknown key "volume"',
      "9:5 a password is needed: password: ${ENV_VAR} or passwordFile: FILE",
      expect.stringMatching(/^13:9 Invalid input: expected string, received undefined/),
      "16:15 environment variable UNSET_PW is not set",
    ]);
    expect(issues.find((i) => i.line === 8)!.path).toEqual(["bots", 0, "plugins", "./my-plugin.ts", "volume"]);
  });
});

function catchConfigError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
