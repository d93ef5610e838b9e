/** `roster-bot test` through the CLI in-process: exit 0 / 1 / 2, --json, and that other commands still load a config whose cases fail. */
import path from "node:path";
import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import { cliInProcess } from "../../test/helpers/cli.ts";
import { lines, tempDir } from "../../test/helpers/tmp.ts";
import type { PolicyTestReport } from "./api.ts";

const tmp = tempDir("test-cli-");
afterAll(() => tmp.remove());
beforeEach(() => void vi.stubEnv("TEST_CLI_PW", "x"));

const config = (extra: string[] = []) =>
  lines(
    "bots:",
    "  - id: main",
    "    jid: bot@example.org",
    "    password: ${TEST_CLI_PW}",
    "    plugins:",
    "      roster:",
    "        subscriptions:",
    "          rules:",
    "            - { name: partners, match: { domain: partner.test }, action: accept }",
    "            - { name: spam, match: { domain: spam.test }, action: reject, block: { scope: domain } }",
    ...extra,
    "        groups:",
    "          assign:",
    "            - { group: Partners, match: { domain: partner.test } }",
  );

const passing = tmp.write(
  "cases/pass.yaml",
  lines("- name: partners get in", "  jid: a@partner.test", "  expect: accept", "  rule: partners", "  groups: [Partners]", "- jid: x@spam.test", "  block: domain"),
);
const failing = tmp.write("cases/fail.yaml", lines("- jid: a@partner.test", "  expect: accept", "- name: spam is let in", "  jid: x@spam.test", "  expect: accept"));
const withCases = tmp.write("with-cases.yaml", config(["          tests: ./cases/fail.yaml"]));
const withoutCases = tmp.write("without-cases.yaml", config());
const shown = (file: string) => path.relative(process.cwd(), file);

const cli = cliInProcess;

describe("roster-bot test", () => {
  it("exit 0 when every case passes: the summary", async () => {
    const r = await cli("test", "--config", withoutCases, shown(passing));
    expect(r).toEqual({ code: 0, out: "2 cases: 2 passed, 0 failed\n", err: "" });
  });

  it("exit 1 with each failing case, where it is, what was expected, and why", async () => {
    const r = await cli("test", "--config", withCases);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      [
        `FAIL ${shown(failing)}:3:3 spam is let in (x@spam.test)`,
        "  expected accept, the rules gave reject",
        "  x@spam.test: reject, then block spam.test (domain) until lifted by hand",
        '    decided by rule "spam": domain spam.test matches rule "spam"',
      ].join("\n"),
    );
    expect(r.out.trimEnd().split("\n").at(-1)).toBe("2 cases: 1 passed, 1 failed");
  });

  it("files on the command line replace the configured ones", async () => {
    expect((await cli("test", "--config", withCases, shown(passing))).code).toBe(0);
    expect((await cli("test", "--config", withCases, shown(passing), shown(failing))).out).toContain("4 cases: 3 passed, 1 failed");
  });

  it("--json prints the report", async () => {
    const r = await cli("test", "--json", "--config", withCases);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as PolicyTestReport;
    expect(report).toMatchObject({ files: [shown(failing)], total: 2, passed: 1 });
    expect(report.failed).toEqual([
      expect.objectContaining({ at: `${shown(failing)}:3:3`, name: "spam is let in", jid: "x@spam.test", mismatches: ["expected accept, the rules gave reject"] }),
    ]);
    expect(report.failed[0]!.explanation).toMatchObject({ action: "reject", rule: "spam", block: { scope: "domain" } });
  });

  it("exit 2 for a bad case file, every problem with its position", async () => {
    const bad = tmp.write("cases/bad.yaml", lines("- jid: a@partner.test", "  expect: acept", "  colour: red"));
    const r = await cli("test", "--config", withoutCases, shown(bad));
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(new RegExp(`^${esc(shown(bad))}:2:11: \\[0\\]\\.expect: .*\n${esc(shown(bad))}:3:3: \\[0\\]\\.colour: unknown key "colour"\n2 problem\\(s\\) in the policy test cases\n$`));
  });

  it("exit 2 for a missing case file, one named on the command line or configured", async () => {
    const r = await cli("test", "--config", withoutCases, "nope.yaml");
    expect(r.code).toBe(2);
    expect(r.err).toContain("nope.yaml:0:0: cannot read policy test cases: file not found");
    const missing = tmp.write("missing-cases.yaml", config(["          tests: [./cases/pass.yaml, ./cases/gone.yaml]"]));
    const m = await cli("test", "--config", missing);
    expect(m.code).toBe(2);
    expect(m.err).toContain(`${shown(path.join(tmp.dir, "cases/gone.yaml"))}:0:0: cannot read policy test cases: file not found`);
  });

  it("exit 2 when there are no cases at all", async () => {
    const none = await cli("test", "--config", withoutCases);
    expect(none.code).toBe(2);
    expect(none.err).toContain(`test: no policy test cases: name case files (roster-bot test FILE…) or set subscriptions.tests in ${withoutCases}`);
    const empty = tmp.write("cases/empty.yaml", "# none yet\n");
    const r = await cli("test", "--config", withoutCases, shown(empty));
    expect(r).toMatchObject({ code: 2, err: `roster-bot: no policy test cases in ${shown(empty)}\n` });
  });
});

describe("a config whose cases fail", () => {
  it("check refuses it, naming the case; explain still loads it", async () => {
    const check = await cli("check", "--config", withCases);
    expect(check.code).toBe(2);
    expect(check.err).toContain(`${withCases}:11:18: bots[0].plugins.roster.subscriptions.tests: policy test ${shown(failing)}:3:3 spam is let in (x@spam.test) fails: expected accept, the rules gave reject`);
    const explain = await cli("explain", "x@spam.test", "--config", withCases);
    expect(explain.code).toBe(0);
    expect(explain.out).toContain('decided by rule "spam"');
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
