/** The runner decides as the running bot does: rules, default, roster facts, block, group sync. */
import { describe, expect, it } from "vitest";
import { rosterConfigSchema } from "../config.ts";
import { compileGroupRules } from "../group-sync/config.ts";
import { compilePolicy } from "../policy/compile.ts";
import type { PolicyCase } from "./load-cases.ts";
import { runCases, type CaseContext } from "./run-cases.ts";

const config = rosterConfigSchema.parse({
  subscriptions: {
    default: "ignore",
    rules: [
      { name: "spam", match: { domain: "spam.test" }, action: "reject", block: { scope: "domain" } },
      { name: "pest", match: { jid: "pest@x.test" }, action: "reject", block: true },
      { name: "blocked", match: { group: "Blocked" }, action: "reject" },
      { name: "friends-back", match: { subscription: ["to", "both"] }, action: "mutual" },
      { name: "staff", match: { domain: "staff.test" }, action: "accept" },
    ],
  },
  groups: {
    managed: ["Old"],
    assign: [
      { group: "Staff", match: { domain: "staff.test" } },
      { group: "Mutual", match: { subscription: "both" } },
    ],
    contacts: [{ jid: "boss@x.test", groups: ["Board"] }],
  },
});

const ctx: CaseContext = {
  policy: compilePolicy(config.subscriptions.rules, { baseDir: "/" }),
  defaultAction: config.subscriptions.default,
  groups: compileGroupRules(config.groups, { baseDir: "/", limits: config.limits }),
};

let line = 0;
const at = () => `cases.yaml:${++line}:3`;
const one = (c: Omit<PolicyCase, "at">) => runCases([{ at: at(), ...c }], ctx);
const mismatches = (c: Omit<PolicyCase, "at">) => one(c).flatMap((f) => f.mismatches);

describe("runCases: expect", () => {
  it("passes when the rules give the action, fails with what they gave and why", () => {
    expect(one({ jid: "a@staff.test", expect: "accept" })).toEqual([]);
    const [failure] = one({ name: "staff get in", jid: "a@staff.test", expect: "mutual" });
    expect(failure).toMatchObject({ name: "staff get in", jid: "a@staff.test", mismatches: ["expected mutual, the rules gave accept"] });
    expect(failure!.explanation).toMatchObject({ action: "accept", decidedBy: "rules", rule: "staff", needsRoster: [] });
  });

  it("the default decides when no rule matches", () => {
    expect(one({ jid: "a@elsewhere.test", expect: "ignore", rule: "default" })).toEqual([]);
    expect(mismatches({ jid: "a@elsewhere.test", expect: "reject" })).toEqual(["expected reject, the default gave ignore"]);
    expect(mismatches({ jid: "a@staff.test", rule: "default" })).toEqual(['expected the default to decide, rule "staff" did']);
  });

  it("the JID is normalized as the bot does (case, resource)", () => {
    expect(one({ jid: "A@Staff.TEST/phone", expect: "accept", rule: "staff" })).toEqual([]);
  });

  it("the name defaults to the JID", () => {
    expect(one({ jid: "a@elsewhere.test", expect: "accept" })[0]!.name).toBe("a@elsewhere.test");
  });
});

describe("runCases: roster facts", () => {
  it("rules on groups and subscription see the case's roster, and none without it", () => {
    expect(one({ jid: "m@elsewhere.test", roster: { groups: ["Blocked"], subscription: "none" }, expect: "reject", rule: "blocked" })).toEqual([]);
    expect(one({ jid: "m@elsewhere.test", roster: { groups: [], subscription: "to" }, expect: "mutual", rule: "friends-back" })).toEqual([]);
    expect(one({ jid: "m@elsewhere.test", expect: "ignore", rule: "default" })).toEqual([]);
    // Live facts: the explanation names no rule as evaluated without the roster.
    expect(one({ jid: "m@elsewhere.test", expect: "accept" })[0]!.explanation.needsRoster).toEqual([]);
  });
});

describe("runCases: rule", () => {
  it("fails with the rule that decided instead", () => {
    expect(one({ jid: "a@spam.test", rule: "spam" })).toEqual([]);
    expect(mismatches({ jid: "a@spam.test", rule: "staff" })).toEqual(['expected rule "staff" to decide, rule "spam" did']);
    expect(mismatches({ jid: "a@nowhere.test", rule: "staff" })).toEqual(['expected rule "staff" to decide, the default did']);
  });

  it("a rule that is not in the config (renamed) fails saying so", () => {
    expect(mismatches({ jid: "a@staff.test", rule: "colleagues" })).toEqual([
      'expected rule "colleagues" to decide, but the config has no rule "colleagues" (renamed or removed?); rule "staff" decided',
    ]);
  });
});

describe("runCases: block", () => {
  it("none, bare or domain: the deciding rule's block scope", () => {
    expect(one({ jid: "a@spam.test", block: "domain" })).toEqual([]);
    expect(one({ jid: "pest@x.test", block: "bare" })).toEqual([]);
    expect(one({ jid: "a@staff.test", block: "none" })).toEqual([]);
    expect(one({ jid: "a@nowhere.test", block: "none" })).toEqual([]);
    expect(mismatches({ jid: "a@spam.test", block: "bare" })).toEqual(["expected block bare, the rules gave block domain"]);
    expect(mismatches({ jid: "pest@x.test", block: "none" })).toEqual(["expected block none, the rules gave block bare"]);
    expect(mismatches({ jid: "a@nowhere.test", block: "domain" })).toEqual(["expected block domain, the default gave block none"]);
  });
});

describe("runCases: groups", () => {
  it("assign rules and declared contacts give groups, order-free", () => {
    expect(one({ jid: "a@staff.test", groups: ["Staff"] })).toEqual([]);
    expect(one({ jid: "a@staff.test", roster: { groups: [], subscription: "both" }, groups: ["Mutual", "Staff"] })).toEqual([]);
    expect(one({ jid: "a@staff.test", roster: { groups: [], subscription: "both" }, groups: ["Staff", "Mutual"] })).toEqual([]);
    expect(one({ jid: "boss@x.test", groups: ["Board"] })).toEqual([]);
  });

  it("groups set by hand stay, owned ones no rule wants go", () => {
    expect(one({ jid: "a@elsewhere.test", roster: { groups: ["Friends", "Old", "Staff"], subscription: "none" }, groups: ["Friends"] })).toEqual([]);
  });

  it("fails with the expected and actual groups", () => {
    const [failure] = one({ jid: "a@staff.test", roster: { groups: ["Friends"], subscription: "to" }, expect: "mutual", groups: ["Staff"] });
    expect(failure!.mismatches).toEqual(["expected groups [Staff], group sync gives [Friends, Staff]"]);
    expect(failure!.groups).toEqual({ expected: ["Staff"], actual: ["Friends", "Staff"] });
  });

  it("every mismatch of a case is listed", () => {
    expect(mismatches({ jid: "a@spam.test", expect: "accept", rule: "staff", block: "none", groups: ["Staff"] })).toHaveLength(4);
  });
});

describe("runCases: many cases", () => {
  it("only the failures, in order", () => {
    const cases: PolicyCase[] = [
      { at: "c.yaml:1:3", jid: "a@staff.test", expect: "accept" },
      { at: "c.yaml:2:3", jid: "b@staff.test", expect: "reject" },
      { at: "c.yaml:3:3", jid: "c@spam.test", expect: "reject" },
      { at: "c.yaml:4:3", jid: "d@spam.test", expect: "accept" },
    ];
    expect(runCases(cases, ctx).map((f) => f.at)).toEqual(["c.yaml:2:3", "c.yaml:4:3"]);
  });
});
