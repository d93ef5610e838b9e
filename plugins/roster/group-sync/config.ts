/**
 * The `groups:` config section (group sync) and its compiled form. Compiling, which reads list files,
 * is separate from parsing so a reload can build everything first and swap it in only if all is valid.
 */
import { z } from "zod";
import { duration } from "../../../bots/config/units.ts";
import type { BlockingConfig } from "../blocking/config.ts";
import { addressOf, parseJid } from "../../../bots/jid.ts";
import { cleanGroups, cleanName, type ItemLimits } from "../item.ts";
import { compileMatch, PolicyCompileError, type CompiledMatch, type IssuePath, type PolicyIssue } from "../policy/compile.ts";
import { isGlob, MatchSpec } from "../policy/match-schema.ts";

// ---------------------------------------------------------------------------------------------
// Schema

const GroupName = z
  .string()
  .min(1)
  .refine((s) => s.trim() !== "", { message: "a group name cannot be blank" })
  .describe("A roster group name (case-sensitive)");

/** Normal form of a declared contact's JID: an exact bare JID. Throws Error with a readable message. */
export function normalizeContactJid(input: string): string {
  if (isGlob(input)) throw new Error(`"${input}": a declared contact needs an exact JID, not a pattern`);
  let jid;
  try {
    jid = parseJid(input.trim());
  } catch (err) {
    throw new Error(`"${input}" is not a JID: ${(err as Error).message}`, { cause: err });
  }
  if (jid.resource) throw new Error(`"${input}" has a resource; roster items are bare JIDs`);
  return jid.bare;
}

const ContactJid = z.string().superRefine((value, ctx) => {
  try {
    normalizeContactJid(value);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message, input: value });
  }
});

const assignRule = z
  .strictObject({
    group: GroupName.describe("The group every matching contact is put in"),
    match: MatchSpec,
  })
  .describe("Every roster contact the match fits is in `group` (the same match language as subscription rules)");

const declaredContact = z
  .strictObject({
    jid: ContactJid.describe("The contact's bare JID"),
    name: z
      .string()
      .refine((s) => s.trim() !== "", { message: "a name cannot be blank; leave it out to keep the contact's own" })
      .optional()
      .describe("The name shown for the contact; without it the name in the roster is kept"),
    groups: z.array(GroupName).default([]).describe("Groups the contact is always in"),
    subscribe: z
      .boolean()
      .default(false)
      .describe("Ask for the contact's presence (once) and pre-approve their request for ours"),
  })
  .describe("A contact that must be in the roster");

export const PRUNE_DEFAULT = { enabled: false, maxPerRun: 10 };

export const groupsSchema = z
  .strictObject({
    managed: z
      .array(GroupName)
      .default([])
      .describe(
        "The groups the bot owns: it adds and removes only these and the groups named under assign and contacts. " +
          "Any other group (set by a person) is left as it is",
      ),
    assign: z.array(assignRule).default([]).describe("Group assignments by rule; a contact may be in several groups"),
    contacts: z
      .array(declaredContact)
      .default([])
      .superRefine((contacts, ctx) => {
        const seen = new Set<string>();
        contacts.forEach((c, i) => {
          let jid: string;
          try {
            jid = normalizeContactJid(c.jid);
          } catch {
            return; // reported by the jid's own schema
          }
          if (seen.has(jid)) ctx.addIssue({ code: "custom", path: [i, "jid"], input: c.jid, message: `${jid} is declared twice` });
          seen.add(jid);
        });
      })
      .describe("Contacts that must exist, with their name and groups"),
    prune: z
      .strictObject({
        enabled: z.boolean().default(false).describe("Remove contacts that no assign rule and no declaration wants"),
        maxPerRun: z
          .number()
          .int()
          .min(0)
          .default(10)
          .describe("Most removals in one sync; the rest are held back (and reported) until the next one"),
      })
      .default(PRUNE_DEFAULT)
      .describe("Removing unwanted contacts (off by default). Contacts with a held subscription request are never removed"),
    interval: duration()
      .refine((ms) => ms >= 1_000, { message: "interval must be at least 1s" })
      .optional()
      .describe('Also re-check every so often, e.g. "10m" (besides roster load, pushes and reloads)'),
    auto: z
      .boolean()
      .default(true)
      .describe(
        "Sync by itself (when the roster loads, on every roster push, on reload and every interval). " +
          "false: only when asked (`roster-bot sync`, the groups API)",
      ),
  })
  .default({ managed: [], assign: [], contacts: [], prune: PRUNE_DEFAULT, auto: true })
  .describe("Group sync: declared group assignments and contacts kept in sync with the roster");

export type GroupsConfig = z.output<typeof groupsSchema>;

/**
 * The same config with automatic syncing switched off (the CLI's `plan` and `sync` run it by hand),
 * and the blocklist's too: no expired block is lifted, no removed one forgotten (`plan` tells).
 */
export function withoutAutoSync<C extends { groups: GroupsConfig; blocking: BlockingConfig }>(config: C): C {
  return { ...config, groups: { ...config.groups, auto: false }, blocking: { ...config.blocking, auto: false } };
}

// ---------------------------------------------------------------------------------------------
// Compiled form

export interface DeclaredContact {
  /** Normalized bare JID. */
  readonly jid: string;
  /** Where roster sets and presence go: `jid` with the domain in the config's spelling (addressOf). */
  readonly address: string;
  /** Cleaned (cleanName); undefined keeps the roster's name. */
  readonly name: string | undefined;
  /** Cleaned group names (cleanGroups). */
  readonly groups: readonly string[];
  readonly subscribe: boolean;
}

export interface AssignRule {
  /** Cleaned group name. */
  readonly group: string;
  readonly match: CompiledMatch;
}

export interface GroupRules {
  /**
   * Every group the bot adds or removes: managed ∪ assigned ∪ declared, in the exact form the roster
   * copy holds them (cleanGroups), so membership tests are plain string comparisons.
   */
  readonly owned: ReadonlySet<string>;
  readonly assign: readonly AssignRule[];
  /** Some assign rule looks at roster state (group, subscription, inRoster). */
  readonly needsRoster: boolean;
  /** By normalized bare JID. */
  readonly contacts: ReadonlyMap<string, DeclaredContact>;
  readonly prune: { readonly enabled: boolean; readonly maxPerRun: number };
  readonly limits: ItemLimits;
}

export class GroupRulesError extends Error {
  constructor(
    /** Paths relative to the `groups` section. */
    readonly issues: PolicyIssue[],
  ) {
    const shown = issues.slice(0, 5).map((i) => `  at groups.${i.path.join(".")}: ${i.message}`);
    if (issues.length > shown.length) shown.push(`  … and ${issues.length - shown.length} more`);
    super(`invalid group sync config:\n${shown.join("\n")}`);
    this.name = "GroupRulesError";
  }
}

export interface CompileGroupOptions {
  /** Directory `list:` paths are relative to. */
  baseDir: string;
  limits: ItemLimits;
  readFile?: (absolutePath: string) => string;
}

/** Compiles the `groups` section; throws GroupRulesError (every problem, with its path) when it cannot. */
export function compileGroupRules(config: GroupsConfig, options: CompileGroupOptions): GroupRules {
  const issues: PolicyIssue[] = [];
  const { limits } = options;
  const group = (raw: string, at: IssuePath): string | undefined => {
    const [clean] = cleanGroups([raw], limits);
    if (clean === undefined) issues.push({ path: at, message: "a group name cannot be blank" });
    else if (clean !== raw.normalize("NFC")) issues.push({ path: at, message: `group name longer than limits.maxGroupLength (${limits.maxGroupLength})` });
    return clean;
  };

  const owned = new Set<string>();
  config.managed.forEach((g, i) => {
    const clean = group(g, ["managed", i]);
    if (clean !== undefined) owned.add(clean);
  });

  const assign: AssignRule[] = [];
  config.assign.forEach((rule, i) => {
    const clean = group(rule.group, ["assign", i, "group"]);
    try {
      const match = compileMatch(rule.match, { baseDir: options.baseDir, readFile: options.readFile });
      if (clean !== undefined) {
        owned.add(clean);
        assign.push({ group: clean, match });
      }
    } catch (err) {
      if (!(err instanceof PolicyCompileError)) throw err;
      for (const issue of err.issues) issues.push({ path: ["assign", i, "match", ...issue.path], message: issue.message });
    }
  });

  const contacts = new Map<string, DeclaredContact>();
  config.contacts.forEach((c, i) => {
    let jid: string;
    try {
      jid = normalizeContactJid(c.jid);
    } catch (err) {
      issues.push({ path: ["contacts", i, "jid"], message: (err as Error).message });
      return;
    }
    if (contacts.has(jid)) {
      issues.push({ path: ["contacts", i, "jid"], message: `${jid} is declared twice` });
      return;
    }
    const groups: string[] = [];
    c.groups.forEach((g, j) => {
      const clean = group(g, ["contacts", i, "groups", j]);
      if (clean !== undefined && !groups.includes(clean)) groups.push(clean);
    });
    for (const g of groups) owned.add(g);
    const address = addressOf(c.jid.trim());
    contacts.set(jid, Object.freeze({ jid, address, name: cleanName(c.name, limits), groups: Object.freeze(groups.sort()), subscribe: c.subscribe }));
  });

  if (issues.length) throw new GroupRulesError(issues);
  return {
    owned,
    assign,
    needsRoster: assign.some((a) => a.match.needsRoster),
    contacts,
    prune: { enabled: config.prune.enabled, maxPerRun: config.prune.maxPerRun },
    limits,
  };
}
