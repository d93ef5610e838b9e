/**
 * The RFC 6121 roster client: keeps an exact copy of the account's roster and changes it. Every new
 * session requests the roster before initial presence (checklist 1–5; session handlers run first),
 * with `ver` only when the server advertises versioning; a stream-management resume keeps the copy.
 * Pushes that arrive while the result is processed are queued and applied after it, so none is lost.
 */
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import type { PluginContext } from "../../bots/context.ts";
import { NotifyHook } from "../../bots/hooks.ts";
import { addressOf, parseJid } from "../../bots/jid.ts";
import type { ChangeOptions, ChangeOrigin, RosterAccess, RosterCopyHooks, RosterItemInput, RosterLoadedEvent } from "./api.ts";
import type { HeapCompactor } from "../../bots/heap.ts";
import type { AuditLog } from "./audit.ts";
import { RosterError, type RosterOperation } from "./errors.ts";
import { cleanGroups, cleanName, itemElement, itemTrimmed, NS_ROSTER, removeElement, type ItemLimits, type RosterItem } from "./item.ts";
import { isFromOwnAccount, validatePush, type PushChange } from "./push.ts";
import { RosterCopy, type RosterChange } from "./copy.ts";
import type { RosterCache } from "./cache.ts";
import { sameSubscriptionState, subscriptionState } from "./subscription.ts";
import { canonicalOf, isIdnaSpelling, REASON_DUPLICATE, REASON_NOT_CANONICAL, shownJid, sortRosterItems, UnreadableItems, unreadableLogFields, type UnreadableItem } from "./unreadable.ts";

const NS_ROSTERVER = "urn:xmpp:features:rosterver";
const NS_PREAPPROVAL = "urn:xmpp:features:pre-approval";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

export interface RosterClientOptions {
  limits: ItemLimits;
  cache: RosterCache | undefined;
  /** How long set()/remove() wait for the server's push after its result. */
  pushWaitMs: number;
  audit: Pick<AuditLog, "write">;
  /** Asked to give memory back after a large load (bots/heap.ts). */
  heap?: Pick<HeapCompactor, "request">;
}

/** A watch for the server's next roster push about one contact (RosterClient.watchPush). */
export interface PushWatch {
  wait(): Promise<boolean>;
  stop(): void;
}

/** A push held while the roster result is processed, with the item's `jid` as the server sent it. */
interface QueuedPush {
  change: PushChange;
  raw: string;
}

/** From this many items on, a full load leaves enough garbage behind to be worth a compaction. */
const COMPACT_AFTER_ITEMS = 10_000;

/** An iq error answer's <error/>: the condition in the stanzas namespace, with optional text. */
export function stanzaError(type: string, condition: string, text?: string): XmlElement {
  return xml("error", { type }, xml(condition, { xmlns: NS_STANZAS }), text ? xml("text", { xmlns: NS_STANZAS }, text) : undefined);
}

export class RosterClient implements RosterAccess {
  readonly hooks: RosterCopyHooks;
  readonly account: string;
  readonly features = { versioning: false, preApproval: false };
  private readonly copy = new RosterCopy();
  private readonly cache: RosterCache | undefined;
  private readonly listeners = new Set<(change: RosterChange) => void>();
  private readonly pushWaiters = new Map<string, (() => void)[]>();
  private loadedFlag = false;
  /** The current session's roster get completed (survives a stream-management resume). */
  private sessionLoaded = false;
  private loadedWaiters: (() => void)[] = [];
  private hadCopy = false;
  private fromCache = false;
  /** Pushes received while a roster get is being processed; undefined when not loading. */
  private queued: QueuedPush[] | undefined;
  private queuedVer: string | undefined;
  /** Items of the server's roster the bot cannot read exactly: never in the copy, never changed. */
  private readonly unreadableItems = new UnreadableItems();
  /**
   * Canonical JID -> the A-label spelling the server holds that item in (rare). Sets and removes
   * for it go out so: in U-labels they would create or remove another item on the server.
   */
  private spellings = new Map<string, string>();
  /** The set of unreadable items last named in the log (a reconnect finding the same names none again). */
  private namedKey = "";

  constructor(
    private readonly ctx: PluginContext,
    private readonly options: RosterClientOptions,
  ) {
    this.account = ctx.bot.jid;
    const log = ctx.logger;
    this.hooks = {
      loaded: new NotifyHook("roster.loaded", log),
      itemAdded: new NotifyHook("roster.itemAdded", log),
      itemUpdated: new NotifyHook("roster.itemUpdated", log),
      itemRemoved: new NotifyHook("roster.itemRemoved", log),
      subscriptionChanged: new NotifyHook("roster.subscriptionChanged", log),
    };
    this.cache = options.cache;
    if (this.cache) {
      const cached = this.cache.load();
      if (cached) {
        this.copy.replaceAll(cached.items, cached.ver, false);
        this.unreadableItems.replaceAll(cached.unreadable);
        this.spellings = cached.spellings;
        this.hadCopy = true;
        this.fromCache = true;
        log.info({ items: cached.items.size, ver: cached.ver }, "roster cache loaded");
      }
    }
    ctx.onIq("set", NS_ROSTER, "query", (stanza, query) => this.onPush(stanza, query));
    ctx.onSession(() => this.fetch());
    // Offline, the copy may fall behind; a resume of a session whose roster was loaded makes it
    // current again (the server queued the pushes), a new session fetches.
    ctx.onOffline(() => {
      this.loadedFlag = false;
    });
    ctx.onResumed(() => {
      if (!this.sessionLoaded) return;
      this.loadedFlag = true;
      for (const resolve of this.loadedWaiters.splice(0)) resolve();
    });
    ctx.onDispose(() => this.cache?.flush());
  }

  // ---- reading -------------------------------------------------------------------------------

  get loaded(): boolean {
    return this.loadedFlag;
  }

  /** Contacts in the copy. */
  get size(): number {
    return this.copy.size;
  }

  get version(): string | undefined {
    return this.copy.ver;
  }

  get(jid: string): RosterItem | undefined {
    const bare = this.normalize(jid, "get", false);
    return bare === undefined ? undefined : this.copy.get(bare);
  }

  list(): RosterItem[] {
    return this.copy.list();
  }

  unreadable(): UnreadableItem[] {
    return this.unreadableItems.list();
  }

  isUnreadable(jid: string): boolean {
    const bare = this.normalize(jid, "get", false);
    return bare !== undefined && this.unreadableItems.blocks(bare);
  }

  inGroup(group: string): RosterItem[] {
    const g = group.normalize("NFC");
    const members: RosterItem[] = [];
    for (const item of this.copy.values()) if (item.groups.includes(g)) members.push(item);
    return members;
  }

  whenLoaded(): Promise<void> {
    if (this.loadedFlag) return Promise.resolve();
    return new Promise((resolve) => this.loadedWaiters.push(resolve));
  }

  snapshotAndListen(listener: (change: RosterChange) => void): { items: RosterItem[]; stop: () => void } {
    const items = this.copy.list();
    this.listeners.add(listener);
    return { items, stop: () => void this.listeners.delete(listener) };
  }

  // ---- login ---------------------------------------------------------------------------------

  /** Requests the roster for a new session (before initial presence). */
  async fetch(): Promise<void> {
    const features = this.ctx.streamFeatures;
    this.features.versioning = !!features?.getChild("ver", NS_ROSTERVER);
    this.features.preApproval = !!features?.getChild("sub", NS_PREAPPROVAL);
    // An empty ver asks for the full roster and starts versioning; send none without the feature.
    const ver = this.features.versioning ? (this.hadCopy ? (this.copy.ver ?? "") : "") : undefined;
    // This fetch's own queue: a stale fetch of an earlier session that fails late cannot clear it.
    const queue: QueuedPush[] = [];
    this.queued = queue;
    this.queuedVer = undefined;
    this.sessionLoaded = false;
    const release = () => {
      if (this.queued === queue) this.queued = undefined;
    };
    let reply: XmlElement;
    try {
      reply = await this.ctx.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER, ver })));
    } catch (err) {
      release();
      throw RosterError.from(err, this.account, "get");
    }
    if (!isFromOwnAccount(reply.attrs.from, this.account) && reply.attrs.from !== this.ctx.jid) {
      release();
      this.ctx.logger.warn({ security: true, from: reply.attrs.from }, "roster result not from the account; ignored");
      throw new RosterError("forbidden", this.account, "get", `roster result from ${reply.attrs.from} ignored`);
    }
    const query = reply.getChild("query", NS_ROSTER);
    let changes: RosterChange[] = [];
    let kind: RosterLoadedEvent["kind"] = "unchanged";
    if (query) {
      // A <query/> (even empty) is the whole roster; an empty iq result means "your copy is current".
      kind = "full";
      const sorted = sortRosterItems(query.getChildren("item"), this.options.limits, (el, item) => this.noteTrimmed(el, item));
      changes = this.copy.replaceAll(sorted.items, query.attrs.ver, this.hadCopy);
      this.unreadableItems.replaceAll(sorted.unreadable);
      this.spellings = sorted.spellings;
    } else if (ver === undefined) {
      this.ctx.logger.warn("empty roster result without versioning; keeping the current copy");
    }
    release();
    if (this.queuedVer !== undefined) this.copy.ver = this.queuedVer;
    const origin: ChangeOrigin = "reload";
    const reported = this.hadCopy ? changes : [];
    this.hadCopy = true;
    for (const change of reported) this.announce(change, origin);
    this.nameUnreadable();
    for (const push of queue) this.takePush(push.change, push.raw, undefined);
    // An "unchanged" answer leaves the cache as it is on disk: no rewrite of every item.
    if (kind === "full" || queue.length > 0 || this.queuedVer !== undefined) this.persist();
    // A full result or a cache read leaves its parse (XML or JSON) behind as garbage: give it back.
    if (this.copy.size >= COMPACT_AFTER_ITEMS && (kind === "full" || this.fromCache)) this.options.heap?.request();
    this.loadedFlag = true;
    this.sessionLoaded = true;
    const event: RosterLoadedEvent = { items: this.copy.list(), version: this.copy.ver, kind, fromCache: this.fromCache, changes: reported };
    this.fromCache = false;
    this.ctx.logger.info({ items: event.items.length, ver: event.version, kind, changes: reported.length }, "roster loaded");
    for (const resolve of this.loadedWaiters.splice(0)) resolve();
    void this.hooks.loaded.emit(event);
  }

  // ---- pushes --------------------------------------------------------------------------------

  private onPush(stanza: XmlElement, query: XmlElement): XmlElement | true {
    const verdict = validatePush(stanza, query, this.account, this.options.limits);
    const itemEl = query.getChild("item");
    const raw = itemEl?.attrs.jid ?? "";
    if (!verdict.ok) {
      if (!verdict.security && itemEl) this.noteUnreadablePush(itemEl, verdict.reason);
      const log = verdict.security ? this.ctx.logger.warn.bind(this.ctx.logger) : this.ctx.logger.info.bind(this.ctx.logger);
      log({ security: verdict.security, from: stanza.attrs.from, reason: verdict.reason }, verdict.security ? "spoofed roster push rejected" : "invalid roster push rejected");
      return stanzaError(verdict.condition === "bad-request" ? "modify" : "cancel", verdict.condition);
    }
    if (!verdict.change.remove && (raw === verdict.change.item.jid || isIdnaSpelling(raw, verdict.change.item.jid))) this.noteTrimmed(itemEl!, verdict.change.item);
    if (this.queued) {
      this.queued.push({ change: verdict.change, raw });
      if (verdict.ver !== undefined) this.queuedVer = verdict.ver;
    } else {
      this.takePush(verdict.change, raw, verdict.ver);
      this.persist();
    }
    return true;
  }

  /** Names the unreadable items of a load in one warn line, unless a load of this process named the same ones. */
  private nameUnreadable(): void {
    const key = this.unreadableItems.key();
    if (key === this.namedKey) return;
    this.namedKey = key;
    if (this.unreadableItems.size === 0) return;
    this.ctx.logger.warn(unreadableLogFields(this.unreadableItems.list()), "roster items the bot cannot read exactly: left unchanged, for a person to mend");
  }

  /** A push whose item could not be parsed at all (invalid JID): remembered and named once. */
  private noteUnreadablePush(itemEl: XmlElement, reason: string): void {
    const raw = itemEl.attrs.jid;
    if (raw === undefined) return;
    if (itemEl.attrs.subscription === "remove") {
      if (this.unreadableItems.delete(raw)) this.persist();
      return;
    }
    this.addUnreadable({ raw, canonical: canonicalOf(raw), reason });
  }

  private addUnreadable(item: UnreadableItem): void {
    if (this.unreadableItems.add(item)) {
      this.ctx.logger.warn(unreadableLogFields([item]), "roster push brings an item the bot cannot read exactly: left unchanged, for a person to mend");
    }
  }

  /**
   * Applies a valid push unless it concerns an item the bot cannot read exactly: one whose raw JID
   * is not canonical (other than in the A-label spelling of its domain), or whose canonical JID
   * such an item blocks. An item whose canonical twin (in another spelling) is in the copy makes
   * the twin unreadable too (it leaves the copy, no hook fires: the server still holds it).
   */
  private takePush(push: PushChange, raw: string, ver: string | undefined): void {
    const jid = push.remove ? push.jid : push.item.jid;
    if (!this.unreadableItems.blocks(jid)) {
      if (raw === jid && !this.spellings.has(jid)) return this.applyPush(push, ver);
      // In the A-label spelling: readable unless the copy holds the item in the canonical spelling.
      if (raw !== jid && (this.spellings.get(jid) === raw || !this.copy.get(jid)) && isIdnaSpelling(raw, jid)) {
        if (push.remove) this.spellings.delete(jid);
        else this.spellings.set(jid, raw);
        return this.applyPush(push, ver);
      }
    }
    if (ver !== undefined) this.copy.ver = ver;
    if (push.remove) {
      this.unreadableItems.delete(raw);
    } else {
      if (this.copy.get(jid)) {
        const heldRaw = this.spellings.get(jid) ?? jid;
        this.copy.apply({ remove: true, jid });
        this.spellings.delete(jid);
        this.addUnreadable({ raw: heldRaw, canonical: jid, reason: REASON_DUPLICATE(jid) });
      }
      if (raw !== jid) {
        this.addUnreadable({ raw, canonical: jid, reason: isIdnaSpelling(raw, jid) ? REASON_DUPLICATE(jid) : REASON_NOT_CANONICAL(jid) });
      } else if (!this.unreadableItems.has(raw)) {
        this.addUnreadable({ raw, canonical: jid, reason: REASON_DUPLICATE(jid) });
      }
    }
    for (const resolve of this.pushWaiters.get(jid)?.splice(0) ?? []) resolve();
    this.ctx.logger.debug({ jid: shownJid(raw) }, "roster push about an item the bot cannot read exactly: not applied to the copy");
  }

  /** An item the server holds whole but the copy keeps shortened (limits) is worth a warning. */
  private noteTrimmed(el: XmlElement, item: RosterItem): void {
    const trimmed = itemTrimmed(el, item, this.options.limits);
    if (trimmed) this.ctx.logger.warn({ jid: item.jid, trimmed }, "roster item over the limits: the copy (and a roster set made from it) keeps part of it");
  }

  private applyPush(push: PushChange, ver: string | undefined): void {
    const change = this.copy.apply(push);
    if (ver !== undefined) this.copy.ver = ver;
    if (change) this.announce(change, "push");
    const jid = push.remove ? push.jid : push.item.jid;
    for (const resolve of this.pushWaiters.get(jid)?.splice(0) ?? []) resolve();
  }

  /** Tells listeners and hooks about one change. Hooks run detached so the push is answered at once. */
  private announce(change: RosterChange, origin: ChangeOrigin): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (err) {
        this.ctx.logger.error({ err }, "roster listener failed");
      }
    }
    const { before, after } = change;
    if (!before && after) void this.hooks.itemAdded.emit({ item: after, origin });
    else if (before && after) void this.hooks.itemUpdated.emit({ before, after, origin });
    else if (before && !after) void this.hooks.itemRemoved.emit({ before, origin });
    const sBefore = subscriptionState(before);
    const sAfter = subscriptionState(after);
    if (!sameSubscriptionState(sBefore, sAfter)) {
      void this.hooks.subscriptionChanged.emit({ jid: change.jid, before: sBefore, after: sAfter, origin });
    }
  }

  private persist(): void {
    this.cache?.scheduleSave(() => ({ ver: this.copy.ver, items: this.copy.list(), unreadable: this.unreadableItems.list(), spellings: this.spellings }));
  }

  // ---- changing the roster -------------------------------------------------------------------

  private normalize(jid: string, operation: RosterOperation, strict = true): string | undefined {
    try {
      const parsed = parseJid(jid);
      if (parsed.resource) {
        if (!strict) return undefined;
        throw new RosterError("bad-request", jid, operation, `roster ${operation}: ${jid} is a full JID; roster items are bare JIDs`);
      }
      return parsed.bare;
    } catch (err) {
      if (err instanceof RosterError) throw err;
      if (!strict) return undefined;
      throw new RosterError("jid-malformed", jid, operation, `roster ${operation}: ${(err as Error).message}`);
    }
  }

  /**
   * Watches for the server's roster push about `jid` (even one that changes nothing in the copy).
   * Start it before sending what causes the push; `wait()` resolves true when it came, false when
   * none came within the push wait. Always `stop()` it.
   */
  watchPush(jid: string): PushWatch {
    let settle!: (pushed: boolean) => void;
    const seen = new Promise<boolean>((resolve) => (settle = resolve));
    const pushed = () => settle(true);
    const waiters = this.pushWaiters.get(jid) ?? [];
    waiters.push(pushed);
    this.pushWaiters.set(jid, waiters);
    let timer: NodeJS.Timeout | undefined;
    return {
      wait: () => {
        timer ??= setTimeout(() => settle(false), this.options.pushWaitMs);
        return seen;
      },
      stop: () => {
        clearTimeout(timer);
        const list = this.pushWaiters.get(jid);
        const i = list?.indexOf(pushed) ?? -1;
        if (list && i !== -1) list.splice(i, 1);
        if (list && list.length === 0) this.pushWaiters.delete(jid);
      },
    };
  }

  /** Sends a roster set and waits for the result, then (briefly) for the push that updates the copy. */
  private async rosterSet(item: XmlElement, jid: string, operation: RosterOperation): Promise<void> {
    if (!this.ctx.isOnline) throw new RosterError("offline", jid, operation, `roster ${operation} ${jid}: not connected`);
    const push = this.watchPush(jid);
    try {
      await this.ctx.request(xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, item)));
      await push.wait();
    } catch (err) {
      throw RosterError.from(err, jid, operation);
    } finally {
      push.stop();
    }
  }

  async set(input: RosterItemInput, options: ChangeOptions = {}): Promise<RosterItem | undefined> {
    const jid = this.normalize(input.jid, "set")!;
    this.refuseUnreadable(jid, "set");
    const name = cleanName(input.name, this.options.limits);
    const groups = cleanGroups(input.groups ?? [], this.options.limits);
    // Keyed by the normal form, sent in the server's spelling of the item, or for a new item in the
    // caller's spelling of the domain (A-labels stay A-labels).
    const address = this.serverSpelling(jid) ?? addressOf(input.jid);
    await this.audited({ op: "set", jid, name, groups, by: options.by ?? "api" }, () => this.rosterSet(itemElement(address, name, groups), jid, "set"));
    return this.copy.get(jid);
  }

  /** How the server spells the item the copy holds for `jid`; undefined when the copy holds none. */
  private serverSpelling(jid: string): string | undefined {
    return this.spellings.get(jid) ?? (this.copy.get(jid) ? jid : undefined);
  }

  /** A set or remove would change (or create a twin of) an item the bot cannot read exactly. */
  private refuseUnreadable(jid: string, operation: RosterOperation): void {
    if (!this.unreadableItems.blocks(jid)) return;
    throw new RosterError("conflict", jid, operation, `roster ${operation} ${jid}: the server holds an item for this JID that the bot cannot read exactly; left for a person to mend`);
  }

  audit(line: { kind: string; [field: string]: unknown }): void {
    this.options.audit.write(line);
  }

  async remove(jid: string, options: ChangeOptions = {}): Promise<void> {
    const bare = this.normalize(jid, "remove")!;
    this.refuseUnreadable(bare, "remove");
    await this.audited({ op: "remove", jid: bare, by: options.by ?? "api" }, () => this.rosterSet(removeElement(this.serverSpelling(bare) ?? addressOf(jid)), bare, "remove"));
  }

  private async audited(line: { op: "set" | "remove"; jid: string; name?: string; groups?: readonly string[]; by: string }, change: () => Promise<void>): Promise<void> {
    try {
      await change();
      this.options.audit.write({ kind: "roster", ...line, ok: true });
    } catch (err) {
      this.options.audit.write({ kind: "roster", ...line, ok: false, error: (err as RosterError).condition ?? String(err) });
      throw err;
    }
  }

  private async presence(jid: string, type: string, operation: RosterOperation): Promise<void> {
    const bare = this.normalize(jid, operation)!;
    if (!this.ctx.isOnline) throw new RosterError("offline", bare, operation, `roster ${operation} ${bare}: not connected`);
    // To the bare JID in the server's spelling of the item (a subscription presence in another one
    // would make the server add a twin), else the caller's; no id copied from any request (RFC 6121 §3.1.4).
    await this.ctx.send(xml("presence", { to: this.serverSpelling(bare) ?? addressOf(jid), type }));
  }

  subscribe(jid: string): Promise<void> {
    return this.presence(jid, "subscribe", "subscribe");
  }

  unsubscribe(jid: string): Promise<void> {
    return this.presence(jid, "unsubscribe", "unsubscribe");
  }

  cancelSubscription(jid: string): Promise<void> {
    return this.presence(jid, "unsubscribed", "cancelSubscription");
  }

  async preApprove(jid: string): Promise<void> {
    if (!this.features.preApproval) {
      throw new RosterError("not-supported", jid, "preApprove", "the server does not advertise subscription pre-approval");
    }
    await this.presence(jid, "subscribed", "preApprove");
  }
}
