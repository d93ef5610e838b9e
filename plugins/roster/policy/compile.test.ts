import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  PolicyCompileError,
  compileMatch,
  compilePolicy,
  linearPolicy,
  type CompiledPolicy,
} from "./compile.ts";
import { factsFor, type RosterFacts } from "./facts.ts";
import type { MatchSpec, SubscriptionRule } from "./match-schema.ts";

const dir = mkdtempSync(join(tmpdir(), "roster-policy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const opts = { baseDir: dir };

/** JIDs `spec` matches, out of `jids`. */
function matching(spec: MatchSpec, jids: string[], roster?: RosterFacts): string[] {
  const m = compileMatch(spec, opts);
  return jids.filter((jid) => m.test(factsFor(jid, roster)));
}

/** The compile error's issues for a bad spec or policy. */
function compileIssues(compile: () => unknown) {
  try {
    compile();
  } catch (err) {
    expect(err).toBeInstanceOf(PolicyCompileError);
    return (err as PolicyCompileError).issues;
  }
  throw new Error("expected a PolicyCompileError");
}

const rule = (name: string, match: MatchSpec, action: SubscriptionRule["action"] = "accept") => ({
  name,
  match,
  action,
});

/** Both policies must agree; returns the deciding rule's name. */
function decided(rules: SubscriptionRule[], jid: string, roster?: RosterFacts): string | undefined {
  const facts = factsFor(jid, roster);
  const fast = compilePolicy(rules, opts).decide(facts);
  expect(fast).toEqual(linearPolicy(rules, opts).decide(facts));
  return fast?.rule;
}

describe("jid", () => {
  const jids = ["alice@example.org", "bob@example.org", "example.org", "alice@sub.example.org"];

  it("matches exact bare JIDs after normalizing the pattern", () => {
    expect(matching({ jid: "Alice@Example.ORG" }, jids)).toEqual(["alice@example.org"]);
    expect(matching({ jid: ["bob@example.org", "example.org"] }, jids)).toEqual([
      "bob@example.org",
      "example.org",
    ]);
  });

  it("globs: * is any run (also across @ and .), ? is one character", () => {
    const all = [
      "a@partner.test",
      "a.b@partner.test",
      "partner.test",
      "a@sub.partner.test",
      "a@partner.test.evil",
      "a@evilpartner.test",
    ];
    expect(matching({ jid: "*@partner.test" }, all)).toEqual([
      "a@partner.test",
      "a.b@partner.test",
    ]);
    expect(matching({ jid: "*partner.test" }, all)).toEqual([
      "a@partner.test",
      "a.b@partner.test",
      "partner.test",
      "a@sub.partner.test",
      "a@evilpartner.test",
    ]);
    expect(matching({ jid: "a*" }, all)).toEqual([
      "a@partner.test",
      "a.b@partner.test",
      "a@sub.partner.test",
      "a@partner.test.evil",
      "a@evilpartner.test",
    ]);
    expect(matching({ jid: "*" }, all)).toEqual(all);
    expect(matching({ jid: "a@*.partner.test" }, all)).toEqual(["a@sub.partner.test"]);
    expect(matching({ jid: "a*partner.test" }, all)).toEqual([
      "a@partner.test",
      "a.b@partner.test",
      "a@sub.partner.test",
      "a@evilpartner.test",
    ]);
    const support = ["support@x.test", "support1@x.test", "support12@x.test", "supporté@x.test"];
    expect(matching({ jid: "support?@x.test" }, support)).toEqual([
      "support1@x.test",
      "supporté@x.test",
    ]);
    expect(matching({ jid: "a*z@x.test" }, ["az@x.test", "abcz@x.test", "abc@x.test"])).toEqual([
      "az@x.test",
      "abcz@x.test",
    ]);
  });

  it("globs treat regex metacharacters literally", () => {
    const jids = ["a+b@x.test", "aab@x.test", "[a]1@x.test", "a1@x.test"];
    jids.push("a.b1@x.test", "axb1@x.test");
    expect(matching({ jid: "a+b@x.test" }, jids)).toEqual(["a+b@x.test"]);
    expect(matching({ jid: "a+*@x.test" }, jids)).toEqual(["a+b@x.test"]);
    expect(matching({ jid: "[a]*@x.test" }, jids)).toEqual(["[a]1@x.test"]);
    expect(matching({ jid: "a.b*@x.test" }, jids)).toEqual(["a.b1@x.test"]);
    const odd = ["$(a)|{1}@x.test", "a@x.test"];
    expect(matching({ jid: "$(a)|{1}*" }, odd)).toEqual(["$(a)|{1}@x.test"]);
  });
});

describe("domain", () => {
  const jids = [
    "a@example.org",
    "example.org",
    "a@chat.example.org",
    "chat.example.org",
    "a@x.y.example.org",
    "a@badexample.org",
    "a@example.org.evil",
  ];

  it("exact domain matches its users and the domain JID, not subdomains", () => {
    expect(matching({ domain: "Example.org" }, jids)).toEqual(["a@example.org", "example.org"]);
  });

  it("*.domain matches subdomains only, not the domain itself", () => {
    expect(matching({ domain: "*.example.org" }, jids)).toEqual([
      "a@chat.example.org",
      "chat.example.org",
      "a@x.y.example.org",
    ]);
  });

  it("listing both covers both", () => {
    expect(matching({ domain: ["example.org", "*.example.org"] }, jids)).toEqual(jids.slice(0, 5));
  });

  it("rejects other wildcards", () => {
    const spec = { domain: ["ok.test", "*example.org"] };
    expect(compileIssues(() => compileMatch(spec, opts))).toEqual([
      { path: ["domain", 1], message: expect.stringMatching(/only start with "\*\."/) },
    ]);
  });
});

describe("regex", () => {
  it("is tested unanchored and case-insensitively against the bare JID", () => {
    const jids = ["bot-1@x.test", "robot-1@x.test", "alice@x.test", "x.test"];
    expect(matching({ regex: "BOT-\\d" }, jids)).toEqual(["bot-1@x.test", "robot-1@x.test"]);
    expect(matching({ regex: ["^bot-", "^x\\.test$"] }, jids)).toEqual(["bot-1@x.test", "x.test"]);
  });

  it("supports backreferences and named groups", () => {
    expect(matching({ regex: "^(.)\\1@" }, ["aa@x.test", "ab@x.test"])).toEqual(["aa@x.test"]);
    const named = { regex: "^(?<c>.)\\k<c>@" };
    expect(matching(named, ["aa@x.test", "ab@x.test"])).toEqual(["aa@x.test"]);
  });

  it("an invalid regex is a compile error with its path", () => {
    expect(compileIssues(() => compileMatch({ regex: "(" }, opts))).toEqual([
      { path: ["regex"], message: "invalid regex /(/: Unterminated group" },
    ]);
  });
});

describe("list", () => {
  writeFileSync(
    join(dir, "partners.txt"),
    [
      "# partners, one per line",
      "",
      "alice@Partner.test",
      "  trusted.test   # whole domain",
      "*.corp.test",
      "*@glob.test\r",
      "bot-*@*",
      "   ",
    ].join("\n"),
  );

  it("reads JIDs, domains and globs, skipping comments and blank lines", () => {
    const jids = [
      "alice@partner.test",
      "bob@partner.test",
      "x@trusted.test",
      "trusted.test",
      "x@a.corp.test",
      "x@corp.test",
      "y@glob.test",
      "bot-7@any.test",
    ];
    expect(matching({ list: "partners.txt" }, jids)).toEqual([
      "alice@partner.test",
      "x@trusted.test",
      "trusted.test",
      "x@a.corp.test",
      "y@glob.test",
      "bot-7@any.test",
    ]);
  });

  it("reports each bad line with file and line number", () => {
    writeFileSync(join(dir, "bad.txt"), "ok.test\na b@x.test\n*x.test\n\nc@d.test/res\n");
    const issues = compileIssues(() => compilePolicy([rule("r", { list: "bad.txt" })], opts));
    expect(issues.map((i) => i.path)).toEqual([
      [0, "match", "list"],
      [0, "match", "list"],
      [0, "match", "list"],
    ]);
    expect(issues.map((i) => i.message)).toEqual([
      expect.stringMatching(/^bad\.txt:2: /),
      expect.stringMatching(/^bad\.txt:3: .*only start with/),
      expect.stringMatching(/^bad\.txt:5: .*resource/),
    ]);
  });

  it("a missing file is a compile error naming the file", () => {
    expect(compileIssues(() => compileMatch({ list: "nope.txt" }, opts))).toEqual([
      {
        path: ["list"],
        message: expect.stringMatching(/cannot read list file nope\.txt .*ENOENT/),
      },
    ]);
  });

  it("reads through an injected reader, relative to baseDir", () => {
    const read: string[] = [];
    const m = compileMatch(
      { list: "lists/x.txt" },
      { baseDir: "/etc/bot", readFile: (p) => (read.push(p), "x.test\n") },
    );
    expect(read).toEqual(["/etc/bot/lists/x.txt"]);
    expect(m.test(factsFor("a@x.test"))).toBe(true);
  });
});

describe("roster keys", () => {
  const friend: RosterFacts = { groups: ["Friends", "Work"], subscription: "both" };
  const pending: RosterFacts = { groups: [], subscription: "none" };

  it("inRoster", () => {
    expect(compileMatch({ inRoster: true }, opts).test(factsFor("a@x.test", pending))).toBe(true);
    expect(compileMatch({ inRoster: true }, opts).test(factsFor("a@x.test"))).toBe(false);
    expect(compileMatch({ inRoster: false }, opts).test(factsFor("a@x.test"))).toBe(true);
  });

  it("group matches any listed group, case-sensitively", () => {
    expect(matching({ group: ["Family", "Work"] }, ["a@x.test"], friend)).toEqual(["a@x.test"]);
    expect(matching({ group: "work" }, ["a@x.test"], friend)).toEqual([]);
    expect(matching({ group: "Work" }, ["a@x.test"])).toEqual([]);
  });

  it("subscription never matches a contact outside the roster", () => {
    expect(matching({ subscription: ["to", "both"] }, ["a@x.test"], friend)).toEqual(["a@x.test"]);
    expect(matching({ subscription: "none" }, ["a@x.test"], pending)).toEqual(["a@x.test"]);
    expect(matching({ subscription: "none" }, ["a@x.test"])).toEqual([]);
  });

  it("marks matches that need roster state, through combinators", () => {
    expect(compileMatch({ domain: "x.test" }, opts).needsRoster).toBe(false);
    const spec = { not: { any: [{ domain: "x.test" }, { group: "A" }] } };
    expect(compileMatch(spec, opts).needsRoster).toBe(true);
  });
});

describe("combinators", () => {
  const jids = ["a@x.test", "b@x.test", "a@y.test"];

  it("all, any, not", () => {
    expect(matching({ all: [{ domain: "x.test" }, { regex: "^a@" }] }, jids)).toEqual(["a@x.test"]);
    expect(matching({ any: [{ domain: "y.test" }, { jid: "b@x.test" }] }, jids)).toEqual([
      "b@x.test",
      "a@y.test",
    ]);
    expect(matching({ not: { domain: "x.test" } }, jids)).toEqual(["a@y.test"]);
    const nested = { not: { all: [{ domain: "x.test" }, { not: { jid: "b@x.test" } }] } };
    expect(matching(nested, jids)).toEqual([
      "b@x.test",
      "a@y.test",
    ]);
  });

  it("describe() reads as text", () => {
    expect(compileMatch({ domain: "example.org" }, opts).describe()).toBe("domain example.org");
    const spec = { all: [{ domain: ["a.test", "*.b.test"] }, { not: { inRoster: true } }] };
    expect(compileMatch(spec, opts).describe()).toBe(
      "(domain a.test or *.b.test and not contact in roster)",
    );
    expect(compileMatch({ jid: ["a@x", "b@x", "c@x", "d@x", "e@x"] }, opts).describe()).toBe(
      "jid a@x, b@x, c@x or 2 more",
    );
  });

  it("collects every error with its path", () => {
    const twoKeys = { jid: "x@y", domain: "y" } as never;
    const spec = { any: [{ regex: "[" }, { jid: "a b" }, { all: [] }, twoKeys] };
    expect(compileIssues(() => compileMatch(spec, opts)).map((i) => i.path)).toEqual([
      ["any", 0, "regex"],
      ["any", 1, "jid"],
      ["any", 2, "all"],
      ["any", 3],
    ]);
  });
});

describe("policy", () => {
  it("first match wins, indexed or not", () => {
    const rules = [
      rule("bots", { regex: "^bot-" }, "reject"),
      rule("staff", { domain: "example.org" }),
      rule("alice", { jid: "alice@example.org" }, "mutual"),
      rule("friends", { all: [{ inRoster: true }, { group: "Friends" }] }, "mutual"),
      rule("subs", { domain: "*.example.org" }, "ask"),
      rule("partner", { jid: "*@partner.test" }, "ask"),
      rule("bob", { jid: "bob@partner.test" }, "reject"),
    ];
    // an earlier residual (regex) rule beats a later indexed one
    expect(decided(rules, "bot-1@example.org")).toBe("bots");
    // an earlier indexed rule beats a later one with the same key and a later residual one
    expect(decided(rules, "alice@example.org")).toBe("staff");
    const friend: RosterFacts = { groups: ["Friends"], subscription: "both" };
    expect(decided(rules, "carol@example.org", friend)).toBe("staff");
    // a later indexed rule wins when the earlier residual ones do not match
    expect(decided(rules, "a@chat.example.org")).toBe("subs");
    // an earlier residual rule beats a later indexed one
    expect(decided(rules, "a@chat.example.org", friend)).toBe("friends");
    // a glob filed under its domain beats a later exact JID
    expect(decided(rules, "bob@partner.test")).toBe("partner");
    expect(decided(rules, "stranger@else.test")).toBeUndefined();
  });

  it("an earlier glob or regex beats a later exact key, among many", () => {
    const rules = [
      rule("r0", { regex: "^zz" }),
      rule("r1", { regex: "^(.)\\1" }), // backreference: tested on its own, not joined
      rule("r2", { jid: "*@*.deep.test" }),
      rule("r3", { regex: "^carol@" }),
      rule("r4", { domain: ["x.test", "a.deep.test"] }),
      rule("r5", { jid: "carol@x.test" }),
    ];
    expect(decided(rules, "carol@x.test")).toBe("r3");
    expect(decided(rules, "aa@x.test")).toBe("r1");
    expect(decided(rules, "dave@x.test")).toBe("r4");
    expect(decided(rules, "dave@a.deep.test")).toBe("r2");
    expect(decided(rules, "dave@y.test")).toBeUndefined();
  });

  it("any of simple keys is indexed like the keys themselves", () => {
    const rules = [
      rule("early", { any: [{ domain: "x.test" }, { inRoster: true }] }),
      rule("late", { domain: "y.test" }, "reject"),
    ];
    expect(decided(rules, "a@x.test")).toBe("early");
    expect(decided(rules, "a@y.test")).toBe("late");
    expect(decided(rules, "a@y.test", { groups: [], subscription: "none" })).toBe("early");
  });

  it("decisions carry action, rule and reason", () => {
    const policy = compilePolicy(
      [
        rule("staff", { domain: "example.org" }),
        { ...rule("partners", { jid: "*@partner.test" }, "mutual"), reason: "partner company" },
      ],
      opts,
    );
    expect(policy.decide(factsFor("a@example.org"))).toEqual({
      action: "accept",
      rule: "staff",
      reason: 'domain example.org matches rule "staff"',
    });
    expect(policy.decide(factsFor("a@partner.test"))).toEqual({
      action: "mutual",
      rule: "partners",
      reason: "partner company",
    });
    expect(policy.rules).toEqual([
      { name: "staff", action: "accept", needsRoster: false },
      { name: "partners", action: "mutual", needsRoster: false },
    ]);
  });

  it("explain names roster rules evaluated without roster state", () => {
    const policy: CompiledPolicy = compilePolicy(
      [
        rule("friends", { group: "Friends" }, "mutual"),
        rule("known", { inRoster: true }),
        rule("staff", { domain: "example.org" }),
        rule("mutuals", { subscription: "both" }),
      ],
      opts,
    );
    expect(policy.explain(factsFor("a@example.org"))).toEqual({
      decision: policy.decide(factsFor("a@example.org")),
      needsRoster: ["friends", "known"],
    });
    expect(policy.explain(factsFor("a@else.test"))).toEqual({
      needsRoster: ["friends", "known", "mutuals"],
    });
    const inRoster = factsFor("a@else.test", { groups: [], subscription: "both" });
    expect(policy.explain(inRoster)).toEqual({
      decision: policy.decide(inRoster),
      needsRoster: [],
    });
    expect(policy.decide(inRoster)?.rule).toBe("known");
  });

  it("collects errors across rules with paths relative to the rules array", () => {
    const issues = compileIssues(() =>
      compilePolicy(
        [
          rule("ok", { domain: "x.test" }),
          rule("bad-regex", { any: [{ jid: "a@x.test" }, { regex: ["^a", "*b"] }] }),
          rule("bad-list", { list: "missing.txt" }),
          { name: "bad-action", match: { inRoster: true }, action: "allow" as never },
        ],
        opts,
      ),
    );
    expect(issues.map((i) => i.path)).toEqual([
      [1, "match", "any", 1, "regex", 1],
      [2, "match", "list"],
      [3, "action"],
    ]);
    expect(issues[0]!.message).toMatch(/^invalid regex \/\*b\/: Nothing to repeat/);
  });

  it("a rule's block goes on its decisions as a BlockSpec (true: bare JID, no expiry)", () => {
    const rules: SubscriptionRule[] = [
      { ...rule("spammers", { jid: "spam@x.test" }, "reject"), block: true },
      { ...rule("flooders", { domain: "*.spam.test" }, "reject"), block: { scope: "domain", for: 604_800_000 } },
      { ...rule("plain", { domain: "plain.test" }, "reject") },
    ];
    for (const policy of [compilePolicy(rules, opts), linearPolicy(rules, opts)]) {
      expect(policy.decide(factsFor("spam@x.test"))).toMatchObject({ action: "reject", rule: "spammers", block: { scope: "bare" } });
      expect(policy.decide(factsFor("a@eu.spam.test"))?.block).toEqual({ scope: "domain", forMs: 604_800_000 });
      expect(policy.decide(factsFor("a@plain.test"))).not.toHaveProperty("block");
      expect(policy.rules.map((r) => r.block)).toEqual([{ scope: "bare" }, { scope: "domain", forMs: 604_800_000 }, undefined]);
    }
  });

  it("a block on a rule given in code is checked as the schema checks it", () => {
    const issues = compileIssues(() =>
      compilePolicy(
        [
          { ...rule("friendly", { domain: "a.test" }, "accept"), block: true },
          { ...rule("odd-scope", { domain: "b.test" }, "reject"), block: { scope: "server" as never } },
          { ...rule("no-time", { domain: "c.test" }, "reject"), block: { for: 0 } },
        ],
        opts,
      ),
    );
    expect(issues).toEqual([
      { path: [0, "block"], message: "block goes only with action: reject (this rule's action is accept): a blocked sender cannot be answered otherwise" },
      { path: [1, "block", "scope"], message: 'scope must be "bare" or "domain"' },
      { path: [2, "block", "for"], message: "expected a positive duration in ms" },
    ]);
  });

  it("an empty policy decides nothing", () => {
    expect(compilePolicy([], opts).decide(factsFor("a@x.test"))).toBeUndefined();
  });
});
