/**
 * The roster plugin's public contract, exported from the package root: `ctx.use("roster")` with
 * `dependencies: ["roster"]`. Notify hooks run every tap in parallel; a tap that throws or passes
 * its timeout (5 s by default) is logged and never affects the roster or other taps. No hook fires
 * before the stanza behind it was validated (a spoofed push fires nothing).
 */
import type { XmlElement } from "../../bots/xmpp.ts";
import type { DecideHook, NotifyHook, TransformHook } from "../../bots/hooks.ts";
import type { PendingRequest } from "./pending-requests.ts";
import type { ContactFacts } from "./policy/facts.ts";
import type { SubscriptionAction } from "./policy/match-schema.ts";
import type { RosterItem } from "./item.ts";
import type { SubscriptionState } from "./subscription.ts";
import type { RosterChange } from "./copy.ts";

export type { RosterItem } from "./item.ts";
export type { Subscription, SubscriptionState } from "./subscription.ts";
/** The two questions asked of a contact's subscription state: does it receive ours, do we have (or ask for) theirs. */
export { haveOrAskedTheirPresence, theyHaveOurPresence } from "./subscription.ts";
export type { RosterChange } from "./copy.ts";
export type { UnreadableItem } from "./unreadable.ts";
import type { UnreadableItem } from "./unreadable.ts";
export type { PendingRequest } from "./pending-requests.ts";
export type { ContactFacts } from "./policy/facts.ts";
export type { SubscriptionAction } from "./policy/match-schema.ts";
export { RosterError, type RosterOperation } from "./errors.ts";

/** Fired once per session when the roster copy is current (after the roster get and any pushes it implies). */
export interface RosterLoadedEvent {
  items: readonly RosterItem[];
  version: string | undefined;
  /** "full": the server sent the whole roster; "unchanged": the cached copy was current. */
  kind: "full" | "unchanged";
  /** The copy came from the on-disk cache at startup. */
  fromCache: boolean;
  /** What differs from the copy held before this load (empty on a cold start). */
  changes: readonly RosterChange[];
}

/** Why an item changed: a roster push, or a reload that found changes made while offline. */
export type ChangeOrigin = "push" | "reload";

export interface ItemAddedEvent {
  item: RosterItem;
  origin: ChangeOrigin;
}
export interface ItemUpdatedEvent {
  before: RosterItem;
  after: RosterItem;
  origin: ChangeOrigin;
}
export interface ItemRemovedEvent {
  before: RosterItem;
  origin: ChangeOrigin;
}

/** The subscription, pending ask or pre-approval of a contact changed (undefined = not in the roster). */
export interface SubscriptionChangedEvent {
  jid: string;
  before: SubscriptionState | undefined;
  after: SubscriptionState | undefined;
  origin: ChangeOrigin;
}

/** An inbound subscription request, validated (its sender is a well-formed JID). */
export interface SubscriptionRequest {
  /** Normalized bare JID of the requester. */
  jid: string;
  /** What rules match on: jid, local part, domain, roster state. */
  facts: ContactFacts;
  item: RosterItem | undefined;
  /** The presence stanza as received (read only). */
  stanza: XmlElement;
}

/** A tap's answer to a subscription request; return undefined to pass to the next tap. */
export interface SubscriptionAnswer {
  action: SubscriptionAction;
  /** Shown in logs, the audit line and `explain`. */
  reason?: string;
  /** A rule name, when the answer came from a rule. */
  rule?: string;
}

/** What was decided and done about a request. */
export interface SubscriptionDecision {
  jid: string;
  action: SubscriptionAction;
  /** "rules", the name of the tap (plugin) that answered, "rate-limit", "default", "unreadable-item" (held: the roster item for this JID is not readable exactly), or who approved/denied a held request. */
  decidedBy: string;
  rule: string | undefined;
  reason: string;
  /** Presence types sent in answer, e.g. ["subscribe", "subscribed"] for mutual; [] for ignore and ask. */
  sent: string[];
  /** What became of the rule's (or rate limit's) `block` option, when it had one. */
  block?: BlockOutcome;
}

export interface SubscriptionExplanation {
  /** The normal form the rules were applied to (lower-case, NFC, domain in U-labels). */
  jid: string;
  /** The bare JID as given, when it differs from `jid` by more than case (e.g. written with A-labels). */
  input?: string;
  action: SubscriptionAction;
  decidedBy: "rules" | "default";
  rule: string | undefined;
  reason: string;
  /** Rules that depend on live roster state and were evaluated as "not in the roster" (offline explain). */
  needsRoster: string[];
  /** The deciding rule also blocks the sender at the server (XEP-0191). */
  block?: BlockSpec;
  /**
   * Whether the server advertised XEP-0191 blocking for this session (live explain only; offline it
   * is not known). False: a `block` falls back to reject alone.
   */
  blockingSupported?: boolean;
}

/** What `subscriptions.grant` did. */
export interface GrantResult {
  jid: string;
  /**
   * "approved": a request from the contact was held, so it was approved as `approve` does;
   * "sent": no request was held and `subscribed` was sent unasked;
   * "already": the contact already receives our presence, so nothing was sent.
   */
  outcome: "approved" | "sent" | "already";
  /** Presence types sent: ["subscribed"], or [] when nothing was sent (or the send failed). */
  sent: string[];
  /** The contact's subscription state in the roster before the grant (undefined: not in the roster). */
  before: SubscriptionState | undefined;
  /** The same afterwards: after the server's roster push, or as it stood when none came in time. */
  after: SubscriptionState | undefined;
  /** The server pushed a roster item for the contact in answer (outcome "sent" only). */
  pushed: boolean;
  /** The server advertised subscription pre-approval (RFC 6121 §3.4) for this session. */
  preApproval: boolean;
}

export interface SubscriptionsApi {
  /** Requests held by the `ask` action, oldest first. */
  pending(): PendingRequest[];
  /**
   * Approves a held request: sends `subscribed` (and `subscribe` first with mutual). A JID with no
   * held request is refused (RosterError "not-pending") and nothing is sent: use `grant`.
   */
  approve(jid: string, options?: { by?: string; mutual?: boolean }): Promise<SubscriptionDecision>;
  /**
   * Gives the contact our presence whether or not they asked: approves a held request, otherwise
   * sends `subscribed` unasked (the server then keeps a pre-approval, RFC 6121 §3.4, or answers a
   * request it holds) and waits briefly for the server's roster push. Nothing is sent to a contact
   * that already has our presence. RosterError "offline" when not connected.
   */
  grant(jid: string, options?: { by?: string }): Promise<GrantResult>;
  /** Denies a request (held or not): sends `unsubscribed`. */
  deny(jid: string, options?: { by?: string }): Promise<SubscriptionDecision>;
  /** What the YAML rules and default would answer now (plugin taps are not asked). */
  explain(jid: string): SubscriptionExplanation;
}

/** One failing policy test case (`roster-bot test`): what was expected, what the rules gave, and why. */
export interface PolicyCaseFailure {
  /** Where the case is: "policy.test.yaml:12:3" (the path as the user wrote or named it). */
  at: string;
  /** The case's `name`, else its JID. */
  name: string;
  jid: string;
  /** Each mismatch in words, e.g. 'expected accept, the rules gave reject'. */
  mismatches: string[];
  /** What the rules (or the default) gave for the case's facts: the words of `explain`. */
  explanation: SubscriptionExplanation;
  /** With a `groups` expectation: the groups expected and those group sync would leave. */
  groups?: { expected: string[]; actual: string[] };
}

/** The outcome of the policy test cases (`roster-bot test`, `RosterService.policy.test`). */
export interface PolicyTestReport {
  /** The case files read, in order. */
  files: string[];
  /** Cases run and passed. */
  total: number;
  passed: number;
  failed: PolicyCaseFailure[];
}

/** Requests whose decision changes under the new rules, grouped by what now decides them. */
export interface ReplayFlipGroup {
  /** The rule that now decides, or undefined for the default. */
  rule: string | undefined;
  /** The action the new rules give. */
  action: SubscriptionAction;
  /** Recorded decisions that flip this way, and by their old action. */
  count: number;
  from: Partial<Record<string, number>>;
  /** Distinct JIDs that flip this way (bounded: the first ones met). */
  jids: string[];
  /** Distinct JIDs beyond those listed are not counted exactly: true when the list was cut. */
  more: boolean;
}

/** What `roster-bot replay` found (also `RosterService.policy.replay`). */
export interface ReplayReport {
  /** The audit files read, oldest first. */
  files: string[];
  /** Only decisions at or after this time were replayed (ISO 8601), when asked. */
  since?: string;
  /** Lines read, and those that were not JSON audit lines (skipped, never fatal). */
  lines: number;
  malformed: number;
  /** Subscription decisions in range. */
  decisions: number;
  /** Decisions the rules or the default made, decided again; and how many of them change. */
  replayed: number;
  changed: number;
  /** Replayed decisions, old action -> new action -> count. */
  matrix: Partial<Record<string, Partial<Record<string, number>>>>;
  /** The changed decisions, grouped by the rule (or the default) that now decides them, largest first. */
  flips: ReplayFlipGroup[];
  /**
   * Decisions the rules alone cannot redo, counted by who made them: "plugin" (a plugin's tap or
   * API call), "admin", "rate-limit", and "other" (repeats of held requests, already-subscribed
   * contacts, unreadable roster items).
   */
  apart: { plugin: number; admin: number; rateLimit: number; other: number };
  /**
   * Replayed decisions whose new answer depends on roster state the audit line did not record
   * (lines written before decision lines carried `roster`): replayed as "not in the roster".
   */
  withoutRosterFacts: number;
}

/** Policy as code: the configured test cases, and a replay of the audit log against the running rules. */
export interface PolicyApi {
  /** Runs the cases of `subscriptions.tests` against the running rules (none configured: total 0). */
  test(): Promise<PolicyTestReport>;
  /** Decides the bot's recorded requests again with the running rules (audit.log and its rotations). */
  replay(options?: { since?: Date }): Promise<ReplayReport>;
}

/** One roster change group sync wants (the `plan --json` shape). */
export interface GroupChange {
  jid: string;
  /** add: a declared contact is missing; update: name or groups differ; remove: prune. */
  op: "add" | "update" | "remove";
  groups: { before: string[]; after: string[] };
  name: { before: string | undefined; after: string | undefined };
  /** A declared contact with `subscribe: true` that we have not asked yet. */
  subscribe?: boolean;
}

export interface SyncPlan {
  changes: GroupChange[];
  /** Removals the prune guard (`maxPerRun`) held back this run. */
  heldBack: number;
  /** Roster items group sync leaves alone because the bot cannot read them exactly (raw JID, why). */
  skipped?: { jid: string; reason: string }[];
}

export interface SyncResult {
  /** The plan as applied (after beforeGroupSync taps). */
  plan: SyncPlan;
  applied: GroupChange[];
  failed: { change: GroupChange; error: string }[];
  /** Why the sync ran: "loaded", "push", "reload", "interval", "manual". */
  trigger: string;
}

export interface GroupSyncApi {
  /** The changes a sync would make now (computed from the current copy; nothing is sent). */
  plan(): SyncPlan;
  /** Computes, transforms and applies a plan now (one sync at a time). */
  sync(trigger?: string): Promise<SyncResult>;
}

/** Hooks of the roster copy. */
export interface RosterCopyHooks {
  /** notify: the roster copy is current for this session. */
  loaded: NotifyHook<RosterLoadedEvent>;
  /** notify: a contact appeared in the roster. */
  itemAdded: NotifyHook<ItemAddedEvent>;
  /** notify: a contact's name, groups, subscription, ask or approval changed. */
  itemUpdated: NotifyHook<ItemUpdatedEvent>;
  /** notify: a contact left the roster. */
  itemRemoved: NotifyHook<ItemRemovedEvent>;
  /** notify: subscription state changed (also fires alongside itemAdded/itemUpdated/itemRemoved). */
  subscriptionChanged: NotifyHook<SubscriptionChangedEvent>;
}

/** Hooks of inbound subscription requests. */
export interface SubscriptionHooks {
  /**
   * decide (series bail): answers an inbound request. The YAML rules are the tap "rules" at order 0:
   * tap with a negative order to answer before them, a positive one after. The first defined answer
   * wins; a tap that throws or times out counts as no answer; with no answer at all,
   * `subscriptions.default` applies (fail closed).
   */
  subscriptionRequest: DecideHook<SubscriptionRequest, SubscriptionAnswer>;
  /** notify: after a request's answer was sent (or it was ignored or held). */
  subscriptionDecided: NotifyHook<SubscriptionDecision>;
}

/** Hooks of group sync. */
export interface GroupSyncHooks {
  /**
   * transform (series waterfall): may edit a plan before it is applied (return a new plan, or
   * undefined to keep it). If a tap throws or times out, nothing of the plan is applied.
   */
  beforeGroupSync: TransformHook<SyncPlan>;
  /** notify: after a group sync, with what was applied and what failed. */
  afterGroupSync: NotifyHook<SyncResult>;
}

// ---- blocking at the server (XEP-0191) ------------------------------------------------------------

/** What a blocklist entry covers: the sender's bare JID, or its whole domain. */
export type BlockScope = "bare" | "domain";

/** A rule's (or the rate limit's) `block` option, compiled. */
export interface BlockSpec {
  scope: BlockScope;
  /** How long the block lasts, in ms; undefined: until someone lifts it. */
  forMs?: number;
}

/** What a `block` option did for one request (on `SubscriptionDecision.block` and its audit line). */
export interface BlockOutcome {
  /** The blocklist entry: a bare JID, or a domain (normal form). */
  jid: string;
  scope: BlockScope;
  /**
   * "blocked": the entry was added; "already": the blocklist held it, or the JID's domain (then `jid`
   * and `scope` name that entry), or a block of it was on its way; "unsupported": the server has no XEP-0191, so the request was only rejected; "failed":
   * the server refused or did not answer (the request was still rejected).
   */
  outcome: "blocked" | "already" | "unsupported" | "failed";
  /** ISO time at which the bot lifts the block. */
  expires?: string;
  error?: string;
}

/** One entry of the account's blocklist, with what the bot knows of it. */
export interface BlockEntry {
  /** What the server's blocklist holds: a bare JID, a domain, or a full JID (normal form). */
  jid: string;
  /**
   * True when the bot added the entry: only those does it ever lift. False: a person (or another
   * client) added it, and it stays whatever the rules say.
   */
  owned: boolean;
  /** Who made the bot add it: "rules", "rate-limit", "admin:<jid>", a plugin name (owned entries only). */
  by?: string;
  /** The rule that blocked (owned entries added by a rule). */
  rule?: string;
  reason?: string;
  /** ISO time the bot added it. */
  since?: string;
  /** ISO time the bot lifts it. */
  expires?: string;
}

export interface BlockOptions {
  /** "domain": block the JID's domain instead of its bare JID. A JID given as a bare domain is always a domain entry. */
  scope?: BlockScope;
  /** Lift the block after this many ms. */
  forMs?: number;
  /** Who asks, for the entry, the audit line and the hooks (default: "api"). */
  by?: string;
  rule?: string;
  reason?: string;
}

export interface UnblockResult {
  jid: string;
  /** "unblocked": removed from the server's blocklist; "not-blocked": it held no such entry. */
  outcome: "unblocked" | "not-blocked";
}

/** What a session start would change in the blocklist (`plan` shows it; nothing is sent). */
export interface BlocklistPlan {
  /** Whether the server advertised XEP-0191 for this session. */
  supported: boolean;
  /** Owned entries whose time is up: the bot lifts them. */
  lift: BlockEntry[];
  /** Owned entries a person removed from the server's blocklist: the bot forgets them (never re-adds). */
  forget: BlockEntry[];
}

/** The account's blocklist at its server (XEP-0191), as `roster.blocking`. */
export interface BlockingApi {
  /** The server advertised `urn:xmpp:blocking` for this session (false before the session's check). */
  readonly supported: boolean;
  /** The blocklist as last fetched or pushed, with ownership; sorted by JID. */
  list(): BlockEntry[];
  /** The entry that blocks this JID (its bare JID, or its domain), if any. */
  blockedBy(jid: string): BlockEntry | undefined;
  /**
   * Adds an entry the bot owns (it may lift it later). An entry the list already holds, or one the
   * JID's domain entry covers, is left as it is ("already"; a person's entry stays theirs). Outcome
   * "unsupported" without XEP-0191 on the server. RosterError "not-allowed" for an entry covering the
   * bot's own account or domain (nothing sent), "offline" when not connected, and the server's
   * error when it refuses.
   */
  block(jid: string, options?: BlockOptions): Promise<BlockOutcome>;
  /** Removes an entry, whoever added it. RosterError "offline" / "not-supported" / the server's error. */
  unblock(jid: string, options?: { by?: string; reason?: string }): Promise<UnblockResult>;
  /** What a session start would change now (nothing is sent). */
  plan(): BlocklistPlan;
}

/**
 * Where a blocklist change came from: "bot", this bot made it; "push", another client of the account
 * made it while the bot was online; "reload", the session start found it (made while the bot was
 * offline: entries added or removed since the last session of this process, and the bot's own
 * entries a person removed).
 */
export type BlocklistChangeOrigin = "bot" | "push" | "reload";

/** An entry was added to the blocklist (by the bot, or by another client of the account). */
export interface BlockedEvent {
  entry: BlockEntry;
  origin: BlocklistChangeOrigin;
}

/** An entry left the blocklist. */
export interface UnblockedEvent {
  /** The entry as it was. */
  entry: BlockEntry;
  /** Who removed it: "expired", "admin:<jid>", a plugin name, or "account" when another client of the account did. */
  by: string;
  origin: BlocklistChangeOrigin;
}

/** Hooks of the blocklist. */
export interface BlockingHooks {
  /** notify: an entry was added to the blocklist. */
  blocked: NotifyHook<BlockedEvent>;
  /**
   * notify: an entry was removed from the blocklist. A bot entry a person removed while the bot was
   * offline is found missing at session start and forgotten without this hook (audited, logged).
   */
  unblocked: NotifyHook<UnblockedEvent>;
}

export interface RosterHooks extends RosterCopyHooks, SubscriptionHooks, GroupSyncHooks, BlockingHooks {}

/** What to store for a contact: the server replaces the whole item, so give the name and every group. */
export interface RosterItemInput {
  jid: string;
  name?: string;
  groups?: Iterable<string>;
}

export interface ChangeOptions {
  /** Who makes the change, for the audit line (default: "api"). */
  by?: string;
}

/** The roster copy and the changes a plugin can make. */
export interface RosterAccess {
  /** The account's bare JID. */
  readonly account: string;
  /** True once the copy is current for the present session. */
  readonly loaded: boolean;
  /** The roster version the copy corresponds to (when the server does versioning). */
  readonly version: string | undefined;
  /** What the server advertised for this session. */
  readonly features: { readonly versioning: boolean; readonly preApproval: boolean };

  /** A contact by JID (normalized for you). */
  get(jid: string): RosterItem | undefined;
  list(): RosterItem[];
  /**
   * Items of the server's roster the bot cannot read exactly (invalid or non-canonical JID, or two
   * items with one canonical JID): never in the copy, and never changed by the bot.
   */
  unreadable(): UnreadableItem[];
  /** True when such an item has this canonical JID: `set` and `remove` refuse it (RosterError "conflict"). */
  isUnreadable(jid: string): boolean;
  /** Contacts in a group (exact, case-sensitive name). */
  inGroup(group: string): RosterItem[];
  /** Resolves when the copy is current (immediately if it already is). */
  whenLoaded(): Promise<void>;
  /**
   * The current items and a listener for every later change, in one synchronous step, so no change
   * is missed between the two. Call `stop()` (e.g. in ctx.onDispose) to stop listening.
   */
  snapshotAndListen(listener: (change: RosterChange) => void): { items: RosterItem[]; stop: () => void };

  /** Adds or replaces a contact. Groups are de-duplicated, empty ones dropped, lengths capped. Resolves once the copy shows it. */
  set(item: RosterItemInput, options?: ChangeOptions): Promise<RosterItem | undefined>;
  /** Removes a contact (the server cancels subscriptions both ways). Unknown JID: RosterError item-not-found. */
  remove(jid: string, options?: ChangeOptions): Promise<void>;
  /** Asks for the contact's presence. */
  subscribe(jid: string): Promise<void>;
  /** Stops receiving the contact's presence. */
  unsubscribe(jid: string): Promise<void>;
  /**
   * Cancels the contact's subscription to our presence (sends `unsubscribed`, RFC 6121 §3.2). To
   * answer a request, use `subscriptions.approve` / `subscriptions.deny`: they are audited.
   */
  cancelSubscription(jid: string): Promise<void>;
  /** Approves before they ask (RFC 6121 §3.4); RosterError "not-supported" unless the server advertises it. */
  preApprove(jid: string): Promise<void>;
  /** Adds a line to the bot's one audit trail (`audit.log`) with `time` and `bot`; use your own `kind`. */
  audit(line: { kind: string; [field: string]: unknown }): void;
}

/** The `roster` service: the copy, its hooks, subscription requests, group sync, the blocklist and policy checks. */
export interface RosterService extends RosterAccess {
  readonly hooks: RosterHooks;
  /** Subscription requests: pending ones, approve / deny, explain. */
  readonly subscriptions: SubscriptionsApi;
  /** Group sync: plan and apply the declared group assignments. */
  readonly groups: GroupSyncApi;
  /** The account's blocklist at its server (XEP-0191): list, block, unblock, plan. */
  readonly blocking: BlockingApi;  /** Policy as code: the configured test cases, and a replay of the audit log, against the running rules. */
  readonly policy: PolicyApi;
}

declare module "../../bots/plugin.ts" {
  interface Services {
    roster: RosterService;
  }
}
