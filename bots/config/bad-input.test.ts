/**
 * Bad input (issue #7): config files that are not YAML, not a mapping, or built to exhaust the
 * parser. Each is a positioned issue, never thrown past the loader, so `check` exits 2 and a hot
 * reload keeps the running config (test/faults/bad-input.test.ts reloads a running bot with them).
 */
import { afterEach, describe, expect, it } from "vitest";
import { lines, tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import { prepareConfig } from "../prepare.ts";
import { validateHost } from "./load.ts";
import { ConfigError, ConfigSource, MAX_FLOW_NESTING, type ConfigIssue } from "./source.ts";

const FILE = "/cfg/bot.config.yaml";
const validate = (text: string) => validateHost(new ConfigSource(FILE, text), { env: { PW: "x" } });
const where = (issues: ConfigIssue[]) => issues.map((i) => `${i.line}:${i.column} ${i.message}`);

/** A "billion laughs" document: nine aliases per level, six levels. */
const ALIAS_BOMB = lines(
  'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
  "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
  "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
  "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
  "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
  "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
  "bots: []",
);

describe("config files that are not a usable YAML mapping", () => {
  it.each([
    ["an empty file", "", "1:1 Invalid input: expected object, received null"],
    ["a list", "- a\n- b\n", "1:1 Invalid input: expected object, received array"],
    ["a plain string", "hello\n", "1:1 Invalid input: expected object, received string"],
    ["tab indentation", "bots:\n\t- id: a\n", "2:1 Tabs are not allowed as indentation"],
  ])("%s: one positioned issue", (_what, text, expected) => {
    const { config, issues } = validate(text);
    expect(config).toBeUndefined();
    expect(where(issues)[0]).toBe(expected);
  });

  it("binary garbage and an unclosed flow: syntax issues with positions", () => {
    const { issues } = validate("\u0000\u0001\u00ff\ufffd bots: [");
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.every((i) => i.file === FILE && i.line >= 1 && i.column >= 1)).toBe(true);
  });

  it("a byte-order mark is not an error", () => {
    expect(where(validate("\ufeffbots: []\n").issues)).toEqual(["1:8 at least one bot is needed"]);
  });
});

describe("config files built to exhaust the parser", () => {
  it("an alias bomb is refused as an issue, not thrown", () => {
    const t0 = Date.now();
    const { config, issues } = validate(ALIAS_BOMB);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(config).toBeUndefined();
    expect(where(issues)).toEqual(["1:1 the YAML cannot be read: Excessive alias count indicates a resource exhaustion attack"]);
  });

  it("flow nesting thousands deep is refused before parsing, again and again in one process", () => {
    // Parsed twice in one process, such a document can crash V8 ("RegExpCompiler Allocation failed")
    // and with it a hot-reloading bot: three rounds show the nesting limit stops it first.
    const text = lines("log: { level: info }", `bots: ${"[".repeat(5_000)}${"]".repeat(5_000)}`);
    for (let round = 0; round < 3; round++) {
      const { config, issues } = validate(text);
      expect(config).toBeUndefined();
      expect(where(issues)).toEqual([`2:${7 + MAX_FLOW_NESTING} nested more than ${MAX_FLOW_NESTING} levels deep; not read`]);
    }
  });

  it("nesting below the limit is parsed as usual", () => {
    const depth = MAX_FLOW_NESTING - 10;
    const { issues } = validate(lines("bots:", "  - id: a", "    jid: a@x.org", "    password: ${PW}", `    extra: ${"[".repeat(depth)}${"]".repeat(depth)}`));
    expect(where(issues)).toEqual(['5:5 unknown key "extra"']);
  });

  it("a huge scalar is an issue at its position, not a hang", () => {
    const t0 = Date.now();
    const { issues } = validate(lines("bots:", "  - id: a", `    jid: ${"x".repeat(200_000)}@x.org`, "    password: ${PW}"));
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(where(issues)).toEqual([expect.stringMatching(/^3:10 "x{10,}.*" is not a valid bare JID/)]);
  });
});

describe("prepareConfig (what check, run and a reload call)", () => {
  let tmp: TempDir;
  afterEach(() => tmp?.remove());

  it.each([
    ["an alias bomb", ALIAS_BOMB, /:1:1: the YAML cannot be read/],
    ["deep nesting", `bots: ${"{a: ".repeat(3_000)}1${"}".repeat(3_000)}\n`, /:1:\d+: nested more than 200 levels deep/],
    ["invalid YAML", "bots:\n  - id: [unclosed\n", /:\d+:\d+: /],
  ])("%s: a ConfigError listing file:line:column", async (_what, text, message) => {
    tmp = tempDir("bad-config-");
    const file = tmp.write("bot.config.yaml", text);
    const err = await prepareConfig(file, { secrets: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}${message.source}`));
  });
});
