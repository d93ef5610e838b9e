import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  MatchSpec,
  SubscriptionRule,
  SubscriptionRules,
  compileRegex,
  normalizeDomainPattern,
  normalizeJidPattern,
} from "./match-schema.ts";

function issues(schema: z.ZodType, value: unknown) {
  const result = schema.safeParse(value);
  expect(result.success).toBe(false);
  return result.error!.issues.map(({ path, message }) => ({ path, message }));
}

describe("MatchSpec", () => {
  it.each([
    { jid: "alice@example.org" },
    { jid: ["*@partner.test", "bob@x.test"] },
    { domain: ["example.org", "*.example.org"] },
    { regex: "^bot-\\d+@" },
    { list: "blocked.txt" },
    { inRoster: false },
    { group: ["Friends", "Family"] },
    { subscription: "both" },
    { subscription: ["to", "from"] },
    { all: [{ inRoster: true }, { not: { group: "Blocked" } }] },
    { any: [{ domain: "a.test" }, { jid: "b@c.test" }] },
  ])("accepts %j", (spec) => {
    expect(MatchSpec.parse(spec)).toEqual(spec);
  });

  it("rejects unknown keys", () => {
    expect(issues(MatchSpec, { domian: "x.test" })).toContainEqual({
      path: [],
      message: 'Unrecognized key: "domian"',
    });
  });

  it("rejects more than one key, and none", () => {
    expect(issues(MatchSpec, { jid: "a@b.test", domain: "b.test" })[0]!.message).toMatch(
      /exactly one key, got jid, domain/,
    );
    expect(issues(MatchSpec, {})[0]!.message).toMatch(/needs one of: jid, domain/);
  });

  it("reports an invalid regex at its path with the reason", () => {
    expect(issues(MatchSpec, { all: [{ regex: ["ok", "(unclosed"] }] })).toEqual([
      { path: ["all", 0, "regex", 1], message: "invalid regex /(unclosed/: Unterminated group" },
    ]);
  });

  it("rejects malformed jid and domain patterns", () => {
    expect(issues(MatchSpec, { jid: "a@b.test/res" })[0]!.message).toMatch(/has a resource/);
    expect(issues(MatchSpec, { jid: "a b@x.test" })[0]!.message).toMatch(/is not a JID/);
    expect(issues(MatchSpec, { domain: "*example.org" })[0]!.message).toMatch(/only start with/);
    expect(issues(MatchSpec, { domain: "a@example.org" })[0]!.message).toMatch(/is not a domain/);
  });

  it("rejects empty lists and bad subscription states", () => {
    expect(issues(MatchSpec, { any: [] })[0]!.path).toEqual(["any"]);
    expect(issues(MatchSpec, { subscription: "maybe" })[0]!.message).toMatch(/none\|to\|from/);
    expect(issues(MatchSpec, { jid: 42 })[0]!.message).toMatch(/expected a JID pattern/);
  });
});

describe("SubscriptionRule(s)", () => {
  const rule = { name: "staff", match: { domain: "example.org" }, action: "accept" };

  it("accepts a rule with an optional reason", () => {
    const withReason = { ...rule, reason: "colleagues" };
    expect(SubscriptionRule.parse(withReason)).toEqual(withReason);
  });

  it("is strict and checks the action", () => {
    expect(issues(SubscriptionRule, { ...rule, acton: "x" })[0]!.message).toMatch(/Unrecognized/);
    expect(issues(SubscriptionRule, { ...rule, action: "allow" })[0]!.path).toEqual(["action"]);
  });

  const reject = { name: "spam", match: { domain: "spam.test" }, action: "reject" };

  it("takes block: true or { scope, for } on a rejecting rule, for in ms", () => {
    expect(SubscriptionRule.parse({ ...reject, block: true }).block).toBe(true);
    expect(SubscriptionRule.parse({ ...reject, block: { scope: "domain", for: "7d" } }).block).toEqual({ scope: "domain", for: 7 * 86_400_000 });
    expect(SubscriptionRule.parse({ ...reject, block: {} }).block).toEqual({});
  });

  it("refuses block on a rule that does not reject, at the block key", () => {
    for (const action of ["accept", "mutual", "ignore", "ask"]) {
      expect(issues(SubscriptionRule, { ...rule, action, block: true })).toEqual([
        { path: ["block"], message: `block goes only with action: reject (this rule's action is ${action}): a blocked sender cannot be answered otherwise` },
      ]);
    }
  });

  it("names the bad part of a block: scope, for, an unknown key, or neither true nor settings", () => {
    expect(issues(SubscriptionRule, { ...reject, block: { scope: "server" } })).toEqual([{ path: ["block", "scope"], message: 'scope must be "bare" or "domain"' }]);
    expect(issues(SubscriptionRule, { ...reject, block: { for: "3651d" } })).toEqual([{ path: ["block", "for"], message: "at most 3650d (ten years)" }]);
    expect(issues(SubscriptionRule, { ...reject, block: { for: "7 days" } })).toEqual([{ path: ["block", "for"], message: 'expected a duration like "90m", "12h" or "7d"' }]);
    expect(issues(SubscriptionRule, { ...reject, block: { for: "0s" } })[0]!.path).toEqual(["block", "for"]);
    expect(issues(SubscriptionRule, { ...reject, block: { scpoe: "domain" } })).toEqual([{ path: ["block"], message: 'Unrecognized key: "scpoe"' }]);
    for (const bad of [false, "domain", 7]) {
      expect(issues(SubscriptionRule, { ...reject, block: bad })).toEqual([{ path: ["block"], message: "expected true, or { scope: bare|domain, for: DURATION }" }]);
    }
  });

  it("rejects duplicate rule names", () => {
    expect(issues(SubscriptionRules, [rule, rule])).toEqual([
      { path: [1, "name"], message: 'duplicate rule name "staff"' },
    ]);
  });
});

describe("JSON Schema", () => {
  type Props = Record<string, { description?: string }>;
  // As `roster-bot schema` makes it: the input side (durations are written as text).
  const schema = z.toJSONSchema(SubscriptionRules, { io: "input" }) as {
    items: { properties: Props };
    $defs: Record<string, Record<string, unknown> & { properties: Props }>;
  };

  it("documents every match key and is strict about them", () => {
    const match = schema.$defs.MatchSpec!;
    expect(match.additionalProperties).toBe(false);
    expect(match.minProperties).toBe(1);
    expect(match.maxProperties).toBe(1);
    for (const [key, prop] of Object.entries(match.properties)) {
      expect(prop.description, key).toBeTruthy();
    }
    expect(match.properties.domain!.description).toMatch(/not example\.org itself/);
  });

  it("refers back to MatchSpec for combinators", () => {
    const not = JSON.stringify(schema.$defs.MatchSpec!.properties.not);
    expect(not).toContain('"$ref":"#/$defs/MatchSpec"');
    expect(schema.items.properties.action!.description).toMatch(/mutual/);
  });

  it("describes block: true, or { scope: bare|domain, for }", () => {
    const block = schema.items.properties.block as { description: string; anyOf: Record<string, unknown>[] };
    expect(block.description).toMatch(/only with action reject/i);
    expect(block.anyOf[0]).toMatchObject({ const: true });
    const settings = block.anyOf[1] as { additionalProperties: boolean; properties: Record<string, { enum?: string[]; description?: string }> };
    expect(settings.additionalProperties).toBe(false);
    expect(settings.properties.scope!.enum).toEqual(["bare", "domain"]);
    expect(settings.properties.for!.description).toMatch(/3650d/);
  });
});

describe("pattern helpers", () => {
  it("normalize JID patterns", () => {
    expect(normalizeJidPattern(" Alice@Example.ORG. ")).toBe("alice@example.org");
    expect(normalizeJidPattern("*@Partner.test")).toBe("*@partner.test");
  });

  it("normalize domain patterns", () => {
    expect(normalizeDomainPattern("*.Example.org")).toBe("*.example.org");
    expect(() => normalizeDomainPattern("*.*.org")).toThrow(/only start with/);
    expect(() => normalizeDomainPattern("*.")).toThrow(/not a domain/);
  });

  it("compile regexes case-insensitively", () => {
    expect(compileRegex("^ALICE@").test("alice@x.test")).toBe(true);
    expect(() => compileRegex("[")).toThrow(/^invalid regex \/\[\/: /);
  });
});
