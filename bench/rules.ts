/**
 * Benchmark: compiled subscription policy vs a plain first-match scan, over 1,000 rules (exact
 * domains and JIDs, `*.domain`, globs, regexes; no catch-all) and 1,000,000 pre-generated contacts,
 * about half of which match some rule. Run: npx tsx bench/rules.ts
 */
import { compilePolicy, linearPolicy, type Decision } from "../plugins/roster/policy/compile.ts";
import { factsFor, type ContactFacts } from "../plugins/roster/policy/facts.ts";
import { ACTIONS, type SubscriptionRule } from "../plugins/roster/policy/match-schema.ts";
import { prng } from "../test/helpers/prng.ts";

const RULES = { domains: 600, jids: 250, subdomains: 100, globs: 30, regexes: 20 };
const CONTACTS = 1_000_000;
const LINEAR_SAMPLE = 50_000;
const WARMUP = 100_000;


const random = prng(20240611);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"];
const user = () => `${pick(NAMES)}${int(10_000)}`;

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Rules plus, for each, a way to make a JID that the rule matches (also the rule set of bench/replay.ts). */
export function buildRules(): { rules: SubscriptionRule[]; matching: (() => string)[] } {
  const made: { match: SubscriptionRule["match"]; sample: () => string }[] = [];
  for (let i = 0; i < RULES.domains; i++) {
    const domain = `corp${i}.example`;
    made.push({ match: { domain }, sample: () => `${user()}@${domain}` });
  }
  for (let i = 0; i < RULES.jids; i++) {
    const jid = `${user()}@host${i % 40}.test`;
    made.push({ match: { jid }, sample: () => jid });
  }
  for (let i = 0; i < RULES.subdomains; i++) {
    const domain = `org${i}.example`;
    made.push({ match: { domain: `*.${domain}` }, sample: () => `${user()}@chat.${domain}` });
  }
  for (let i = 0; i < RULES.globs; i++) {
    const shapes: { match: SubscriptionRule["match"]; sample: () => string }[] = [
      { match: { jid: `*@partner${i}.test` }, sample: () => `${user()}@partner${i}.test` },
      { match: { jid: `support?@help${i}.test` }, sample: () => `support${int(10)}@help${i}.test` },
      { match: { jid: `bot${i}-*@*` }, sample: () => `bot${i}-${int(999)}@${user()}.net` },
      { match: { jid: `*.team${i}@*.mail.test` }, sample: () => `${user()}.team${i}@eu.mail.test` },
    ];
    made.push(shapes[i % shapes.length]!);
  }
  for (let i = 0; i < RULES.regexes; i++) {
    const shapes: { match: SubscriptionRule["match"]; sample: () => string }[] = [
      { match: { regex: `^admin${i}\\d+@` }, sample: () => `admin${i}${int(99)}@${user()}.org` },
      {
        match: { regex: `^[a-z]+\\.[a-z]+@dept${i}\\.corp\\.test$` },
        sample: () => `ann.lee@dept${i}.corp.test`,
      },
      { match: { regex: `@(lab|dev)${i}\\.` }, sample: () => `${user()}@lab${i}.science.test` },
      { match: { regex: `^noreply-${i}` }, sample: () => `noreply-${i}x@${user()}.io` },
    ];
    made.push(shapes[i % shapes.length]!);
  }
  shuffle(made);
  const rules = made.map(({ match }, i): SubscriptionRule => ({
    name: `rule-${i}`,
    match,
    action: pick(ACTIONS),
  }));
  return { rules, matching: made.map((m) => m.sample) };
}

/** Strangers: unknown domains, some near misses (parent of a `*.domain`, similar names). */
export function stranger(): string {
  switch (int(5)) {
    case 0:
      return `${user()}@org${int(RULES.subdomains)}.example`; // `*.org…` excludes the parent
    case 1:
      return `${user()}@corp${int(RULES.domains)}.example.net`;
    case 2:
      return `${user()}@mail.stranger${int(50_000)}.net`;
    case 3:
      return `stranger${int(50_000)}.example`; // a domain JID
    default:
      return `${user()}@s${int(100_000)}.example.com`;
  }
}

function buildContacts(matching: (() => string)[], count: number): ContactFacts[] {
  const contacts = new Array<ContactFacts>(count);
  for (let i = 0; i < count; i++) {
    contacts[i] = factsFor(random() < 0.5 ? pick(matching)() : stranger());
  }
  return contacts;
}

function time(
  decide: (f: ContactFacts) => Decision | undefined,
  contacts: readonly ContactFacts[],
  warmup: readonly ContactFacts[],
): { perSecond: number; matched: number } {
  for (const f of warmup) decide(f);
  let matched = 0;
  const start = process.hrtime.bigint();
  for (const f of contacts) if (decide(f) !== undefined) matched++;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perSecond: contacts.length / seconds, matched };
}

const same = (a: Decision | undefined, b: Decision | undefined) =>
  a?.rule === b?.rule && a?.action === b?.action && a?.reason === b?.reason;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

export function run(): void {
  const { rules, matching } = buildRules();
  // Warm-up contacts are separate, so the timed ones are all seen for the first time.
  const warmup = buildContacts(matching, WARMUP);
  const contacts = buildContacts(matching, CONTACTS);
  const opts = { baseDir: process.cwd() };

  const compileStart = performance.now();
  const compiled = compilePolicy(rules, opts);
  const compileMs = performance.now() - compileStart;
  const linear = linearPolicy(rules, opts);

  const fast = time(compiled.decide, contacts, warmup);
  const sample = contacts.slice(0, LINEAR_SAMPLE);
  const slow = time(linear.decide, sample, warmup.slice(0, 10_000));

  const mismatches = sample.filter((f) => !same(compiled.decide(f), linear.decide(f))).length;

  console.log(`rules: ${rules.length} (compiled in ${compileMs.toFixed(1)} ms)`);
  console.log(`compiled: ${fmt(fast.perSecond)} decisions/s over ${fmt(contacts.length)} contacts` +
    ` (${((100 * fast.matched) / contacts.length).toFixed(1)}% matched)`);
  console.log(`linear:   ${fmt(slow.perSecond)} decisions/s over ${fmt(sample.length)} contacts`);
  console.log(`ratio:    ${(fast.perSecond / slow.perSecond).toFixed(1)}x`);
  const verdict = mismatches === 0 ? "identical" : `${mismatches} MISMATCHES`;
  console.log(`check:    ${verdict} on ${fmt(sample.length)} contacts`);
  if (mismatches > 0) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) run();
