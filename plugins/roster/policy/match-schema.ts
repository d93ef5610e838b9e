/**
 * Config schemas for subscription rules. The pattern helpers are the one definition of a valid
 * jid / domain / regex pattern and its normal form, shared with the compiler so they never disagree.
 */
import { z } from "zod";
import { longDuration } from "../../../bots/config/units.ts";
import { parseJid } from "../../../bots/jid.ts";
import { SUBSCRIPTIONS, type Subscription } from "../subscription.ts";

export const ACTIONS = ["accept", "mutual", "reject", "ignore", "ask"] as const;
export type SubscriptionAction = (typeof ACTIONS)[number];

/** Exactly one key; arrays mean "any of these". */
export type MatchSpec =
  | { jid: string | string[] }
  | { domain: string | string[] }
  | { regex: string | string[] }
  | { list: string }
  | { inRoster: boolean }
  | { group: string | string[] }
  | { subscription: Subscription | Subscription[] }
  | { all: MatchSpec[] }
  | { any: MatchSpec[] }
  | { not: MatchSpec };

export type MatchKey = keyof UnionKeys<MatchSpec>;
type UnionKeys<T> = { [K in T extends unknown ? keyof T : never]: true };

export const MATCH_KEYS = [
  "jid",
  "domain",
  "regex",
  "list",
  "inRoster",
  "group",
  "subscription",
  "all",
  "any",
  "not",
] as const satisfies readonly MatchKey[];

export const BLOCK_SCOPES = ["bare", "domain"] as const;
type BlockScope = (typeof BLOCK_SCOPES)[number];

/** A `block` option as written: `true` (the sender's bare JID, no expiry) or its settings. */
export type BlockOptionInput = true | { scope?: BlockScope | undefined; for?: number | undefined };

export interface SubscriptionRule {
  name: string;
  match: MatchSpec;
  action: SubscriptionAction;
  reason?: string | undefined;
  /** Only with action reject: block the sender at the server too. */
  block?: BlockOptionInput | undefined;
}

// ---------------------------------------------------------------------------------------------
// Pattern language (shared with compile.ts)

export const REGEX_FLAGS = "iu";

export function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/** Normal form of a `jid:` entry (exact bare JID or glob); throws Error with a readable message. */
export function normalizeJidPattern(pattern: string): string {
  const trimmed = pattern.trim();
  const glob = isGlob(trimmed) ? maskWildcardLabels(trimmed, pattern) : undefined;
  let jid;
  try {
    jid = parseJid(glob ? glob.masked : trimmed);
  } catch (err) {
    throw new Error(`"${pattern}" is not a JID: ${(err as Error).message}`, { cause: err });
  }
  if (jid.resource) throw new Error(`"${pattern}" has a resource; jid patterns match bare JIDs`);
  return glob ? glob.unmask(jid.bare, pattern) : jid.bare;
}

// Label separators UTS #46 maps to "." (ASCII, ideographic, fullwidth, halfwidth ideographic).
const LABEL_DOT = /[.\u3002\uff0e\uff61]/;
const MASK = "x";

/**
 * A glob's domain is converted to U-labels like a JID's (so `*@*.xn--bcher-kva.example` means
 * `*@*.bücher.example`), except labels that hold a wildcard: IDNA cannot read those, so they are
 * masked while the rest is parsed and put back as written (lower-case, NFC). A wildcard inside an
 * A-label could never match a JID (JIDs are kept in U-labels), so it is refused.
 */
function maskWildcardLabels(glob: string, pattern: string) {
  const at = glob.lastIndexOf("@");
  const local = at === -1 ? "" : glob.slice(0, at + 1);
  const labels = glob.slice(at + 1).split(LABEL_DOT);
  if (labels.length > 1 && labels.at(-1) === "") labels.pop(); // a trailing dot, which parseJid drops
  const wild = labels.map((label) => {
    if (!isGlob(label)) return undefined;
    if (/xn--/i.test(label)) {
      throw new Error(`"${pattern}": a wildcard cannot stand in an A-label (xn--…); write that label in Unicode`);
    }
    return label.normalize("NFC").toLowerCase();
  });
  const masked = local + labels.map((label, i) => (wild[i] === undefined ? label : MASK)).join(".");
  const unmask = (bare: string, original: string): string => {
    const cut = bare.lastIndexOf("@") + 1;
    const parsed = bare.slice(cut).split(".");
    if (parsed.length !== labels.length) throw new Error(`"${original}": cannot read the domain of this pattern`);
    return bare.slice(0, cut) + parsed.map((label, i) => wild[i] ?? label).join(".");
  };
  return { masked, unmask };
}

/**
 * Normal form of a `domain:` entry: an exact domain, or `*.example.org` for any subdomain of
 * example.org (not example.org itself). Throws Error with a readable message.
 */
export function normalizeDomainPattern(pattern: string): string {
  const trimmed = pattern.trim();
  const wildcard = trimmed.startsWith("*.");
  const rest = wildcard ? trimmed.slice(2) : trimmed;
  if (isGlob(rest)) {
    throw new Error(`"${pattern}": a domain may only start with "*."; use jid: for other globs`);
  }
  let jid;
  try {
    jid = parseJid(rest);
  } catch (err) {
    throw new Error(`"${pattern}" is not a domain: ${(err as Error).message}`, { cause: err });
  }
  if (jid.local || jid.resource) throw new Error(`"${pattern}" is not a domain`);
  return wildcard ? `*.${jid.domain}` : jid.domain;
}

/** Compiles a `regex:` source; throws Error with a readable message when it is invalid. */
export function compileRegex(source: string): RegExp {
  // JIDs are matched in U-labels, so an A-label in a regex could only ever miss.
  if (/xn--/i.test(source)) {
    throw new Error(`regex /${source}/ holds an A-label (xn--…), but JIDs are matched with their domain in Unicode (xn--bcher-kva.example is bücher.example); write the domain in Unicode`);
  }
  try {
    return new RegExp(source.normalize("NFC"), REGEX_FLAGS);
  } catch (err) {
    const why = (err as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /s, "");
    throw new Error(`invalid regex /${source}/: ${why}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// Schemas

/** Adds an issue with the helper's message when `check` throws. */
function validWith(check: (s: string) => unknown) {
  return (value: string, ctx: z.core.$RefinementCtx<string>) => {
    try {
      check(value);
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message, input: value });
    }
  };
}

/** `x` or `[x, ...]`; `what` names x in the error for a value that is neither. */
function oneOrMany<T extends z.ZodType>(item: T, what: string) {
  return z.union([item, z.array(item).min(1)], {
    error: `expected ${what} or a non-empty list of them`,
  });
}

const JidPattern = z.string().superRefine(validWith(normalizeJidPattern));
const DomainPattern = z.string().superRefine(validWith(normalizeDomainPattern));
const RegexSource = z.string().min(1).superRefine(validWith(compileRegex));
const subscriptionSchema = z.enum(SUBSCRIPTIONS);

const matchObject = z
  .strictObject({
    jid: oneOrMany(JidPattern, "a JID pattern")
      .optional()
      .describe(
        "Bare JID(s) of the contact, exact or a glob: `*` matches any run of characters " +
          "(including `@` and `.`), `?` exactly one; e.g. `*@partner.test`.",
      ),
    domain: oneOrMany(DomainPattern, "a domain")
      .optional()
      .describe(
        "Domain(s) of the contact. `*.example.org` matches any subdomain of example.org but " +
          "not example.org itself; list both to cover both.",
      ),
    regex: oneOrMany(RegexSource, "a regex")
      .optional()
      .describe(
        "JavaScript regular expression(s), case-insensitive, tested against the bare JID " +
          "(e.g. `alice@example.org`). Not anchored: use `^` and `$`.",
      ),
    list: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Path of a file (relative to the config file) with one JID, domain, `*@domain` or " +
          "`*.domain` per line; `#` starts a comment; blank lines are ignored. Read at startup.",
      ),
    inRoster: z
      .boolean()
      .optional()
      .describe("true: the contact is in the roster; false: it is not."),
    group: oneOrMany(z.string().min(1), "a group name")
      .optional()
      .describe("The contact is in the roster, in any of these roster groups (case-sensitive)."),
    subscription: oneOrMany(subscriptionSchema, `one of ${SUBSCRIPTIONS.join("|")}`)
      .optional()
      .describe(
        "The contact is in the roster with any of these subscription states. Never matches a " +
          "contact that is not in the roster.",
      ),
    get all(): z.ZodOptional<z.ZodArray<z.ZodType<MatchSpec>>> {
      return z.array(MatchSpec).min(1).optional().describe("Every one of these matches.");
    },
    get any(): z.ZodOptional<z.ZodArray<z.ZodType<MatchSpec>>> {
      return z.array(MatchSpec).min(1).optional().describe("At least one of these matches.");
    },
    get not(): z.ZodOptional<z.ZodType<MatchSpec>> {
      return MatchSpec.optional().describe("This does not match.");
    },
  })
  .superRefine((spec, ctx) => {
    const keys = Object.keys(spec).filter((k) => spec[k as MatchKey] !== undefined);
    if (keys.length === 1) return;
    ctx.addIssue({
      code: "custom",
      input: spec,
      message:
        keys.length === 0
          ? `a match needs one of: ${MATCH_KEYS.join(", ")}`
          : `a match takes exactly one key, got ${keys.join(", ")}; combine them with all: or any:`,
    });
  })
  .meta({
    id: "MatchSpec",
    description: "Which contacts a rule applies to: an object with exactly one key.",
    // JSON Schema cannot see the refinement above; say "exactly one key" its own way.
    minProperties: 1,
    maxProperties: 1,
  });

// The object schema parses to "all keys optional"; its values are exactly the MatchSpec union.
export const MatchSpec: z.ZodType<MatchSpec> = matchObject as unknown as z.ZodType<MatchSpec>;

export const SubscriptionAction = z
  .enum(ACTIONS)
  .describe(
    "accept: approve the request; mutual: approve and subscribe back; reject: deny it; " +
      "ignore: leave it pending without answering; ask: forward it to the admins to decide.",
  );

/** The messages for a bad `block` (the schema and the compiler say the same). */
export const BAD_BLOCK_SCOPE = `scope must be ${BLOCK_SCOPES.map((s) => `"${s}"`).join(" or ")}`;
export const BAD_BLOCK_OPTION = "expected true, or { scope: bare|domain, for: DURATION }";

// A refinement rather than z.enum: a bad scope then fails only its own key, so the error names
// `scope` instead of "expected true or an object" for the whole option.
const BlockScopeSchema = z
  .string()
  .refine((s) => (BLOCK_SCOPES as readonly string[]).includes(s), { message: BAD_BLOCK_SCOPE })
  .transform((s) => s as BlockScope)
  .meta({ enum: [...BLOCK_SCOPES] })
  .describe("bare: the sender's bare JID (default); domain: the sender's whole domain.");

/** The settings of a block (`rateLimit.block`, and the object form of a rule's `block`). */
export const BlockSettings = z
  .strictObject({
    scope: BlockScopeSchema.optional(),
    for: longDuration()
      .optional()
      .describe('How long the block lasts, e.g. "7d" (at most 3650d); left out: until someone lifts it. Lifted on time across restarts.'),
  })
  .describe("Block at the bot's server (XEP-0191) after rejecting: which entry, and for how long.");

export const BlockOption = z
  .union([z.literal(true), BlockSettings], { error: BAD_BLOCK_OPTION })
  .describe(
    "Only with action reject: after answering `unsubscribed`, block the sender at the bot's own server (XEP-0191), " +
      "so its messages and requests no longer reach the bot. true: its bare JID until lifted by hand. " +
      "Without XEP-0191 on the server the request is only rejected.",
  );

export const SubscriptionRule = z
  .strictObject({
    name: z.string().min(1).describe("Unique rule name, shown in logs and `explain` output."),
    match: MatchSpec,
    action: SubscriptionAction,
    reason: z
      .string()
      .optional()
      .describe("Human explanation logged with the decision instead of the generated one."),
    block: BlockOption.optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.block !== undefined && rule.action !== "reject") {
      ctx.addIssue({ code: "custom", path: ["block"], input: rule.block, message: blockNeedsReject(rule.action) });
    }
  })
  .describe("One subscription rule; rules are tried in order and the first match wins.");

/** Why a `block` is refused on a rule with another action (the schema and the compiler say the same). */
export function blockNeedsReject(action: string): string {
  return `block goes only with action: reject (this rule's action is ${action}): a blocked sender cannot be answered otherwise`;
}

export const SubscriptionRules = z
  .array(SubscriptionRule)
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, i) => {
      if (seen.has(rule.name)) {
        ctx.addIssue({
          code: "custom",
          path: [i, "name"],
          input: rule.name,
          message: `duplicate rule name "${rule.name}"`,
        });
      }
      seen.add(rule.name);
    });
  })
  .describe("Subscription rules in order; the first rule whose match fits decides.");
