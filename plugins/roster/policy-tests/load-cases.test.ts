/** Reading case files: every kind of problem names file:line:column, all of a file's problems at once. */
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lines, tempDir } from "../../../test/helpers/tmp.ts";
import { loadCaseFile, PolicyTestFileError, shownPath } from "./load-cases.ts";

const tmp = tempDir("policy-cases-");
afterAll(() => tmp.remove());

/** The issues a file gives, as "line:column: message" (the file name checked once). */
function problems(name: string, text: string): string[] {
  const file = tmp.write(name, text);
  try {
    loadCaseFile(file);
  } catch (err) {
    if (!(err instanceof PolicyTestFileError)) throw err;
    expect(err.issues.every((i) => i.file === shownPath(file))).toBe(true);
    return err.issues.map((i) => `${i.line}:${i.column}: ${i.message}`);
  }
  throw new Error("no issue");
}

describe("loadCaseFile", () => {
  it("reads cases with their position, roster defaults and every expectation kind", () => {
    const file = tmp.write(
      "good.yaml",
      lines(
        "# comment",
        "- name: partners are let in",
        "  jid: alice@partner.test",
        "  expect: accept",
        "  rule: partners",
        "  block: none",
        "- jid: bob@b.test",
        "  roster: {}",
        "  groups: [Staff]",
        "-   jid: carol@c.test",
        "    roster: { groups: [Friends], subscription: to }",
        "    expect: ask",
      ),
    );
    const cases = loadCaseFile(file);
    const shown = path.relative(process.cwd(), file);
    expect(cases).toEqual([
      { at: `${shown}:2:3`, name: "partners are let in", jid: "alice@partner.test", expect: "accept", rule: "partners", block: "none" },
      { at: `${shown}:7:3`, jid: "bob@b.test", roster: { groups: [], subscription: "none" }, groups: ["Staff"] },
      { at: `${shown}:10:5`, jid: "carol@c.test", roster: { groups: ["Friends"], subscription: "to" }, expect: "ask" },
    ]);
  });

  it("an empty file holds no cases", () => {
    expect(loadCaseFile(tmp.write("empty.yaml", "# nothing yet\n"))).toEqual([]);
  });

  it("bad YAML: the position of the syntax error", () => {
    expect(problems("syntax.yaml", lines("- jid: a@b.test", "  expect: [accept"))).toEqual([expect.stringMatching(/^3:1: /)]);
  });

  it("unknown keys at the key, wrong types and invalid values at the value, all at once", () => {
    expect(
      problems(
        "schema.yaml",
        lines(
          "- jid: a@b.test",
          "  expect: acept",
          "  colour: red",
          "- jid: 'a@@b.test'",
          "  expect: reject",
          "- jid: c@d.test",
          "  roster: { subscription: mutual, groups: Staff }",
          "  block: 3",
          "- jid: e@f.test",
          "  name: no expectation",
          "- expect: accept",
        ),
      ),
    ).toEqual([
      expect.stringMatching(/^2:11: .*expected one of "accept"\|"mutual"\|"reject"\|"ignore"\|"ask"/),
      '3:3: unknown key "colour"',
      expect.stringMatching(/^4:8: "a@@b\.test" is not a JID: /),
      expect.stringMatching(/^7:27: .*expected one of "none"\|"to"\|"from"\|"both"/),
      expect.stringMatching(/^7:43: .*expected array/),
      expect.stringMatching(/^8:10: .*expected one of "none"\|"bare"\|"domain"/),
      "9:3: a case needs at least one of expect, rule, block, groups",
      expect.stringMatching(/^11:3: .*expected string/),
    ]);
  });

  it("a file that is not a list of cases", () => {
    expect(problems("map.yaml", lines("jid: a@b.test", "expect: accept"))).toEqual([expect.stringMatching(/^1:1: .*expected array/)]);
  });

  it("a missing file is an issue too", () => {
    const file = path.join(tmp.dir, "missing.yaml");
    expect(() => loadCaseFile(file)).toThrow(PolicyTestFileError);
    try {
      loadCaseFile(file);
    } catch (err) {
      expect((err as PolicyTestFileError).issues).toEqual([{ file: shownPath(file), line: 0, column: 0, path: [], message: "cannot read policy test cases: file not found" }]);
    }
  });
});

describe("shownPath", () => {
  it("relative to the working directory when under it, else absolute", () => {
    expect(shownPath("/srv/bot/cases.yaml", "/srv/bot")).toBe("cases.yaml");
    expect(shownPath("/srv/bot/t/cases.yaml", "/srv/bot")).toBe(path.join("t", "cases.yaml"));
    expect(shownPath("/etc/cases.yaml", "/srv/bot")).toBe("/etc/cases.yaml");
    expect(shownPath("cases.yaml", "/srv/bot")).toBe("cases.yaml");
  });
});
