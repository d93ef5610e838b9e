/**
 * Property: the indexed policy decides exactly like the first-match scan, for random rule sets
 * over a small universe of names (so keys collide, overlap and shadow each other often).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compilePolicy, linearPolicy } from "./compile.ts";
import { factsFor, type ContactFacts } from "./facts.ts";
import { SUBSCRIPTIONS } from "../subscription.ts";
import { ACTIONS, type MatchSpec, type SubscriptionRule } from "./match-schema.ts";
import { prng } from "../../../test/helpers/prng.ts";

const dir = mkdtempSync(join(tmpdir(), "roster-policy-prop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));


const BASES = Array.from({ length: 60 }, (_, i) => `b${i}.${["test", "example", "org"][i % 3]}`);
const SUBS = ["", "", "x.", "mail.", "y.x.", "chat."];
const LOCALS = ["alice", "bob", "bot-", "carol", "support", "aa", "x.y", "admin"].flatMap((l) =>
  ["", "1", "22", "3"].map((n) => l + n),
);
const GROUPS = ["Friends", "Work", "Blocked"];
const REGEXES = [
  "^bot-\\d+@b1",
  "^(.)\\1@b2", // backreference: never joined with others
  "@x\\.b3",
  "^admin\\d@(?!b)",
  "^b4\\.example$",
  "^[a-c]+@b5\\.",
  "y@b6",
  "(?<=@)mail\\.b7",
];

function generator(seed: number) {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const some = <T>(items: readonly T[], n: number) =>
    Array.from({ length: 1 + int(n) }, () => pick(items));
  const domain = () => pick(SUBS) + pick(BASES);
  const userJid = () => `${pick(LOCALS)}@${domain()}`;
  const jid = () => (random() < 0.1 ? domain() : userJid());

  /** A random JID with some characters (optionally not `@`) turned into `*` or `?`. */
  const glob = (of = jid(), keepAt = false) =>
    [...of]
      .map((ch) => (keepAt && ch === "@" ? ch : random() < 0.15 ? "*" : random() < 0.05 ? "?" : ch))
      .join("")
      .replace(/\*+/g, "*");

  const domainPattern = () => (random() < 0.35 ? `*.${pick(BASES)}` : domain());
  let lists = 0;
  const listFile = () => {
    const name = `list-${seed}-${lists++}.txt`;
    const lines = [
      ...some([...BASES, "# comment", ""], 3),
      ...some([jid(), glob(userJid(), true), `*.${pick(BASES)}`], 4),
    ];
    writeFileSync(join(dir, name), lines.join("\n"));
    return name;
  };

  const simple = (): MatchSpec => {
    const r = random();
    if (r < 0.3) return { domain: random() < 0.7 ? domainPattern() : some([domainPattern()], 3) };
    if (r < 0.55) return { jid: random() < 0.8 ? jid() : some([jid(), glob()], 3) };
    if (r < 0.7) return { jid: glob() };
    if (r < 0.8) return { regex: pick(REGEXES) };
    if (r < 0.83) return { list: listFile() };
    return { any: [simple(), simple()] };
  };
  const roster = (): MatchSpec =>
    pick<MatchSpec>([
      { inRoster: random() < 0.5 },
      { group: some(GROUPS, 2) },
      { subscription: some(SUBSCRIPTIONS, 2) },
    ]);
  // Broad matches (a bare `not`, `inRoster: false`) stay inside `all`, or they would decide
  // nearly every contact and leave the later rules untested.
  const spec = (): MatchSpec => {
    const r = random();
    if (r < 0.8) return simple();
    if (r < 0.88) return { all: [simple(), random() < 0.5 ? roster() : simple()] };
    if (r < 0.92) return { all: [simple(), { not: simple() }] };
    if (r < 0.96) return { any: [simple(), { all: [roster(), simple()] }] };
    return { all: [simple(), { not: { any: [{ inRoster: false }, { not: roster() }] } }] };
  };

  const rules = (n: number): SubscriptionRule[] =>
    Array.from({ length: n }, (_, i) => ({ name: `r${i}`, match: spec(), action: pick(ACTIONS) }));

  // Strangers: unknown domains, and unknown subdomains of known ones.
  const stranger = () =>
    `${pick(LOCALS)}@${random() < 0.5 ? `z${int(100)}.net` : `q${int(9)}.${pick(BASES)}`}`;
  const facts = (): ContactFacts =>
    factsFor(
      random() < 0.3 ? stranger() : jid(),
      random() < 0.5
        ? undefined
        : { groups: GROUPS.filter(() => random() < 0.4), subscription: pick(SUBSCRIPTIONS) },
    );

  return { rules, facts };
}

describe("compilePolicy equals linearPolicy", () => {
  it.each([1, 2, 3, 4])("on 300 random rules and 3,000 random contacts (seed %i)", (seed) => {
    const gen = generator(seed);
    const rules = gen.rules(300);
    const fast = compilePolicy(rules, { baseDir: dir });
    const slow = linearPolicy(rules, { baseDir: dir });
    let matched = 0;
    for (let i = 0; i < 3000; i++) {
      const f = gen.facts();
      const expected = slow.decide(f);
      expect(fast.decide(f), JSON.stringify(f)).toEqual(expected);
      expect(fast.explain(f).decision).toEqual(expected);
      if (expected) matched++;
    }
    // Both outcomes must be common, or the property says little.
    expect(matched).toBeGreaterThan(600);
    expect(matched).toBeLessThan(2400);
  });

  it("also on rule sets where no rule shadows another (late rules get decided too)", () => {
    const gen = generator(99);
    // Few rules: most contacts fall through to late rules or to no rule at all.
    for (let round = 0; round < 50; round++) {
      const rules = gen.rules(12);
      const fast = compilePolicy(rules, { baseDir: dir });
      const slow = linearPolicy(rules, { baseDir: dir });
      for (let i = 0; i < 100; i++) {
        const f = gen.facts();
        expect(fast.decide(f), JSON.stringify({ f, rules })).toEqual(slow.decide(f));
      }
    }
  });
});
