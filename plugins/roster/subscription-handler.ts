/**
 * Answers inbound subscription requests (RFC 6121 §3.1): rate limit -> decision hook -> action ->
 * audit line -> `subscriptionDecided`; with no answer, the default (fail closed). Answers go to the
 * bare JID and never copy the request's id (§3.1.4). JIDs are compared in their normal form, but an
 * answer goes to the domain in the spelling the request came from (addressOf: A-labels stay
 * A-labels). A held (`ask`) request seen again at the next login stays held; any other is decided
 * again, so a changed rule takes effect. A request from a contact who already has a subscription is
 * answered `subscribed` again (audited as "already-subscribed"), not decided.
 */
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import type { PluginContext } from "../../bots/context.ts";
import { DecideHook, NotifyHook } from "../../bots/hooks.ts";
import { addressOf, parseJid } from "../../bots/jid.ts";
import type { BlockOutcome, BlockSpec, GrantResult, RosterAccess, SubscriptionDecision, SubscriptionExplanation, SubscriptionHooks, SubscriptionRequest, SubscriptionsApi } from "./api.ts";
import { ALREADY_SUBSCRIBED, type AuditLog, type DecisionAuditLine } from "./audit.ts";
import { RosterError } from "./errors.ts";
import { explainDecision } from "./explain.ts";
import type { DecisionMetrics } from "./metrics.ts";
import type { PendingRequests, PendingRequest } from "./pending-requests.ts";
import { factsFor, type ContactFacts } from "./policy/facts.ts";
import { compilePolicy, type CompiledPolicy } from "./policy/compile.ts";
import type { SubscriptionAction } from "./policy/match-schema.ts";
import { SubscriptionRateLimiter } from "./rate-limit.ts";
import { blockSender, type SubscriptionBlocking } from "./subscription-block.ts";
import { OverLimitLog } from "./rate-limit-log.ts";
import type { RosterItem } from "./item.ts";
import type { PushWatch } from "./roster-client.ts";
import { haveOrAskedTheirPresence, subscriptionState, theyHaveOurPresence } from "./subscription.ts";
import type { SubscriptionsConfig } from "./subscription-config.ts";

/** Order of the YAML rules' tap: plugins tap with a lower order to run before them, higher after. */
export const RULES_TAP_ORDER = 0;

export function rosterFacts(jid: string, item: RosterItem | undefined): ContactFacts {
  return factsFor(jid, item && { groups: item.groups, subscription: item.subscription });
}

/** The `roster` field of a decision audit line: the contact's state the decision saw, so replay can decide again with it. */
function auditedRoster(item: RosterItem | undefined): { roster?: DecisionAuditLine["roster"] } {
  return item ? { roster: { groups: item.groups, subscription: item.subscription } } : {};
}

interface Active {
  config: SubscriptionsConfig;
  policy: CompiledPolicy;
  limiter: SubscriptionRateLimiter | undefined;
  /** The `block` of each rule that has one, by rule name: a "rules" answer names its rule. */
  ruleBlocks: ReadonlyMap<string, BlockSpec>;
  /** What `over: block` blocks (undefined for any other `over`). */
  overLimitBlock: BlockSpec | undefined;
}

/** One answer to carry out: what `execute` sends, audits and reports. */
interface Answer {
  jid: string;
  action: SubscriptionAction;
  decidedBy: string;
  rule?: string | undefined;
  reason: string;
  /** The roster item, when the caller has it (default: looked up). */
  item?: RosterItem | undefined;
  via?: "approve" | "deny" | "grant";
  /** Where the answer goes: the request's own spelling of the JID (default: the normal form). */
  address?: string;
  /** Block the sender at the server after the `unsubscribed` (action reject only). */
  block?: BlockSpec | undefined;
}

export interface SubscriptionHandlerParts {
  roster: Pick<RosterAccess, "account" | "get" | "remove" | "features" | "isUnreadable"> & { watchPush(jid: string): PushWatch };
  pending: PendingRequests;
  audit: Pick<AuditLog, "write">;
  metrics?: DecisionMetrics;
  /** The account's blocklist at its server (`roster.blocking`); without it a `block` only rejects. */
  blocking?: SubscriptionBlocking;
}

export class SubscriptionHandler implements SubscriptionsApi {
  readonly hooks: SubscriptionHooks;
  private readonly roster: SubscriptionHandlerParts["roster"];
  private readonly pendingRequests: PendingRequests;
  private readonly audit: SubscriptionHandlerParts["audit"];
  private readonly overLimitLog: OverLimitLog;
  private readonly metrics: DecisionMetrics | undefined;
  private readonly blocking: SubscriptionBlocking | undefined;
  private active: Active;

  constructor(
    private readonly ctx: PluginContext,
    parts: SubscriptionHandlerParts,
    config: SubscriptionsConfig,
  ) {
    ({ roster: this.roster, pending: this.pendingRequests, audit: this.audit, metrics: this.metrics, blocking: this.blocking } = parts);
    this.active = this.compile(config);
    this.hooks = {
      subscriptionRequest: new DecideHook("roster.subscriptionRequest", ctx.logger, config.hookTimeout),
      subscriptionDecided: new NotifyHook("roster.subscriptionDecided", ctx.logger),
    };
    this.overLimitLog = new OverLimitLog(ctx.logger, (fn, ms) => ctx.setInterval(fn, ms));
    this.hooks.subscriptionRequest.tap({ name: "rules", order: RULES_TAP_ORDER }, (req) => {
      const decision = this.active.policy.decide(req.facts);
      return decision && { action: decision.action, rule: decision.rule, reason: decision.reason };
    });
    ctx.on("presence", (stanza) => this.onPresence(stanza));
  }

  /** Builds everything a config needs before any of it is used, so a swap is all or nothing. */
  private compile(config: SubscriptionsConfig): Active {
    const policy = compilePolicy(config.rules, { baseDir: this.ctx.bot.configDir });
    const limits = config.rateLimit;
    const limiter = limits && (limits.perDomain || limits.total) ? new SubscriptionRateLimiter(limits) : undefined;
    const ruleBlocks = new Map(policy.rules.flatMap((r) => (r.block ? [[r.name, r.block] as const] : [])));
    const overLimitBlock = limits?.over === "block" ? { scope: limits.block?.scope ?? "bare", ...(limits.block?.for !== undefined ? { forMs: limits.block.for } : {}) } : undefined;
    return { config, policy, limiter, ruleBlocks, overLimitBlock };
  }

  /** Swaps in a new config atomically; throws (keeping the old one) when it does not compile. */
  reload(config: SubscriptionsConfig): void {
    this.active = this.compile(config);
  }

  // ---- the API for plugins and admins --------------------------------------------------------

  pending(): PendingRequest[] {
    return this.pendingRequests.list();
  }

  async approve(jid: string, options: { by?: string; mutual?: boolean } = {}): Promise<SubscriptionDecision> {
    const bare = parseJid(jid).bare;
    const by = options.by ?? "admin";
    const held = this.pendingRequests.get(bare);
    // Taken off the list before anything is sent, so two approvals of one request send it once.
    if (!held || !this.pendingRequests.delete(bare)) {
      throw new RosterError("not-pending", bare, "approve", `no request from ${bare} is held; nothing sent`);
    }
    return this.execute({ jid: bare, action: options.mutual ? "mutual" : "accept", decidedBy: by, reason: `approved by ${by}`, via: "approve", address: held.address });
  }

  async deny(jid: string, options: { by?: string } = {}): Promise<SubscriptionDecision> {
    const bare = parseJid(jid).bare;
    const by = options.by ?? "admin";
    const address = this.pendingRequests.get(bare)?.address;
    const decision = await this.execute({ jid: bare, action: "reject", decidedBy: by, reason: `denied by ${by}`, via: "deny", address });
    this.pendingRequests.delete(bare);
    return decision;
  }

  async grant(jid: string, options: { by?: string } = {}): Promise<GrantResult> {
    const bare = parseJid(jid).bare;
    const by = options.by ?? "admin";
    const preApproval = this.roster.features.preApproval;
    const before = subscriptionState(this.roster.get(bare));
    const held = this.pendingRequests.get(bare);
    if (held && this.pendingRequests.delete(bare)) {
      const decision = await this.execute({ jid: bare, action: "accept", decidedBy: by, reason: `granted by ${by} (the request was held)`, via: "grant", address: held.address });
      return { jid: bare, outcome: "approved", sent: decision.sent, before, after: subscriptionState(this.roster.get(bare)), pushed: false, preApproval };
    }
    if (theyHaveOurPresence(before)) return { jid: bare, outcome: "already", sent: [], before, after: before, pushed: false, preApproval };
    if (!this.ctx.isOnline) throw new RosterError("offline", bare, "grant", `grant ${bare}: not connected`);
    // No request to answer: the server keeps a pre-approval (or answers a request it holds that the
    // bot left unanswered) and pushes the roster item; its push tells what it made of it.
    const push = this.roster.watchPush(bare);
    const sent: string[] = [];
    let pushed = false;
    try {
      await this.ctx.send(xml("presence", { to: bare, type: "subscribed" }));
      sent.push("subscribed");
      pushed = await push.wait();
    } catch (err) {
      this.ctx.logger.error({ jid: bare, err: (err as Error).message }, "grant not sent");
    } finally {
      push.stop();
    }
    const after = subscriptionState(this.roster.get(bare));
    // No subscriptionDecided: there was no request. The audit line records the grant.
    this.audit.write({ kind: "decision", from: bare, action: "accept", decidedBy: by, reason: `granted by ${by} without a request`, sent, via: "grant" });
    this.ctx.logger.info({ jid: bare, by, sent, pushed, after: after?.subscription }, "presence granted without a request");
    return { jid: bare, outcome: "sent", sent, before, after, pushed, preApproval };
  }

  explain(jid: string): SubscriptionExplanation {
    const bare = parseJid(jid).bare;
    return explainDecision(this.active.policy, this.active.config.default, rosterFacts(bare, this.roster.get(bare)), true, jid, this.blocking?.supported ?? false);
  }

  // ---- inbound presence ----------------------------------------------------------------------

  private async onPresence(stanza: XmlElement): Promise<void> {
    const type = stanza.attrs.type;
    if (type !== "subscribe" && type !== "unsubscribe") return;
    let jid: string;
    let address: string;
    try {
      if (stanza.attrs.from === undefined) throw new Error("no from attribute");
      jid = parseJid(stanza.attrs.from).bare;
      address = addressOf(stanza.attrs.from);
    } catch (err) {
      this.ctx.logger.warn({ from: String(stanza.attrs.from).slice(0, 200), err: (err as Error).message }, `malformed ${type} ignored`);
      return;
    }
    if (jid === this.roster.account) return;
    if (type === "subscribe") await this.onRequest(jid, address, stanza);
    else await this.onUnsubscribe(jid, address);
  }

  private async onRequest(jid: string, address: string, stanza: XmlElement): Promise<void> {
    const received = performance.now();
    if (await this.decideRequest(jid, address, stanza)) this.metrics?.answered((performance.now() - received) / 1000);
  }

  /**
   * Decides and answers a request; false when it was not decided again (nothing answered).
   * `address`: the requester's bare JID as the server sent it, which the answer goes to.
   */
  private async decideRequest(jid: string, address: string, stanza: XmlElement): Promise<boolean> {
    const item = this.roster.get(jid);
    if (theyHaveOurPresence(item)) {
      await this.confirmSubscribed(jid, address, item!);
      return false;
    }
    const held = this.pendingRequests.get(jid);
    if (held) {
      this.audit.write({ kind: "decision", from: jid, action: "ask", decidedBy: "pending", rule: held.rule, reason: "still waiting for an answer", sent: [] });
      this.metrics?.decided({ action: "ask", decidedBy: "pending", rule: held.rule });
      return false;
    }
    // Any answer could make the server create a twin of an item the bot cannot read exactly (e.g.
    // `Mixed@Example.ORG` held, `mixed@example.org` asking): a person answers.
    if (this.roster.isUnreadable(jid)) {
      await this.execute({ jid, action: "ask", decidedBy: "unreadable-item", reason: "the roster holds an item for this JID that the bot cannot read exactly", item });
      return true;
    }
    const { config, limiter, ruleBlocks, overLimitBlock } = this.active;
    const domain = parseJid(jid).domain;
    const limit = limiter?.check(domain);
    if (limit && !limit.allowed) {
      this.overLimitLog.record(domain, limit.limit!);
      this.metrics?.rateLimited();
      const reason = `over the ${limit.limit === "perDomain" ? "per-domain" : "total"} rate limit`;
      const over = config.rateLimit!.over;
      // over: block blocks a sender whose own domain floods; over the total alone it only rejects.
      const block = limit.limit === "perDomain" ? overLimitBlock : undefined;
      await this.execute({ jid, action: over === "block" ? "reject" : over, decidedBy: "rate-limit", reason, item, address, block });
      return true;
    }
    const request: SubscriptionRequest = { jid, facts: rosterFacts(jid, item), item, stanza };
    const answer = await this.hooks.subscriptionRequest.decide(request);
    if (answer) {
      const { action, rule, reason } = answer.value;
      // Only the YAML rules carry a block: a plugin's answer has no such option.
      const block = answer.by === "rules" && rule !== undefined ? ruleBlocks.get(rule) : undefined;
      await this.execute({ jid, action, decidedBy: answer.by, rule, reason: reason ?? `decided by ${answer.by}`, item, address, block });
    } else {
      await this.execute({ jid, action: config.default, decidedBy: "default", reason: "no rule or plugin decided", item, address });
    }
    return true;
  }

  /**
   * A request from a contact our copy shows as subscribed (`from`/`both`): the server answers such a
   * request itself (RFC 6121 §3.1.3), so one that reaches us means its state and ours disagree. Left
   * unanswered, the contact waits forever and the server redelivers it at every login; `subscribed`
   * again is harmless (idempotent) and settles it. Not re-decided by the rules: the subscription
   * exists already.
   */
  private async confirmSubscribed(jid: string, address: string, item: RosterItem): Promise<void> {
    const sent: string[] = [];
    try {
      await this.ctx.send(xml("presence", { to: address, type: "subscribed" }));
      sent.push("subscribed");
    } catch (err) {
      this.ctx.logger.error({ jid, err: (err as Error).message }, "subscribed not sent to an already subscribed contact (the server will redeliver the request)");
    }
    const reason = `already subscribed (our copy shows subscription ${item.subscription}); subscribed sent again`;
    this.audit.write({ kind: "decision", from: jid, ...(address !== jid ? { address } : {}), action: "accept", decidedBy: ALREADY_SUBSCRIBED, reason, sent, ...auditedRoster(item) });
    this.ctx.logger.info({ jid, subscription: item.subscription, sent }, "subscription request from a contact already subscribed; subscribed sent again");
  }

  private async onUnsubscribe(jid: string, address: string): Promise<void> {
    this.pendingRequests.delete(jid);
    if (this.active.config.onUnsubscribe !== "remove" || !this.roster.get(jid)) return;
    try {
      await this.roster.remove(address, { by: "onUnsubscribe" }); // in the contact's spelling
    } catch (err) {
      this.ctx.logger.warn({ jid, err: (err as Error).message }, "could not remove a contact that unsubscribed");
    }
  }

  /**
   * Sends what an action means (and blocks after a reject that asks for it), writes the audit line
   * and fires `subscriptionDecided`.
   */
  private async execute(answer: Answer): Promise<SubscriptionDecision> {
    const { jid, action, decidedBy, rule, reason, via, address = jid } = answer;
    const item = answer.item ?? this.roster.get(jid);
    const sent: string[] = [];
    const send = async (type: string) => {
      await this.ctx.send(xml("presence", { to: address, type }));
      sent.push(type);
    };
    try {
      switch (action) {
        case "accept":
          await send("subscribed");
          break;
        case "mutual":
          // Subscribe back (unless we already have, or have asked for, their presence) before
          // approving: if the connection drops between the two, the request is still pending at
          // the server, so it is redelivered and this runs again, now sending only `subscribed`.
          if (!haveOrAskedTheirPresence(item)) await send("subscribe");
          await send("subscribed");
          break;
        case "reject":
          await send("unsubscribed");
          break;
        case "ask":
          this.pendingRequests.add({ jid, since: new Date().toISOString(), decidedBy, ...(rule ? { rule } : {}), reason, ...(address !== jid ? { address } : {}) });
          break;
        case "ignore":
          break;
      }
    } catch (err) {
      this.ctx.logger.error({ jid, action, err: (err as Error).message }, "subscription answer not sent (the server will redeliver the request)");
    }
    // After the answer: once the block holds, the server may no longer pass it on. A flood's
    // requests queued before the block still get their `unsubscribed`: it is what clears the request
    // the server keeps pending (ejabberd keeps it until then, bouncing the answer as not-acceptable;
    // Prosody drops it with a bare-JID block, but keeps it under a domain block and delivers the
    // answer). The block itself goes out once: the blocking part dedupes.
    let block: BlockOutcome | undefined;
    if (answer.block && action === "reject") {
      block = await blockSender(this.blocking, { jid, address, spec: answer.block, by: decidedBy, rule, reason });
      if (block.outcome === "failed") this.ctx.logger.warn({ jid, entry: block.jid, err: block.error }, "sender rejected but not blocked: the server refused the block");
    }
    const decision: SubscriptionDecision = { jid, action, decidedBy, rule, reason, sent, ...(block ? { block } : {}) };
    this.audit.write({ kind: "decision", from: jid, ...(address !== jid ? { address } : {}), action, decidedBy, ...(rule ? { rule } : {}), reason, sent, ...(via ? { via } : {}), ...(block ? { block } : {}), ...auditedRoster(item) });
    this.metrics?.decided(decision);
    // Requests over a rate limit are summed up by OverLimitLog rather than logged one by one.
    this.ctx.logger[decidedBy === "rate-limit" ? "debug" : "info"]({ jid, action, decidedBy, rule, ...(block ? { block: block.outcome } : {}) }, "subscription request decided");
    void this.hooks.subscriptionDecided.emit(decision);
    return decision;
  }
}
