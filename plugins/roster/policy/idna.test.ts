/**
 * Rules and list files match internationalized domains in either spelling: JIDs and patterns are
 * both converted to U-labels, so `bücher.example` and `xn--bcher-kva.example` are one domain.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PolicyCompileError, compileMatch, compilePolicy, linearPolicy } from "./compile.ts";
import { factsFor } from "./facts.ts";
import { normalizeJidPattern, type MatchSpec, type SubscriptionRule } from "./match-schema.ts";

const dir = mkdtempSync(join(tmpdir(), "roster-idna-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const opts = { baseDir: dir };

const U = "a@bücher.example";
const A = "a@xn--bcher-kva.example";
const SUB_U = "a@mail.bücher.example";
const SUB_A = "a@mail.xn--bcher-kva.example";
const OTHER = "a@buecher.example";

function matching(spec: MatchSpec, jids = [U, A, SUB_U, SUB_A, OTHER]): string[] {
  const m = compileMatch(spec, opts);
  return jids.filter((jid) => m.test(factsFor(jid)));
}

/** The indexed policy and the linear one agree; returns the deciding rule. */
function decided(rules: SubscriptionRule[], jid: string): string | undefined {
  const fast = compilePolicy(rules, opts).decide(factsFor(jid));
  expect(fast).toEqual(linearPolicy(rules, opts).decide(factsFor(jid)));
  return fast?.rule;
}

describe("domain rules match both spellings", () => {
  it.each(["bücher.example", "xn--bcher-kva.example", "XN--BCHER-KVA.EXAMPLE", "BÜCHER.example"])("domain: %s", (domain) => {
    expect(matching({ domain })).toEqual([U, A]);
  });

  it.each(["*.bücher.example", "*.xn--bcher-kva.example"])("domain: %s (subdomains)", (domain) => {
    expect(matching({ domain })).toEqual([SUB_U, SUB_A]);
  });

  it("a reject rule in one form beats a default for the other form, in the indexed policy", () => {
    const rules: SubscriptionRule[] = [{ name: "no-books", match: { domain: "bücher.example" }, action: "reject" }];
    expect(decided(rules, A)).toBe("no-books");
    expect(decided([{ ...rules[0]!, match: { domain: "xn--bcher-kva.example" } }], U)).toBe("no-books");
    expect(decided([{ name: "subs", match: { domain: "*.xn--bcher-kva.example" }, action: "reject" }], SUB_U)).toBe("subs");
  });

  it("describe() shows the canonical form", () => {
    expect(compileMatch({ domain: "xn--bcher-kva.example" }, opts).describe()).toBe("domain bücher.example");
  });
});

describe("jid rules and globs match both spellings", () => {
  it.each([U, A, "A@XN--BCHER-KVA.example"])("jid: %s", (jid) => {
    expect(matching({ jid })).toEqual([U, A]);
  });

  it.each(["*@xn--bcher-kva.example", "*@bücher.example"])("jid: %s", (jid) => {
    expect(matching({ jid })).toEqual([U, A]);
  });

  it.each(["*@*.xn--bcher-kva.example", "?@m?il.xn--bcher-kva.example", "a@*.bücher.example"])("jid: %s (wildcard labels kept)", (jid) => {
    expect(matching({ jid })).toEqual([SUB_U, SUB_A]);
  });

  it("a glob is normalized to U-labels except its wildcard labels", () => {
    expect(normalizeJidPattern("*@?.XN--BCHER-KVA.example")).toBe("*@?.bücher.example");
    expect(normalizeJidPattern("*@b*.example.")).toBe("*@b*.example");
    expect(normalizeJidPattern("*")).toBe("*");
  });

  it("an indexed glob in A-label form decides for a U-label JID", () => {
    expect(decided([{ name: "g", match: { jid: "*@xn--bcher-kva.example" }, action: "reject" }], U)).toBe("g");
  });

  it("refuses an A-label that is not valid Punycode, and a wildcard inside an A-label", () => {
    expect(() => compileMatch({ jid: "a@xn--zzzz.example" }, opts)).toThrow(/not a valid internationalized domain name/);
    expect(() => compileMatch({ domain: "xn--zzzz.example" }, opts)).toThrow(/not a valid internationalized domain name/);
    expect(() => compileMatch({ jid: "*@xn--bcher-*.example" }, opts)).toThrow(/a wildcard cannot stand in an A-label/);
  });

  it("a regex holding an A-label is refused (it could never match)", () => {
    expect(() => compileMatch({ regex: "@xn--bcher-kva\\.example$" }, opts)).toThrow(/write the domain in Unicode/);
    expect(matching({ regex: "@bücher\\.example$" })).toEqual([U, A]);
  });
});

describe("list files", () => {
  it("entries in either form match both", () => {
    writeFileSync(join(dir, "idna.list"), "xn--bcher-kva.example\n*.bücher.example\nb@XN--BCHER-KVA.example\n");
    const m = compileMatch({ list: "idna.list" }, opts);
    const hit = [U, A, SUB_U, SUB_A, "b@bücher.example", OTHER].filter((jid) => m.test(factsFor(jid)));
    expect(hit).toEqual([U, A, SUB_U, SUB_A, "b@bücher.example"]);
  });

  it("a bad A-label is an error naming file and line", () => {
    writeFileSync(join(dir, "bad.list"), "ok.example\nxn--a.example\n");
    try {
      compileMatch({ list: "bad.list" }, opts);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyCompileError);
      expect((err as PolicyCompileError).issues[0]!.message).toMatch(/^bad\.list:2: .*not a valid internationalized domain name/);
    }
  });
});
