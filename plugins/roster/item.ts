/**
 * The roster item model (RFC 6121 §2.1.2) and its XML form. Items are plain frozen data so they
 * can be shared with other plugins, compared and persisted without copying.
 */
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import { parseJid } from "../../bots/jid.ts";
import { ownString, sharedGroups } from "./shared-strings.ts";
import { sameSubscriptionState, SUBSCRIPTIONS, type Subscription, type SubscriptionState } from "./subscription.ts";

export type { Subscription } from "./subscription.ts";

export const NS_ROSTER = "jabber:iq:roster";

export interface RosterItem extends SubscriptionState {
  /** Normalized bare JID. */
  readonly jid: string;
  readonly name?: string;
  /** Sorted, unique, non-empty group names. */
  readonly groups: readonly string[];
  readonly subscription: Subscription;
  readonly ask?: "subscribe";
  readonly approved: boolean;
}

export interface ItemLimits {
  maxNameLength: number;
  maxGroupLength: number;
  maxGroups: number;
}

export const DEFAULT_LIMITS: ItemLimits = { maxNameLength: 1024, maxGroupLength: 1024, maxGroups: 100 };

/** Cuts a string to at most `max` code points (never in the middle of a surrogate pair). */
function capCodePoints(s: string, max: number): string {
  if (s.length <= max) return s; // UTF-16 length bounds the code point count from above
  const cps = Array.from(s);
  return cps.length <= max ? s : cps.slice(0, max).join("");
}

/**
 * Cleans group names before a roster set: NFC, no empty names, no duplicates, capped length and
 * count (servers refuse or silently fold such groups; RFC 6121 §2.3.2, checklist 12).
 */
export function cleanGroups(groups: Iterable<string>, limits: ItemLimits = DEFAULT_LIMITS): string[] {
  if (Array.isArray(groups) && groups.length <= 1) {
    // Most contacts have one group or none: no Set, no sort.
    const g = groups.length === 0 ? undefined : cleanGroup(groups[0] as string, limits);
    return g === undefined ? [] : [g];
  }
  const seen = new Set<string>();
  for (const raw of groups) {
    const g = cleanGroup(raw, limits);
    if (g === undefined) continue;
    seen.add(g);
    if (seen.size >= limits.maxGroups) break;
  }
  return [...seen].sort();
}

/** One group name: NFC, capped; undefined when nothing but white space is left. */
function cleanGroup(raw: string, limits: ItemLimits): string | undefined {
  const g = capCodePoints(String(raw).normalize("NFC"), limits.maxGroupLength);
  return g.trim() === "" ? undefined : g;
}

export function cleanName(name: string | undefined, limits: ItemLimits = DEFAULT_LIMITS): string | undefined {
  if (name === undefined) return undefined;
  const n = capCodePoints(name.normalize("NFC"), limits.maxNameLength);
  return n.trim() === "" ? undefined : n;
}

export class ItemParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ItemParseError";
  }
}

/**
 * A frozen item. Every item is built here, by one literal per field combination, so all items of a
 * roster share V8's few hidden classes (copies made field by field from parsed JSON each got their
 * own, 200 bytes apiece). `groups` is a shared list (sharedGroups), so equal lists are one array.
 */
export function makeItem(jid: string, name: string | undefined, groups: readonly string[], subscription: Subscription, ask: boolean, approved: boolean): RosterItem {
  const item: RosterItem =
    name === undefined
      ? ask
        ? { jid, groups, subscription, ask: "subscribe", approved }
        : { jid, groups, subscription, approved }
      : ask
        ? { jid, name, groups, subscription, ask: "subscribe", approved }
        : { jid, name, groups, subscription, approved };
  return Object.freeze(item);
}

/**
 * Parses an `<item/>` from the server. Incoming groups are normalized the same way as outgoing
 * ones, so comparisons are exact.
 */
export function parseItem(el: XmlElement, limits: ItemLimits = DEFAULT_LIMITS): { remove: true; jid: string } | { remove: false; item: RosterItem } {
  const rawJid = el.attrs.jid;
  if (!rawJid) throw new ItemParseError("roster item without jid");
  let jid;
  try {
    jid = parseJid(rawJid);
  } catch (err) {
    throw new ItemParseError(`roster item with invalid jid: ${(err as Error).message}`);
  }
  if (jid.resource) throw new ItemParseError("roster item jid must be a bare JID");
  const sub = el.attrs.subscription ?? "none";
  if (sub === "remove") return { remove: true, jid: jid.bare };
  if (!(SUBSCRIPTIONS as readonly string[]).includes(sub)) throw new ItemParseError(`roster item with unknown subscription "${sub}"`);
  const name = cleanName(el.attrs.name, limits);
  const item = makeItem(
    jid.local ? jid.bare : ownString(jid.bare),
    name === undefined ? undefined : ownString(name),
    sharedGroups(cleanGroups(groupTexts(el), limits)),
    sub as Subscription,
    el.attrs.ask === "subscribe",
    el.attrs.approved === "true" || el.attrs.approved === "1",
  );
  return { remove: false, item };
}

/** The texts of an item's `<group/>` children (one pass, no intermediate element list). */
function groupTexts(el: XmlElement): string[] {
  const texts: string[] = [];
  for (const child of el.children) {
    if (typeof child !== "string" && child.is("group")) texts.push(child.text());
  }
  return texts;
}

/**
 * What parseItem cut from a server's item to fit the limits, or undefined when nothing was lost
 * (empty and duplicate groups lose nothing). The server keeps the whole item; the copy, and any
 * roster set built from it, holds the shortened one.
 */
export function itemTrimmed(el: XmlElement, item: RosterItem, limits: ItemLimits = DEFAULT_LIMITS): string | undefined {
  const name = el.attrs.name;
  // Fast path: UTF-16 lengths bound code point counts from above.
  if ((name?.length ?? 0) <= limits.maxNameLength && withinGroupLimits(el, limits)) return undefined;
  const groups = groupTexts(el);
  const notes: string[] = [];
  const distinct = new Set(groups.map((g) => g.normalize("NFC")).filter((g) => g.trim() !== ""));
  if (distinct.size > item.groups.length) notes.push(`${distinct.size - item.groups.length} of ${distinct.size} groups dropped (maxGroups ${limits.maxGroups})`);
  if ([...distinct].some((g) => Array.from(g).length > limits.maxGroupLength)) notes.push(`group names cut to ${limits.maxGroupLength} characters`);
  if (name !== undefined && Array.from(name.normalize("NFC")).length > limits.maxNameLength) notes.push(`name cut to ${limits.maxNameLength} characters`);
  return notes.length ? notes.join("; ") : undefined;
}

function withinGroupLimits(el: XmlElement, limits: ItemLimits): boolean {
  let count = 0;
  for (const child of el.children) {
    if (typeof child === "string" || !child.is("group")) continue;
    if (++count > limits.maxGroups || child.text().length > limits.maxGroupLength) return false;
  }
  return true;
}

/** The `<item/>` of a roster set: never `ask` or `approved`, `subscription` only as "remove" (§2.3.2). */
export function itemElement(jid: string, name: string | undefined, groups: readonly string[]): XmlElement {
  return xml("item", { jid, name }, ...groups.map((g) => xml("group", {}, g)));
}

export function removeElement(jid: string): XmlElement {
  return xml("item", { jid, subscription: "remove" });
}

/** Equal group lists (both cleaned, so sorted: order matters). */
export function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((g, i) => g === b[i]);
}

export function sameItem(a: RosterItem | undefined, b: RosterItem | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.jid === b.jid && a.name === b.name && sameSubscriptionState(a, b) && sameGroups(a.groups, b.groups);
}
