/**
 * Which audit lines are subscription decisions, and who made each: only the YAML rules' and the
 * default's decisions can be decided again offline; a plugin's, an admin's and the rate limit's are
 * counted apart (the rules alone cannot say what those would do).
 */
import { SUBSCRIPTIONS, type Subscription } from "../subscription.ts";
import { ALREADY_SUBSCRIBED } from "../audit.ts";
import type { AuditRecord } from "./read-audit.ts";

/** A decision line's fields that replay reads, checked (the parsed line itself: no copy per line). */
export interface RecordedDecision extends AuditRecord {
  /** ISO 8601. */
  time: string;
  from: string;
  action: string;
  decidedBy: string;
  via?: string;
  roster?: { groups: readonly string[]; subscription: Subscription };
}

/** Who made a recorded decision: "replay" for the rules and the default, which are decided again. */
export type DecisionSource = "replay" | "plugin" | "admin" | "rateLimit" | "other";

/**
 * `decidedBy` values (subscription-handler.ts) of decisions no one made afresh: a held request seen
 * again, an existing subscription, an unreadable item.
 */
const OTHER = new Set(["pending", ALREADY_SUBSCRIBED, "unreadable-item"]);

/** The shape `Date.prototype.toISOString` writes (every line the bot writes): compared as text, no parse. */
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * Whether a `kind: "decision"` line is well formed: a valid `time`, string `from` / `action` /
 * `decidedBy` (and `via`), and a `roster`, when present, of { groups, subscription }.
 */
export function isRecordedDecision(record: AuditRecord): record is RecordedDecision {
  const { time, from, action, decidedBy, via, roster } = record;
  if (typeof time !== "string" || typeof from !== "string" || typeof action !== "string" || typeof decidedBy !== "string") return false;
  if (!ISO_UTC.test(time) && Number.isNaN(Date.parse(time))) return false;
  if (via !== undefined && typeof via !== "string") return false;
  return roster === undefined || isRosterState(roster);
}

/** Whether a (checked) time is at or after `since`: the bot's own times compare as text, others are parsed. */
export function atOrAfter(since: Date): (time: string) => boolean {
  const iso = since.toISOString();
  const ms = since.getTime();
  return (time) => (ISO_UTC.test(time) && iso.length === time.length ? time >= iso : Date.parse(time) >= ms);
}

function isRosterState(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const { groups, subscription } = value as { groups?: unknown; subscription?: unknown };
  return Array.isArray(groups) && groups.every((g) => typeof g === "string") && (SUBSCRIPTIONS as readonly unknown[]).includes(subscription);
}

/**
 * Who made the decision. An API call (`via` approve/deny/grant) is an admin's when `by` names one:
 * the admin plugin passes the admin's JID, the API's default is "admin", and "admin:<jid>" is the
 * form its block commands use; any other caller is a plugin. Without `via`, any name but the
 * handler's own (rules, default, rate-limit, …) is a plugin's decision tap.
 */
export function sourceOf(decision: Pick<RecordedDecision, "decidedBy" | "via">): DecisionSource {
  const by = decision.decidedBy;
  if (by === "rules" || by === "default") return decision.via === undefined ? "replay" : "plugin";
  if (by === "rate-limit") return "rateLimit";
  if (decision.via !== undefined) return by === "admin" || by.startsWith("admin:") || by.includes("@") ? "admin" : "plugin";
  return OTHER.has(by) ? "other" : "plugin";
}
