/**
 * The account's blocklist at its server (XEP-0191), as `roster.blocking`. Each session asks the
 * server whether it blocks at all (disco#info), then fetches the list; pushes keep it current. The
 * bot lifts only the entries it added (OwnedBlocks): a person's stay, and a person's removal of a
 * bot entry is respected. Every block and unblock the bot makes is audited and counted.
 */
import { xml, type XmlElement } from "../../../bots/xmpp.ts";
import type { PluginContext } from "../../../bots/context.ts";
import { NotifyHook } from "../../../bots/hooks.ts";
import { domainOf, parseJid, type Jid } from "../../../bots/jid.ts";
import type { IqReply } from "../../../bots/router.ts";
import type { BlockEntry, BlockingApi, BlockingHooks, BlocklistPlan, BlockOptions, BlockOutcome, BlockScope, UnblockResult } from "../api.ts";
import type { AuditLog, BlockAuditLine } from "../audit.ts";
import { RosterError } from "../errors.ts";
import { isFromOwnAccount } from "../push.ts";
import { stanzaError } from "../roster-client.ts";
import type { BlockingConfig } from "./config.ts";
import { ExpiryTimer } from "./expiry-timer.ts";
import { blockTarget, type BlockTarget } from "./target.ts";
import type { BlockingMetrics } from "./metrics.ts";
import type { OwnedBlock, OwnedBlocks } from "./owned-blocks.ts";
import { isDue, reconcile } from "./reconcile.ts";
import { advertisesBlocking, blocklistGet, blockSet, NS_BLOCKING, NS_DISCO_INFO, readItems, unblockSet, validateBlocklistPush, type BlocklistPush } from "./wire.ts";

/** After a lift that failed (or could not be sent), the next try. */
const RETRY_MS = 60_000;

const NS_PRIVACY = "jabber:iq:privacy";

export const UNSUPPORTED_WARNING = "the server does not advertise XEP-0191 blocking: rules with block reject only (this session)";

export interface ServerBlocklistOptions {
  owned: OwnedBlocks;
  audit: Pick<AuditLog, "write">;
  metrics: BlockingMetrics;
  config: BlockingConfig;
}

type Ok<T> = T extends { ok: true } ? T : never;

export class ServerBlocklist implements BlockingApi {
  readonly hooks: BlockingHooks;
  private readonly account: string;
  private supportedFlag = false;
  /** The server's list: entry (normal form) -> the spelling the server holds it in. */
  private readonly onServer = new Map<string, string>();
  /** Pushes that came while the list was being fetched; undefined when not fetching. */
  private queued: Ok<BlocklistPush>[] | undefined;
  private warnedThisSession = false;
  private sessionStart: Promise<void> = Promise.resolve();
  private sessions = 0;
  /** A session of this process has fetched the list (so the next one can tell what changed). */
  private listedBefore = false;
  /** Blocks on their way, by entry: a second block of one entry waits for the first. */
  private readonly blocking = new Map<string, Promise<BlockOutcome>>();
  private readonly unblocking = new Map<string, Promise<void>>();
  /** Not before this time does the timer try again (a lift failed or the bot was offline). */
  private retryAfter: number | undefined;
  private readonly timer = new ExpiryTimer(() => void this.liftDue());
  private auto: boolean;

  constructor(
    private readonly ctx: PluginContext,
    private readonly options: ServerBlocklistOptions,
  ) {
    this.account = ctx.bot.jid;
    this.auto = options.config.auto;
    this.hooks = { blocked: new NotifyHook("roster.blocked", ctx.logger), unblocked: new NotifyHook("roster.unblocked", ctx.logger) };
    ctx.onIq("set", NS_BLOCKING, "block", (stanza, payload) => this.onPush(stanza, payload));
    ctx.onIq("set", NS_BLOCKING, "unblock", (stanza, payload) => this.onPush(stanza, payload));
    // ejabberd's mod_blocking keeps the list as a privacy list and pushes that too: a client must
    // acknowledge a privacy list push (XEP-0016 §2.6); its content adds nothing to the blocklist.
    ctx.onIq("set", NS_PRIVACY, "query", (stanza) => (isFromOwnAccount(stanza.attrs.from, this.account) ? true : stanzaError("cancel", "service-unavailable")));
    // Started here, awaited by sessionReady(): the roster get runs meanwhile.
    ctx.onSession(() => {
      this.sessionStart = this.startSession();
    });
    ctx.onDispose(() => this.timer.stop());
  }

  /** Resolves when this session's check, fetch and (with `auto`) reconciliation are done. */
  sessionReady(): Promise<void> {
    return this.sessionStart;
  }

  reload(config: BlockingConfig): void {
    this.auto = config.auto;
    this.armTimer();
  }

  // ---- reading -------------------------------------------------------------------------------

  get supported(): boolean {
    return this.supportedFlag;
  }

  list(): BlockEntry[] {
    return [...this.onServer.keys()].sort().map((jid) => this.entryOf(jid));
  }

  blockedBy(jid: string): BlockEntry | undefined {
    let parsed: Jid;
    try {
      parsed = parseJid(jid);
    } catch {
      return undefined;
    }
    const key = [parsed.full, parsed.bare, parsed.domain].find((k) => this.onServer.has(k));
    return key === undefined ? undefined : this.entryOf(key);
  }

  plan(): BlocklistPlan {
    if (!this.supportedFlag) return { supported: false, lift: [], forget: [] };
    const { lift, forget } = reconcile(this.options.owned.list(), (jid) => this.holds(jid), Date.now());
    return { supported: true, lift: lift.map(ownedEntry), forget: forget.map(ownedEntry) };
  }

  private entryOf(jid: string): BlockEntry {
    const owned = this.options.owned.get(jid);
    return owned ? ownedEntry(owned) : { jid, owned: false };
  }

  /** The server holds the entry, or a block of it is on its way. */
  private holds(jid: string): boolean {
    return this.onServer.has(jid) || this.blocking.has(jid);
  }

  // ---- session start -------------------------------------------------------------------------

  private async startSession(): Promise<void> {
    // A start of an earlier session that answers late must not touch this one's state.
    const session = ++this.sessions;
    const current = () => session === this.sessions;
    this.supportedFlag = false;
    this.warnedThisSession = false;
    this.retryAfter = undefined;
    // The last session's list (if this process had one), to tell what changed while offline.
    const previous = this.listedBefore ? new Map(this.onServer) : undefined;
    this.onServer.clear();
    const log = this.ctx.logger;
    const queue: Ok<BlocklistPush>[] = [];
    this.queued = queue;
    try {
      // Both servers advertise the feature on the server's own disco#info, not the account's.
      const server = domainOf(parseJid(this.ctx.jid ?? this.account).bare);
      const info = await this.ctx.iqGet(xml("query", { xmlns: NS_DISCO_INFO }), server);
      if (!current()) return;
      if (!advertisesBlocking(info)) {
        log.info("the server does not advertise XEP-0191 blocking: rules with block reject only");
        return;
      }
      const reply = await this.ctx.request(blocklistGet());
      if (!current()) return;
      if (!isFromOwnAccount(reply.attrs.from, this.account) && reply.attrs.from !== this.ctx.jid) {
        log.warn({ security: true, from: reply.attrs.from }, "blocklist result not from the account; ignored");
        return;
      }
      for (const item of readItems(reply.getChild("blocklist", NS_BLOCKING) ?? xml("blocklist"))) this.onServer.set(item.jid, item.raw);
      this.supportedFlag = true;
    } catch (err) {
      if (current()) log.warn({ err: (err as Error).message }, "blocklist not fetched: rules with block reject only this session");
      return;
    } finally {
      if (this.queued === queue) this.queued = undefined;
    }
    this.listedBefore = true;
    if (previous) this.announceOfflineChanges(previous);
    for (const push of queue) this.applyPush(push);
    this.countEntries();
    log.info({ entries: this.onServer.size, owned: this.ownedOnServer() }, "blocklist loaded");
    if (this.auto) await this.reconcileNow();
    this.armTimer();
  }

  /**
   * Entries another client added or removed while the bot was offline (a reconnect of this process).
   * The bot's own entries that were removed are told by forget(), at reconciliation.
   */
  private announceOfflineChanges(previous: Map<string, string>): void {
    for (const jid of this.onServer.keys()) {
      if (!previous.has(jid)) void this.hooks.blocked.emit({ entry: this.entryOf(jid), origin: "reload" });
    }
    for (const jid of previous.keys()) {
      if (!this.onServer.has(jid) && !this.options.owned.get(jid)) void this.hooks.unblocked.emit({ entry: { jid, owned: false }, by: "account", origin: "reload" });
    }
  }

  /** Forgets the bot's entries a person removed and lifts those whose time is up. */
  private async reconcileNow(): Promise<void> {
    const { lift, forget } = reconcile(this.options.owned.list(), (jid) => this.holds(jid), Date.now());
    for (const entry of forget) this.forget(entry, "session");
    if (lift.length > 0) await this.liftExpired(lift);
  }

  /** Lifts entries whose time is up in one unblock; when that fails, the timer tries again later. */
  private async liftExpired(entries: readonly OwnedBlock[]): Promise<void> {
    try {
      await this.unblockEntries(
        entries.map((e) => e.jid),
        { by: "expired" },
      );
    } catch (err) {
      this.ctx.logger.warn({ err: (err as Error).message, entries: entries.length }, "expired blocks not lifted; trying again later");
      this.retryAfter = Date.now() + RETRY_MS;
    }
  }

  /** A bot entry a person removed: the bot forgets it and does not add it again on its own. */
  private forget(entry: OwnedBlock, when: "session" | "push"): void {
    if (!this.options.owned.delete(entry.jid)) return;
    // A push tells its own unblocked event (applyPush); a session start tells it here.
    if (when === "session") void this.hooks.unblocked.emit({ entry: ownedEntry(entry), by: "account", origin: "reload" });
    this.audit({ kind: "unblock", jid: entry.jid, by: "account", ...(entry.rule ? { rule: entry.rule } : {}), result: "forgotten" });
    this.options.metrics.unblock("account");
    this.ctx.logger.info(
      { jid: entry.jid, by: entry.by, when },
      "a blocklist entry the bot added was removed by another client of the account: forgotten (not added again unless the sender offends again)",
    );
  }

  // ---- pushes --------------------------------------------------------------------------------

  private onPush(stanza: XmlElement, payload: XmlElement): IqReply {
    const verdict = validateBlocklistPush(stanza, payload, this.account);
    if (!verdict.ok) {
      if (verdict.security) this.ctx.logger.warn({ security: true, from: stanza.attrs.from, reason: verdict.reason }, "spoofed blocklist push rejected");
      else this.ctx.logger.info({ from: stanza.attrs.from, reason: verdict.reason }, "invalid blocklist push rejected");
      return stanzaError(verdict.condition === "bad-request" ? "modify" : "cancel", verdict.condition);
    }
    if (this.queued) this.queued.push(verdict);
    else if (this.supportedFlag) this.applyPush(verdict);
    return true;
  }

  private applyPush(push: Ok<BlocklistPush>): void {
    if (push.op === "block") {
      for (const { jid, raw } of push.items) {
        if (this.onServer.has(jid)) continue;
        this.onServer.set(jid, raw);
        // The push of the bot's own block (ejabberd sends it before the result): block() tells.
        if (this.blocking.has(jid)) continue;
        this.ctx.logger.info({ jid }, "blocklist entry added by another client of the account");
        void this.hooks.blocked.emit({ entry: this.entryOf(jid), origin: "push" });
      }
    } else {
      const removed = push.all ? [...this.onServer.keys()] : push.items.map((i) => i.jid);
      for (const jid of removed) {
        if (!this.onServer.has(jid)) continue;
        const entry = this.entryOf(jid);
        this.onServer.delete(jid);
        if (this.unblocking.has(jid)) continue; // the bot's own unblock: unblockEntries() tells
        const owned = this.options.owned.get(jid);
        if (owned) this.forget(owned, "push");
        else this.ctx.logger.info({ jid }, "blocklist entry removed by another client of the account");
        void this.hooks.unblocked.emit({ entry, by: "account", origin: "push" });
      }
      this.armTimer();
    }
    this.countEntries();
  }

  // ---- blocking ------------------------------------------------------------------------------

  async block(jid: string, options: BlockOptions = {}): Promise<BlockOutcome> {
    const target = blockTarget(jid, options.scope);
    const by = options.by ?? "api";
    // A rule or rate limit at domain scope must never cut the bot off from its own server's users.
    if (target.jid === this.account || target.jid === domainOf(this.account)) {
      this.options.metrics.block(by, "failed");
      this.ctx.logger.warn({ jid: target.jid, by, rule: options.rule }, "block refused: it would cover the bot's own account or domain");
      throw new RosterError("not-allowed", target.jid, "block", `block ${target.jid}: it would cover the bot's own account or domain`);
    }
    if (!this.ctx.isOnline) throw new RosterError("offline", target.jid, "block", `block ${target.jid}: not connected`);
    if (!this.supportedFlag) {
      if (!this.warnedThisSession) {
        this.warnedThisSession = true;
        this.ctx.logger.warn({ jid: target.jid, by }, UNSUPPORTED_WARNING);
      }
      this.options.metrics.block(by, "unsupported");
      return { jid: target.jid, scope: target.scope, outcome: "unsupported" };
    }
    const onItsWay = this.blocking.get(target.jid);
    if (onItsWay) {
      this.options.metrics.block(by, "already");
      return onItsWay.then((o) => ({ ...o, outcome: "already" }));
    }
    const covering = this.blockedBy(target.jid);
    if (covering) {
      this.options.metrics.block(by, "already");
      const scope: BlockScope = covering.jid.includes("@") ? "bare" : "domain";
      return { jid: covering.jid, scope, outcome: "already", ...(covering.expires ? { expires: covering.expires } : {}) };
    }
    const attempt = this.sendBlock(target, by, options);
    this.blocking.set(target.jid, attempt);
    try {
      return await attempt;
    } finally {
      this.blocking.delete(target.jid);
    }
  }

  private async sendBlock(target: BlockTarget, by: string, options: BlockOptions): Promise<BlockOutcome> {
    const now = Date.now();
    const expires = options.forMs !== undefined ? new Date(now + options.forMs).toISOString() : undefined;
    const entry: OwnedBlock = {
      jid: target.jid,
      ...(target.address !== target.jid ? { address: target.address } : {}),
      by,
      ...(options.rule !== undefined ? { rule: options.rule } : {}),
      ...(options.reason !== undefined ? { reason: options.reason } : {}),
      since: new Date(now).toISOString(),
      ...(expires !== undefined ? { expires } : {}),
    };
    const line = { kind: "block", jid: target.jid, scope: target.scope, by, rule: options.rule, reason: options.reason, expires } as const;
    // On disk before the server has it: a crash in between leaves an entry the bot still lifts.
    this.options.owned.add(entry);
    try {
      await this.ctx.request(blockSet(target.address));
    } catch (err) {
      const error = RosterError.from(err, target.jid, "block");
      this.options.owned.delete(target.jid);
      this.audit({ ...line, result: "failed", error: error.condition });
      this.options.metrics.block(by, "failed");
      this.ctx.logger.warn({ jid: target.jid, by, error: error.condition }, "block not made");
      throw error;
    }
    if (!this.onServer.has(target.jid)) this.onServer.set(target.jid, target.address);
    this.audit({ ...line, result: "blocked" });
    this.options.metrics.block(by, "blocked");
    this.countEntries();
    this.armTimer();
    this.ctx.logger.info({ jid: target.jid, scope: target.scope, by, rule: options.rule, expires }, "blocked at the server");
    void this.hooks.blocked.emit({ entry: ownedEntry(entry), origin: "bot" });
    return { jid: target.jid, scope: target.scope, outcome: "blocked", ...(expires !== undefined ? { expires } : {}) };
  }

  async unblock(jid: string, options: { by?: string; reason?: string } = {}): Promise<UnblockResult> {
    let key: string;
    try {
      key = parseJid(jid).full;
    } catch (err) {
      throw new RosterError("jid-malformed", jid, "unblock", `unblock: ${(err as Error).message}`);
    }
    if (!this.ctx.isOnline) throw new RosterError("offline", key, "unblock", `unblock ${key}: not connected`);
    if (!this.supportedFlag) throw new RosterError("not-supported", key, "unblock", "the server does not advertise XEP-0191 blocking");
    const onItsWay = this.unblocking.get(key);
    if (onItsWay) {
      await onItsWay;
      return { jid: key, outcome: "not-blocked" };
    }
    if (!this.onServer.has(key)) return { jid: key, outcome: "not-blocked" };
    await this.unblockEntries([key], { by: options.by ?? "api", reason: options.reason });
    return { jid: key, outcome: "unblocked" };
  }

  /** Removes entries the server holds, in one iq, in the spelling the server holds them. */
  private async unblockEntries(jids: string[], { by, reason }: { by: string; reason?: string }): Promise<void> {
    const entries = jids.map((jid) => this.entryOf(jid));
    const sent = this.ctx.request(unblockSet(jids.map((jid) => this.onServer.get(jid) ?? jid)));
    const done = sent.then(
      () => undefined,
      () => undefined,
    );
    for (const jid of jids) this.unblocking.set(jid, done);
    try {
      await sent;
    } catch (err) {
      const error = RosterError.from(err, jids[0]!, "unblock");
      for (const jid of jids) this.audit({ kind: "unblock", jid, by, ...(reason ? { reason } : {}), result: "failed", error: error.condition });
      throw error;
    } finally {
      for (const jid of jids) this.unblocking.delete(jid);
    }
    for (const entry of entries) {
      this.onServer.delete(entry.jid);
      this.options.owned.delete(entry.jid);
      this.audit({ kind: "unblock", jid: entry.jid, by, ...(entry.rule ? { rule: entry.rule } : {}), ...(reason ? { reason } : {}), result: "unblocked" });
      this.options.metrics.unblock(by);
      this.ctx.logger.info({ jid: entry.jid, by, owned: entry.owned }, "unblocked at the server");
      void this.hooks.unblocked.emit({ entry, by, origin: "bot" });
    }
    this.countEntries();
    this.armTimer();
  }

  // ---- expiry --------------------------------------------------------------------------------

  /** The timer fired: lifts every owned entry whose time is up. */
  private async liftDue(): Promise<void> {
    if (!this.auto) return;
    const now = Date.now();
    const due = this.options.owned.list().filter((e) => isDue(e, now) && this.onServer.has(e.jid) && !this.unblocking.has(e.jid));
    if (due.length > 0) {
      if (!this.supportedFlag || !this.ctx.isOnline) {
        this.retryAfter = now + RETRY_MS; // the next session start lifts them, if it comes first
      } else {
        this.retryAfter = undefined;
        await this.liftExpired(due);
      }
    }
    this.armTimer();
  }

  private armTimer(): void {
    const next = this.auto ? this.options.owned.nextExpiry() : undefined;
    this.timer.arm(next === undefined ? undefined : Math.max(next, this.retryAfter ?? 0));
  }

  // ---- bookkeeping ---------------------------------------------------------------------------

  private ownedOnServer(): number {
    let n = 0;
    for (const jid of this.onServer.keys()) if (this.options.owned.get(jid)) n++;
    return n;
  }

  private countEntries(): void {
    const owned = this.ownedOnServer();
    this.options.metrics.entries(owned, this.onServer.size - owned);
  }

  /** Fields left undefined are left out of the line (JSON). */
  private audit(line: BlockAuditLine): void {
    this.options.audit.write(line);
  }
}

function ownedEntry(entry: OwnedBlock): BlockEntry {
  const { jid, by, rule, reason, since, expires } = entry;
  return {
    jid,
    owned: true,
    by,
    ...(rule !== undefined ? { rule } : {}),
    ...(reason !== undefined ? { reason } : {}),
    since,
    ...(expires !== undefined ? { expires } : {}),
  };
}
