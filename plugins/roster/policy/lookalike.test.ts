/**
 * Bad input (issue #7): look-alike senders against the rules. A rule for a Latin domain or JID must
 * not match a sender that only looks like it (Cyrillic or Greek letters), through any kind of match
 * (exact, glob, subdomain, regex, list); fullwidth forms are the same JID (as the server sees it),
 * both in a sender and in a rule.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compilePolicy, linearPolicy } from "./compile.ts";
import { factsFor } from "./facts.ts";
import type { SubscriptionRule } from "./match-schema.ts";

const dir = mkdtempSync(join(tmpdir(), "roster-lookalike-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, "allow.txt"), "partner.test\nceo@corp.test\n");

const CYRILLIC_A = "\u0430"; // а
const CYRILLIC_O = "\u043e"; // о
const GREEK_O = "\u03bf"; // ο

const RULES: SubscriptionRule[] = [
  { name: "ceo", match: { jid: "ceo@corp.test" }, action: "mutual" },
  { name: "partners", match: { domain: "partner.test" }, action: "accept" },
  { name: "subsidiaries", match: { domain: "*.corp.test" }, action: "accept" },
  { name: "glob", match: { jid: "*@friends.test" }, action: "accept" },
  { name: "regex", match: { regex: "@lab\\.test$" }, action: "accept" },
  { name: "listed", match: { list: "./allow.txt" }, action: "accept" },
];

/** The deciding rule (both engines must agree), or "default". */
function rule(jid: string, rules = RULES): string {
  const facts = factsFor(jid);
  const fast = compilePolicy(rules, { baseDir: dir }).decide(facts);
  expect(fast).toEqual(linearPolicy(rules, { baseDir: dir }).decide(facts));
  return fast?.rule ?? "default";
}

describe("look-alike senders do not match rules for the real names", () => {
  it.each([
    [`mallory@p${CYRILLIC_A}rtner.test`, "a Cyrillic а in an exact domain"],
    [`c${CYRILLIC_O}rp.test`, "a Cyrillic о in a domain JID"],
    [`ce${GREEK_O}@c${GREEK_O}rp.test`, "Greek ο in an exact JID"],
    [`x@eu.c${CYRILLIC_O}rp.test`, "a Cyrillic о in the parent of a subdomain rule"],
    [`x@fri${"\u0435"}nds.test`, "a Cyrillic е in a glob's domain"],
    [`x@l${CYRILLIC_A}b.test`, "a Cyrillic а against a regex"],
  ])("%s (%s): the default", (jid) => {
    expect(rule(jid)).toBe("default");
  });

  it("the real names still match", () => {
    expect(["ceo@corp.test", "x@partner.test", "x@eu.corp.test", "x@friends.test", "x@lab.test"].map((j) => rule(j))).toEqual([
      "ceo",
      "partners",
      "subsidiaries",
      "glob",
      "regex",
    ]);
  });

  it("a rule written with a look-alike matches only the look-alike", () => {
    const rules: SubscriptionRule[] = [{ name: "spoof", match: { domain: `p${CYRILLIC_A}rtner.test` }, action: "reject" }];
    expect(rule("x@partner.test", rules)).toBe("default");
    expect(rule(`x@p${CYRILLIC_A}rtner.test`, rules)).toBe("spoof");
  });
});

describe("fullwidth forms are the same names", () => {
  it("a fullwidth sender matches the rule for its ASCII form", () => {
    expect(rule("x@\uff50\uff41\uff52\uff54\uff4e\uff45\uff52.test")).toBe("partners");
    expect(rule("\uff43\uff45\uff4f@corp.test")).toBe("ceo");
  });

  it("a rule written in fullwidth matches the ASCII sender", () => {
    const rules: SubscriptionRule[] = [
      { name: "wide-domain", match: { domain: "\uff57\uff49\uff44\uff45.test" }, action: "accept" },
      { name: "wide-jid", match: { jid: "\uff42\uff4f\uff53\uff53@corp.test" }, action: "mutual" },
    ];
    expect(rule("x@wide.test", rules)).toBe("wide-domain");
    expect(rule("boss@corp.test", rules)).toBe("wide-jid");
  });
});
