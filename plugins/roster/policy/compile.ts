/**
 * Compiles subscription rules into a decision function. Each match spec is reduced to a disjunction
 * of parts (exact JID, domain, subdomain, glob, regex, opaque test); the policy files the parts of
 * all rules into maps keyed by JID / domain, so a decision costs a few lookups plus a scan of the few
 * unindexable rules instead of a walk over every rule. The lowest matching rule index wins.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { BlockSpec } from "../api.ts";
import { SUBSCRIPTIONS } from "../subscription.ts";
import type { ContactFacts } from "./facts.ts";
import {
  ACTIONS,
  BAD_BLOCK_OPTION,
  BAD_BLOCK_SCOPE,
  BLOCK_SCOPES,
  MATCH_KEYS,
  blockNeedsReject,
  compileRegex,
  isGlob,
  normalizeDomainPattern,
  normalizeJidPattern,
  type BlockOptionInput,
  type MatchSpec,
  type SubscriptionAction,
  type SubscriptionRule,
} from "./match-schema.ts";

export interface CompileOptions {
  /** Directory that `list:` paths are relative to (usually the config file's). */
  baseDir: string;
  /** Reads a list file; defaults to a sync UTF-8 read. */
  readFile?: (absolutePath: string) => string;
}

export interface CompiledMatch {
  test(this: void, facts: ContactFacts): boolean;
  /** The answer depends on live roster state (inRoster, group, subscription). */
  readonly needsRoster: boolean;
  describe(this: void): string;
}

export interface Decision {
  action: SubscriptionAction;
  rule: string;
  /** Human text, e.g. 'domain example.org matches rule "staff"', or the rule's own reason. */
  reason: string;
  /** The rule's `block` option (action reject only): block the sender at the server too. */
  block?: BlockSpec;
}

export interface CompiledPolicy {
  /** First matching rule in order wins; undefined when no rule matches. */
  decide(this: void, facts: ContactFacts): Decision | undefined;
  /**
   * Like decide, and also names the rules that needed roster state but were evaluated with
   * `facts.roster` undefined (so "not in roster" was assumed), for an offline explain command.
   */
  explain(facts: ContactFacts): { decision?: Decision; needsRoster: string[] };
  readonly rules: readonly { name: string; action: SubscriptionAction; needsRoster: boolean; block?: BlockSpec }[];
}

export type IssuePath = (string | number)[];

export interface PolicyIssue {
  /** Relative to the rules array (e.g. `[3, "match", "regex"]`); to the spec for compileMatch. */
  path: IssuePath;
  message: string;
}

export class PolicyCompileError extends Error {
  constructor(readonly issues: PolicyIssue[]) {
    const shown = issues
      .slice(0, 5)
      .map((i) => `  at ${i.path.join(".") || "(root)"}: ${i.message}`);
    if (issues.length > shown.length) shown.push(`  … and ${issues.length - shown.length} more`);
    super(`invalid subscription policy:\n${shown.join("\n")}`);
    this.name = "PolicyCompileError";
  }
}

// ---------------------------------------------------------------------------------------------
// Parts: the indexable pieces a match spec is reduced to

type Test = (facts: ContactFacts) => boolean;

type Part =
  | { kind: "jid"; key: string }
  | { kind: "domain"; key: string }
  | { kind: "subdomain"; key: string } // `*.key`: strict subdomains of key
  // Glob on the bare JID. When its domain part (after the last `@`, which can only match the
  // JID's one `@`) is a literal, only contacts of that domain can match; when it ends in
  // `*.literal`, only subdomains of literal can. The index files such globs under that key.
  | { kind: "glob"; re: RegExp; key: { kind: "domain" | "subdomain"; key: string } | undefined }
  | { kind: "regex"; re: RegExp; combinable: boolean }
  | { kind: "test"; test: Test }; // anything else, evaluated as is

interface Node extends CompiledMatch {
  /** A disjunction equivalent to `test`. */
  readonly parts: readonly Part[];
}

/** Regex for a glob: `*` any run, `?` one character, everything else literal; whole-JID match. */
function globRegex(glob: string): RegExp {
  // A leading or trailing `*` is written as a missing anchor rather than `[^]*`: same matches,
  // without backtracking over the whole JID.
  const body = glob.replace(/^\*+/, "").replace(/\*+$/, "");
  let source = glob.startsWith("*") ? "" : "^";
  for (const ch of body) {
    if (ch === "*") source += "[^]*";
    else if (ch === "?") source += "[^]";
    else source += ch.replace(/[\\^$.*+?()[\]{}|/]/, "\\$&");
  }
  if (!glob.endsWith("*")) source += "$";
  // Case-sensitive on purpose: pattern and JID are both normalized, and Unicode case folding
  // (e.g. "ſ" ~ "s") would let a glob match outside the domain it is filed under.
  return new RegExp(source, "u");
}

function jidPart(pattern: string): Part {
  if (!isGlob(pattern)) return { kind: "jid", key: pattern };
  return { kind: "glob", re: globRegex(pattern), key: globKey(pattern) };
}

function globKey(glob: string): { kind: "domain" | "subdomain"; key: string } | undefined {
  const at = glob.lastIndexOf("@");
  if (at === -1) return undefined;
  const domain = glob.slice(at + 1);
  if (!isGlob(domain)) return { kind: "domain", key: domain };
  // The literal text after the last wildcard, e.g. ".mail.test" in "eu-*.mail.test".
  const tail = domain.slice(Math.max(domain.lastIndexOf("*"), domain.lastIndexOf("?")) + 1);
  if (tail.length < 2 || !tail.startsWith(".")) return undefined;
  return { kind: "subdomain", key: tail.slice(1) };
}

function domainPart(pattern: string): Part {
  return pattern.startsWith("*.")
    ? { kind: "subdomain", key: pattern.slice(2) }
    : { kind: "domain", key: pattern };
}

// Numbered or named groups would change meaning or clash when regexes are joined into one.
const UNJOINABLE = /\\[1-9]|\\k<|\(\?<(?![=!])/;

function regexPart(re: RegExp): Part {
  return { kind: "regex", re, combinable: !UNJOINABLE.test(re.source) };
}

/** One test for a whole disjunction: a Set lookup per key kind rather than one test per part. */
function testParts(parts: readonly Part[]): Test {
  const of = <K extends Part["kind"]>(kind: K) =>
    parts.filter((p): p is Extract<Part, { kind: K }> => p.kind === kind);
  const tests: Test[] = [];
  const jids = of("jid").map((p) => p.key);
  const domains = of("domain").map((p) => p.key);
  const subdomains = of("subdomain").map((p) => `.${p.key}`);
  const res = [...of("glob"), ...of("regex")].map((p) => p.re);
  if (jids.length === 1) {
    const [jid] = jids;
    tests.push((f) => f.jid === jid);
  } else if (jids.length > 1) {
    const set = new Set(jids);
    tests.push((f) => set.has(f.jid));
  }
  if (domains.length === 1) {
    const [domain] = domains;
    tests.push((f) => f.domain === domain);
  } else if (domains.length > 1) {
    const set = new Set(domains);
    tests.push((f) => set.has(f.domain));
  }
  if (subdomains.length) tests.push((f) => subdomains.some((s) => f.domain.endsWith(s)));
  if (res.length) tests.push((f) => res.some((re) => re.test(f.jid)));
  tests.push(...of("test").map((p) => p.test));
  if (tests.length === 0) return () => false;
  if (tests.length === 1) return tests[0]!;
  return (f) => tests.some((t) => t(f));
}

// ---------------------------------------------------------------------------------------------
// Match specs → nodes

interface Ctx {
  baseDir: string;
  readFile: (absolutePath: string) => string;
  issues: PolicyIssue[];
  /** List files already read in this compile, so each is read and reported once. */
  lists: Map<string, Part[]>;
}

/** Stands in for a spec with errors, so compiling can go on and collect them all. */
const NEVER: Node = {
  test: () => false,
  needsRoster: false,
  describe: () => "(invalid)",
  parts: [],
};

/** "a, b or c", shortened for long lists. */
function either(items: readonly string[]): string {
  if (items.length === 1) return items[0]!;
  if (items.length <= 4) return `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
  return `${items.slice(0, 3).join(", ")} or ${items.length - 3} more`;
}

function leaf(parts: Part[], text: string): Node {
  return { test: testParts(parts), needsRoster: false, describe: () => text, parts };
}

function rosterLeaf(test: Test, text: string): Node {
  return { test, needsRoster: true, describe: () => text, parts: [{ kind: "test", test }] };
}

/** string | string[] as a list, or undefined (with an issue) for anything else. */
function stringList(value: unknown, path: IssuePath, ctx: Ctx): string[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  if (list.length > 0 && list.every((v) => typeof v === "string")) return list;
  ctx.issues.push({ path, message: "expected a string or a non-empty list of strings" });
  return undefined;
}

/** Applies `parse` to each entry, recording an issue (with the entry's path) for each failure. */
function parseEach<T>(
  value: unknown,
  path: IssuePath,
  ctx: Ctx,
  parse: (s: string) => T,
): T[] | undefined {
  const list = stringList(value, path, ctx);
  if (!list) return undefined;
  const out: T[] = [];
  list.forEach((s, i) => {
    try {
      out.push(parse(s));
    } catch (err) {
      const at = Array.isArray(value) ? [...path, i] : path;
      ctx.issues.push({ path: at, message: (err as Error).message });
    }
  });
  return out.length === list.length ? out : undefined;
}

function compileNode(spec: unknown, path: IssuePath, ctx: Ctx): Node {
  const keys =
    spec && typeof spec === "object" && !Array.isArray(spec)
      ? Object.keys(spec).filter((k) => (spec as Record<string, unknown>)[k] !== undefined)
      : [];
  const key = keys[0];
  if (keys.length !== 1 || !(MATCH_KEYS as readonly string[]).includes(key!)) {
    ctx.issues.push({
      path,
      message: `a match must be an object with exactly one of: ${MATCH_KEYS.join(", ")}`,
    });
    return NEVER;
  }
  const value = (spec as Record<string, unknown>)[key!];
  const at = [...path, key!];

  switch (key as (typeof MATCH_KEYS)[number]) {
    case "jid": {
      const patterns = parseEach(value, at, ctx, normalizeJidPattern);
      return patterns ? leaf(patterns.map(jidPart), `jid ${either(patterns)}`) : NEVER;
    }
    case "domain": {
      const patterns = parseEach(value, at, ctx, normalizeDomainPattern);
      return patterns ? leaf(patterns.map(domainPart), `domain ${either(patterns)}`) : NEVER;
    }
    case "regex": {
      const res = parseEach(value, at, ctx, compileRegex);
      if (!res) return NEVER;
      return leaf(res.map(regexPart), `jid matching ${either(res.map((re) => `/${re.source}/`))}`);
    }
    case "list": {
      if (typeof value !== "string" || value === "") {
        ctx.issues.push({ path: at, message: "expected the path of a list file" });
        return NEVER;
      }
      return leaf(readList(value, at, ctx), `jid listed in ${value}`);
    }
    case "inRoster": {
      if (typeof value !== "boolean") {
        ctx.issues.push({ path: at, message: "expected true or false" });
        return NEVER;
      }
      return value
        ? rosterLeaf((f) => f.roster !== undefined, "contact in roster")
        : rosterLeaf((f) => f.roster === undefined, "contact not in roster");
    }
    case "group": {
      const groups = parseEach(value, at, ctx, (g) => g.normalize("NFC"));
      if (!groups) return NEVER;
      const set = new Set(groups);
      return rosterLeaf(
        (f) => f.roster !== undefined && f.roster.groups.some((g) => set.has(g)),
        `roster group ${either(groups.map((g) => JSON.stringify(g)))}`,
      );
    }
    case "subscription": {
      const states = parseEach(value, at, ctx, (s) => {
        if (!(SUBSCRIPTIONS as readonly string[]).includes(s)) {
          throw new Error(`"${s}" is not one of ${SUBSCRIPTIONS.join(", ")}`);
        }
        return s;
      });
      if (!states) return NEVER;
      const set = new Set(states);
      return rosterLeaf(
        (f) => f.roster !== undefined && set.has(f.roster.subscription),
        `subscription ${either(states)}`,
      );
    }
    case "all":
    case "any": {
      if (!Array.isArray(value) || value.length === 0) {
        ctx.issues.push({ path: at, message: "expected a non-empty list of matches" });
        return NEVER;
      }
      const children = value.map((child, i) => compileNode(child, [...at, i], ctx));
      const needsRoster = children.some((c) => c.needsRoster);
      const text = `(${children.map((c) => c.describe()).join(key === "all" ? " and " : " or ")})`;
      if (key === "any") {
        // Flatten so that `any` of simple keys stays indexable at the top level.
        const parts = children.flatMap((c) => c.parts);
        return { test: testParts(parts), needsRoster, describe: () => text, parts };
      }
      const test: Test = (f) => children.every((c) => c.test(f));
      return { test, needsRoster, describe: () => text, parts: [{ kind: "test", test }] };
    }
    case "not": {
      const child = compileNode(value, at, ctx);
      const test: Test = (f) => !child.test(f);
      const text = `not ${child.describe()}`;
      const parts: Part[] = [{ kind: "test", test }];
      return { test, needsRoster: child.needsRoster, describe: () => text, parts };
    }
  }
}

/**
 * Reads a list file: one JID (`@`), domain, `*@…` glob or `*.domain` per line; `#` comments
 * (whole line, or after whitespace since `#` may occur inside a JID) and blank lines are skipped.
 */
function readList(file: string, path: IssuePath, ctx: Ctx): Part[] {
  const absolute = resolve(ctx.baseDir, file);
  const cached = ctx.lists.get(absolute);
  if (cached) return cached;
  const parts: Part[] = [];
  ctx.lists.set(absolute, parts);
  let text: string;
  try {
    text = ctx.readFile(absolute);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    ctx.issues.push({ path, message: `cannot read list file ${file} (${absolute}): ${why}` });
    return parts;
  }
  text.replace(/^\uFEFF/, "").split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") return;
    try {
      if (/\s/.test(line)) throw new Error(`"${line}": one entry per line`);
      parts.push(
        line.includes("@")
          ? jidPart(normalizeJidPattern(line))
          : domainPart(normalizeDomainPattern(line)),
      );
    } catch (err) {
      ctx.issues.push({ path, message: `${file}:${i + 1}: ${(err as Error).message}` });
    }
  });
  return parts;
}

function newCtx(opts: CompileOptions): Ctx {
  return {
    baseDir: opts.baseDir,
    readFile: opts.readFile ?? ((p) => readFileSync(p, "utf8")),
    issues: [],
    lists: new Map(),
  };
}

/** Compiles one match spec; throws PolicyCompileError with paths relative to the spec. */
export function compileMatch(spec: MatchSpec, opts: CompileOptions): CompiledMatch {
  const ctx = newCtx(opts);
  const node = compileNode(spec, [], ctx);
  if (ctx.issues.length) throw new PolicyCompileError(ctx.issues);
  return { test: node.test, needsRoster: node.needsRoster, describe: node.describe };
}

// ---------------------------------------------------------------------------------------------
// Policies

interface CompiledRule {
  name: string;
  action: SubscriptionAction;
  node: Node;
  /** Shared and frozen: decide() allocates nothing. */
  decision: Decision;
}

/**
 * A rule's `block` option as a BlockSpec (frozen, shared by every decision of the rule). Checked
 * here as well as in the schema: rules also come from code.
 */
function compileBlock(rule: SubscriptionRule, path: IssuePath, ctx: Ctx): BlockSpec | undefined {
  const option: BlockOptionInput | undefined = rule.block;
  if (option === undefined) return undefined;
  if (rule.action !== "reject") {
    ctx.issues.push({ path, message: blockNeedsReject(rule.action) });
    return undefined;
  }
  return blockSpecOf(option, path, ctx.issues);
}

/** `true` or `{ scope, for }` (ms, parsed) as a BlockSpec; records an issue for what is not one. */
export function blockSpecOf(option: BlockOptionInput, path: IssuePath, issues: PolicyIssue[]): BlockSpec | undefined {
  if (option === true) return Object.freeze({ scope: "bare" });
  if (typeof option !== "object" || option === null) {
    issues.push({ path, message: BAD_BLOCK_OPTION });
    return undefined;
  }
  const scope = option.scope ?? "bare";
  if (!(BLOCK_SCOPES as readonly string[]).includes(scope)) {
    issues.push({ path: [...path, "scope"], message: BAD_BLOCK_SCOPE });
    return undefined;
  }
  const forMs = option.for;
  if (forMs !== undefined && !(Number.isFinite(forMs) && forMs > 0)) {
    issues.push({ path: [...path, "for"], message: "expected a positive duration in ms" });
    return undefined;
  }
  return Object.freeze({ scope, ...(forMs !== undefined ? { forMs } : {}) });
}

function compileRules(rules: readonly SubscriptionRule[], opts: CompileOptions): CompiledRule[] {
  const ctx = newCtx(opts);
  const compiled = rules.map((rule, i): CompiledRule => {
    if (typeof rule.name !== "string" || rule.name === "") {
      ctx.issues.push({ path: [i, "name"], message: "a rule needs a name" });
    }
    if (!(ACTIONS as readonly string[]).includes(rule.action)) {
      const message = `action must be one of ${ACTIONS.join(", ")}`;
      ctx.issues.push({ path: [i, "action"], message });
    }
    const node = compileNode(rule.match, [i, "match"], ctx);
    const reason = rule.reason ?? `${node.describe()} matches rule "${rule.name}"`;
    const block = compileBlock(rule, [i, "block"], ctx);
    const decision: Decision = Object.freeze({ action: rule.action, rule: rule.name, reason, ...(block ? { block } : {}) });
    return { name: rule.name, action: rule.action, node, decision };
  });
  if (ctx.issues.length) throw new PolicyCompileError(ctx.issues);
  return compiled;
}

function policyOf(
  compiled: CompiledRule[],
  decideIndex: (f: ContactFacts) => number,
): CompiledPolicy {
  return {
    decide: (facts) => compiled[decideIndex(facts)]?.decision,
    explain(facts) {
      const needsRoster: string[] = [];
      for (const rule of compiled) {
        if (rule.node.needsRoster && facts.roster === undefined) needsRoster.push(rule.name);
        if (rule.node.test(facts)) return { decision: rule.decision, needsRoster };
      }
      return { needsRoster };
    },
    rules: compiled.map(({ name, action, node, decision }) => ({
      name,
      action,
      needsRoster: node.needsRoster,
      ...(decision.block ? { block: decision.block } : {}),
    })),
  };
}

/** The naive first-match scan: the benchmark baseline and the test oracle. */
export function linearPolicy(
  rules: readonly SubscriptionRule[],
  opts: CompileOptions,
): CompiledPolicy {
  const compiled = compileRules(rules, opts);
  return policyOf(compiled, (facts) => {
    for (let i = 0; i < compiled.length; i++) if (compiled[i]!.node.test(facts)) return i;
    return -1;
  });
}

/** A part that must be tested, tagged with its rule's index; lists are kept in rule order. */
interface Candidate {
  rule: number;
  test: Test;
}

/** Everything filed under one domain key: the lowest exact-key rule, and globs to test. */
interface Bucket {
  rule: number;
  globs: Candidate[];
}

/** Lowest rule index below `best` whose candidate matches, else `best`. */
function firstHit(list: readonly Candidate[], facts: ContactFacts, best: number): number {
  for (const c of list) {
    if (c.rule >= best) break;
    if (c.test(facts)) return c.rule;
  }
  return best;
}

/** Compiles rules into an indexed first-match policy; throws PolicyCompileError. */
export function compilePolicy(
  rules: readonly SubscriptionRule[],
  opts: CompileOptions,
): CompiledPolicy {
  const compiled = compileRules(rules, opts);
  const none = compiled.length;

  // Rules are visited in order, so every bucket and list comes out sorted by rule index.
  const jids = new Map<string, number>(); // exact JID → lowest rule index
  const domains = new Map<string, Bucket>();
  const subdomains = new Map<string, Bucket>(); // keyed by the parent domain
  const joinable: (Candidate & { re: RegExp })[] = []; // globs and regexes behind one screen
  const residual: Candidate[] = []; // everything else, tested one by one
  const bucket = (map: Map<string, Bucket>, key: string) => {
    let b = map.get(key);
    if (b === undefined) map.set(key, (b = { rule: none, globs: [] }));
    return b;
  };

  compiled.forEach(({ node }, i) => {
    for (const part of node.parts) {
      switch (part.kind) {
        case "jid":
          if (!jids.has(part.key)) jids.set(part.key, i);
          break;
        case "domain":
        case "subdomain": {
          const b = bucket(part.kind === "domain" ? domains : subdomains, part.key);
          b.rule = Math.min(b.rule, i);
          break;
        }
        case "glob":
        case "regex": {
          const { re } = part;
          const c = { rule: i, re, test: (f: ContactFacts) => re.test(f.jid) };
          if (part.kind === "glob" && part.key) {
            bucket(part.key.kind === "domain" ? domains : subdomains, part.key.key).globs.push(c);
          } else if (part.kind === "glob" || part.combinable) {
            joinable.push(c);
          } else {
            residual.push(c);
          }
          break;
        }
        case "test":
          residual.push({ rule: i, test: part.test });
          break;
      }
    }
  });

  // One regex that matches when any joinable part does: most contacts match none of them, and
  // one native regex run is much cheaper than one call per pattern. Case-insensitive matching
  // only widens the globs (which are case-sensitive), so the screen never misses a match.
  let screen: RegExp | undefined;
  if (joinable.length > 1) {
    try {
      screen = compileRegex(joinable.map((c) => `(?:${c.re.source})`).join("|"));
    } catch {
      screen = undefined; // joining failed on some odd pattern: test each one instead
    }
  }
  const firstJoinable = joinable[0]?.rule ?? none;

  const visit = (b: Bucket | undefined, f: ContactFacts, best: number): number => {
    if (b === undefined) return best;
    return firstHit(b.globs, f, b.rule < best ? b.rule : best);
  };

  return policyOf(compiled, (f) => {
    let best = jids.get(f.jid) ?? none;
    best = visit(domains.get(f.domain), f, best);
    if (subdomains.size > 0) {
      // Every proper suffix of the domain that starts after a dot.
      const d = f.domain;
      for (let dot = d.indexOf("."); dot !== -1; dot = d.indexOf(".", dot + 1)) {
        best = visit(subdomains.get(d.slice(dot + 1)), f, best);
      }
    }
    if (firstJoinable < best && (screen === undefined || screen.test(f.jid))) {
      best = firstHit(joinable, f, best);
    }
    if (residual.length > 0) best = firstHit(residual, f, best);
    return best;
  });
}
