/** `check` (and so run and hot reload) runs the configured cases; a plugin command's load skips them. */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { prepareConfig } from "../../../bots/prepare.ts";
import { lines, tempDir } from "../../../test/helpers/tmp.ts";
import { rosterConfigSchema } from "../config.ts";
import { checkRosterConfig } from "../index.ts";

const tmp = tempDir("policy-check-");
afterAll(() => tmp.remove());
const shown = (name: string) => path.relative(process.cwd(), path.join(tmp.dir, name));

tmp.write("pass.yaml", lines("- jid: a@partner.test", "  expect: accept"));
tmp.write("fail.yaml", lines("# partners", "- name: partners are rejected", "  jid: a@partner.test", "  expect: reject", "  rule: partners"));
tmp.write("bad.yaml", lines("- jid: a@partner.test", "  expekt: accept", "  expect: accept"));

const roster = (tests: string | string[] | undefined, rules: unknown[] = [{ name: "partners", match: { domain: "partner.test" }, action: "accept" }]) =>
  rosterConfigSchema.parse({ subscriptions: { rules, ...(tests ? { tests } : {}) } });

describe("checkRosterConfig with subscriptions.tests", () => {
  it("passing cases, or none configured: no issue", () => {
    expect(checkRosterConfig(roster("./pass.yaml"), tmp.dir)).toEqual([]);
    expect(checkRosterConfig(roster(undefined), tmp.dir)).toEqual([]);
  });

  it("a failing case is an issue at the tests key naming the case's file:line:col, name and mismatch", () => {
    expect(checkRosterConfig(roster("./fail.yaml"), tmp.dir)).toEqual([
      { path: ["subscriptions", "tests"], message: `policy test ${shown("fail.yaml")}:2:3 partners are rejected (a@partner.test) fails: expected reject, the rules gave accept (decided by rule "partners": domain partner.test matches rule "partners")` },
    ]);
  });

  it("with a list of files, at the entry of the file concerned; case-file problems too", () => {
    expect(checkRosterConfig(roster(["./pass.yaml", "./bad.yaml", "./gone.yaml"]), tmp.dir)).toEqual([
      { path: ["subscriptions", "tests", 1], message: `policy test cases: ${shown("bad.yaml")}:2:3: [0].expekt: unknown key "expekt"` },
      { path: ["subscriptions", "tests", 2], message: `policy test cases: ${shown("gone.yaml")}:0:0: cannot read policy test cases: file not found` },
    ]);
    expect(checkRosterConfig(roster(["./pass.yaml", "./fail.yaml"]), tmp.dir).map((i) => i.path)).toEqual([["subscriptions", "tests", 1]]);
  });

  it("a renamed rule fails the cases that name it", () => {
    const renamed = roster("./fail.yaml", [{ name: "partner-domains", match: { domain: "partner.test" }, action: "reject" }]);
    expect(checkRosterConfig(renamed, tmp.dir)[0]!.message).toContain('expected rule "partners" to decide, but the config has no rule "partners"');
  });

  it("rules that do not compile: their issues, and the cases are not run", () => {
    const issues = checkRosterConfig(roster("./fail.yaml", [{ name: "listed", match: { list: "./no-such-list.txt" }, action: "reject" }]), tmp.dir);
    expect(issues.map((i) => i.path[1])).toEqual(["rules"]);
  });

  it("forCommand: the cases are skipped", () => {
    expect(checkRosterConfig(roster(["./fail.yaml", "./gone.yaml"]), tmp.dir, { forCommand: true })).toEqual([]);
  });
});

describe("prepareConfig with failing cases", () => {
  const file = tmp.write(
    "bot.config.yaml",
    lines(
      "bots:",
      "  - id: main",
      "    jid: bot@example.org",
      "    password: ${PW}",
      "    plugins:",
      "      roster:",
      "        subscriptions:",
      "          rules:",
      "            - { name: partners, match: { domain: partner.test }, action: accept }",
      "          tests: ./fail.yaml",
    ),
  );

  it("refused to run (and so to reload), with the position of the tests key", async () => {
    await expect(prepareConfig(file, { secrets: true, env: { PW: "x" } })).rejects.toThrow(
      `${file}:10:18: bots[0].plugins.roster.subscriptions.tests: policy test ${shown("fail.yaml")}:2:3 partners are rejected`,
    );
  });

  it("loaded for a plugin command", async () => {
    const prepared = await prepareConfig(file, { forCommand: true });
    expect(prepared.bots[0]!.plugins.map((p) => p.definition.name)).toEqual(["roster"]);
  });
});
