import { describe, expect, it } from "vitest";
import { rosterConfigSchema } from "../config.ts";
import { checkRosterConfig } from "../index.ts";
import { DEFAULT_LIMITS } from "../item.ts";
import { compileGroupRules, groupsSchema, GroupRulesError, withoutAutoSync } from "./config.ts";

const issuesOf = (groups: unknown) => {
  const r = groupsSchema.safeParse(groups);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("groups schema", () => {
  it("parses the documented example with defaults", () => {
    const parsed = groupsSchema.parse({
      managed: ["Staff", "Partners", "VIP"],
      assign: [{ group: "Staff", match: { domain: "example.org" } }, { group: "VIP", match: { jid: ["ceo@example.org"] } }],
      contacts: [{ jid: "ops@example.org", name: "Ops desk", groups: ["Staff"], subscribe: true }],
      prune: { enabled: false, maxPerRun: 10 },
      interval: "10m",
    });
    expect(parsed.interval).toBe(600_000);
    expect(parsed.auto).toBe(true);
    expect(rosterConfigSchema.parse({}).groups).toEqual({ managed: [], assign: [], contacts: [], prune: { enabled: false, maxPerRun: 10 }, auto: true });
  });

  it("is strict and reports every problem with its path", () => {
    expect(
      issuesOf({
        managed: [" "],
        assign: [{ group: "A", match: { regex: "(" } }, { group: "B", match: { domain: "x.test" }, colour: "red" }],
        contacts: [{ jid: "a@x.test/res" }, { jid: "*@x.test" }, { jid: "b@x.test" }, { jid: "B@X.test", name: "" }],
        prune: { enabled: true, maxPerRun: -1 },
        interval: "5ms",
      }),
    ).toEqual([
      "managed.0: a group name cannot be blank",
      "assign.0.match.regex: invalid regex /(/: Unterminated group",
      'assign.1: Unrecognized key: "colour"',
      'contacts.0.jid: "a@x.test/res" has a resource; roster items are bare JIDs',
      'contacts.1.jid: "*@x.test": a declared contact needs an exact JID, not a pattern',
      "contacts.3.name: a name cannot be blank; leave it out to keep the contact's own",
      "contacts.3.jid: b@x.test is declared twice",
      "prune.maxPerRun: Too small: expected number to be >=0",
      "interval: interval must be at least 1s",
    ]);
  });

  it("withoutAutoSync switches automatic syncing and the blocklist's expiry off and changes nothing else", () => {
    const config = rosterConfigSchema.parse({ groups: { managed: ["A"], interval: "1m" } });
    const off = withoutAutoSync(config);
    expect(off.groups.auto).toBe(false);
    expect(off.blocking.auto).toBe(false);
    expect(config.groups.auto).toBe(true);
    expect(config.blocking.auto).toBe(true);
    expect({ ...off, groups: { ...off.groups, auto: true }, blocking: { auto: true } }).toEqual(config);
  });
});

describe("compileGroupRules", () => {
  it("owns managed, assigned and declared groups, in their cleaned form", () => {
    const rules = compileGroupRules(
      groupsSchema.parse({ managed: ["Staff"], assign: [{ group: "Cafe\u0301", match: { domain: "x.test" } }], contacts: [{ jid: "Ops@X.test", groups: ["Desk", "Desk"] }] }),
      { baseDir: "/", limits: DEFAULT_LIMITS },
    );
    expect([...rules.owned].sort()).toEqual(["Caf\u00e9", "Desk", "Staff"]);
    expect(rules.contacts.get("ops@x.test")).toEqual({ jid: "ops@x.test", address: "ops@x.test", name: undefined, groups: ["Desk"], subscribe: false });
    expect(rules.needsRoster).toBe(false);
  });

  it("keys a declared contact by its normal form (U-labels) and keeps the config's A-label spelling to send it in; one contact in two spellings is declared twice", () => {
    const compile = (contacts: unknown[]) => compileGroupRules(groupsSchema.parse({ contacts }), { baseDir: "/", limits: DEFAULT_LIMITS });
    const rules = compile([{ jid: "Ops@XN--BCHER-KVA.test", groups: ["Desk"] }]);
    expect(rules.contacts.get("ops@bücher.test")).toMatchObject({ jid: "ops@bücher.test", address: "ops@xn--bcher-kva.test" });
    expect(() => compile([{ jid: "ops@bücher.test" }, { jid: "ops@xn--bcher-kva.test" }])).toThrow(/ops@bücher\.test is declared twice/);
    expect(() => compile([{ jid: "ops@xn--zzzz.test" }])).toThrow(/not a valid internationalized domain name/);
  });

  it("refuses over-long group names", () => {
    const limits = { ...DEFAULT_LIMITS, maxGroupLength: 3 };
    try {
      compileGroupRules(groupsSchema.parse({ managed: ["Long"], contacts: [{ jid: "bot@x.test", groups: ["Abc", "Abcd"] }] }), { baseDir: "/", limits });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GroupRulesError);
      expect((err as GroupRulesError).issues).toEqual([
        { path: ["managed", 0], message: "group name longer than limits.maxGroupLength (3)" },
        { path: ["contacts", 0, "groups", 1], message: "group name longer than limits.maxGroupLength (3)" },
      ]);
    }
  });
});

describe("checkRosterConfig", () => {
  it("reports bad match patterns under groups.assign with paths into the plugin section", () => {
    const config = rosterConfigSchema.parse({
      subscriptions: { rules: [{ name: "r", match: { list: "./no-such-list.txt" }, action: "accept" }] },
      groups: { assign: [{ group: "Ok", match: { domain: "x.test" } }, { group: "Listed", match: { any: [{ domain: "y.test" }, { list: "./missing.txt" }] } }] },
    });
    const issues = checkRosterConfig(config, "/nonexistent-dir");
    expect(issues.map((i) => i.path)).toEqual([
      ["subscriptions", "rules", 0, "match", "list"],
      ["groups", "assign", 1, "match", "any", 1, "list"],
    ]);
    expect(issues[1]!.message).toMatch(/cannot read list file \.\/missing\.txt/);
  });
});
