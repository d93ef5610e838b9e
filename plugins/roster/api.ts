/**
 * The roster plugin's public contract: the one module other plugins import.
 *
 *   import type { RosterService } from "roster-bot/plugins/roster/api.ts";
 *   const roster = ctx.use("roster");               // with dependencies: ["roster"]
 *   ctx.tap(roster.hooks.itemAdded, ({ item }) => ...);
 *
 * Hook kinds (bots/hooks.ts): notify hooks run every tap in parallel and ignore results; a tap
 * that throws or passes its timeout (5 s unless the tap says otherwise) is logged with its name and
 * never affects the roster or other taps. No hook fires before the stanza behind it was validated
 * (a spoofed push fires nothing).
 */
import type { NotifyHook } from "../../bots/hooks.ts";
import type { RosterItem, Subscription } from "./item.ts";
import type { RosterChange } from "./state.ts";

export type { RosterItem, Subscription } from "./item.ts";
export type { RosterChange } from "./state.ts";
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

export interface SubscriptionState {
  subscription: Subscription;
  ask: "subscribe" | undefined;
  approved: boolean;
}

/** The subscription, pending ask or pre-approval of a contact changed (undefined = not in the roster). */
export interface SubscriptionChangedEvent {
  jid: string;
  before: SubscriptionState | undefined;
  after: SubscriptionState | undefined;
  origin: ChangeOrigin;
}

export interface RosterHooks {
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

/** What to store for a contact: the server replaces the whole item, so give the name and every group. */
export interface RosterItemInput {
  jid: string;
  name?: string;
  groups?: Iterable<string>;
}

export interface RosterService {
  readonly hooks: RosterHooks;
  /** The account's bare JID. */
  readonly account: string;
  /** True once the copy is current for the present session. */
  readonly loaded: boolean;
  /** The roster version the copy corresponds to (when the server does versioning). */
  readonly version: string | undefined;
  /** What the server advertised for this session. */
  readonly features: { versioning: boolean; preApproval: boolean };

  /** One contact by JID (normalized for you), or undefined. */
  get(jid: string): RosterItem | undefined;
  /** Every contact. */
  list(): RosterItem[];
  /** Contacts in a group. */
  inGroup(group: string): RosterItem[];
  /** Resolves when the copy is current (immediately if it already is). */
  whenLoaded(): Promise<void>;
  /**
   * The current items and a listener for every later change, in one synchronous step, so no change
   * is missed between the two. Call `stop()` (e.g. in ctx.onDispose) to stop listening.
   */
  snapshotAndListen(listener: (change: RosterChange) => void): { items: RosterItem[]; stop(): void };

  /** Adds or replaces a contact. Groups are de-duplicated, empty ones dropped, lengths capped. Resolves once the copy shows it. */
  set(item: RosterItemInput): Promise<RosterItem | undefined>;
  /** Removes a contact (the server cancels subscriptions both ways). Unknown JID: RosterError item-not-found. */
  remove(jid: string): Promise<void>;
  /** Asks for the contact's presence. */
  subscribe(jid: string): Promise<void>;
  /** Stops receiving the contact's presence. */
  unsubscribe(jid: string): Promise<void>;
  /** Approves the contact's request for our presence (sends `subscribed`). */
  approve(jid: string): Promise<void>;
  /** Denies the request or cancels their subscription (sends `unsubscribed`). */
  deny(jid: string): Promise<void>;
  /** Approves before they ask (RFC 6121 §3.4); RosterError "not-supported" unless the server advertises it. */
  preApprove(jid: string): Promise<void>;
}

declare module "../../bots/plugin.ts" {
  interface Services {
    roster: RosterService;
  }
}
