/**
 * Roster items the bot cannot read exactly: the server's raw `jid` is not a valid bare JID, is not
 * in canonical form (case, width, NFC, domain form), or shares its canonical JID with another item
 * (legacy data: `Dup@example.org` and `dup@example.org`). A set built from such an item would
 * overwrite the wrong item or create a canonical twin, so they stay out of the copy and the bot
 * changes none of them; a person has to.
 */
import type { XmlElement } from "../../bots/xmpp.ts";
import { parseItem, type ItemLimits, type RosterItem } from "./item.ts";
import { asciiDomain, parseJid } from "../../bots/jid.ts";

export interface UnreadableItem {
  /** The `jid` attribute exactly as the server sent it. */
  readonly raw: string;
  /** Its canonical bare JID, or undefined when it is not a valid bare JID. */
  readonly canonical: string | undefined;
  readonly reason: string;
}

/** How much of a JID a log line or a plan line shows. */
export const MAX_SHOWN_JID = 64;
/** How many items one log line names; the rest are counted. */
export const MAX_NAMED = 20;

/** A JID cut to a sane length for a log or a listing (by code points). */
export function shownJid(raw: string, max = MAX_SHOWN_JID): string {
  if (raw.length <= max) return raw;
  const cps = Array.from(raw);
  return cps.length <= max ? raw : cps.slice(0, max).join("") + "…";
}

/** The fields of the one warn line that names unreadable items: at most MAX_NAMED, the rest counted. */
export function unreadableLogFields(items: readonly UnreadableItem[]): { count: number; items: string[]; more: number } {
  const named = items.slice(0, MAX_NAMED).map((u) => `${shownJid(u.raw)} (${u.reason})`);
  return { count: items.length, items: named, more: items.length - named.length };
}

export const REASON_NOT_CANONICAL = (canonical: string) => `not in canonical form (${shownJid(canonical)})`;
export const REASON_DUPLICATE = (canonical: string) => `another item has the same canonical JID (${shownJid(canonical)})`;

/** The unreadable items of the server's roster, by raw JID, and the canonical JIDs they block. */
export class UnreadableItems {
  private byRaw = new Map<string, UnreadableItem>();
  /** Canonical JID -> how many unreadable items have it. */
  private blocked = new Map<string, number>();

  get size(): number {
    return this.byRaw.size;
  }

  list(): UnreadableItem[] {
    return [...this.byRaw.values()];
  }

  /** True when an item the bot cannot read exactly has this canonical JID: nothing may set it. */
  blocks(canonical: string): boolean {
    return this.blocked.has(canonical);
  }

  has(raw: string): boolean {
    return this.byRaw.has(raw);
  }

  /** Adds or replaces one; true when its raw JID was not known before. */
  add(item: UnreadableItem): boolean {
    const known = this.delete(item.raw);
    this.byRaw.set(item.raw, item);
    if (item.canonical !== undefined) this.blocked.set(item.canonical, (this.blocked.get(item.canonical) ?? 0) + 1);
    return !known;
  }

  delete(raw: string): boolean {
    const before = this.byRaw.get(raw);
    if (!before) return false;
    this.byRaw.delete(raw);
    if (before.canonical !== undefined) {
      const n = (this.blocked.get(before.canonical) ?? 1) - 1;
      if (n > 0) this.blocked.set(before.canonical, n);
      else this.blocked.delete(before.canonical);
    }
    return true;
  }

  replaceAll(items: Iterable<UnreadableItem>): void {
    this.byRaw = new Map();
    this.blocked = new Map();
    for (const item of items) this.add(item);
  }

  /** A key for the whole set, to tell whether a new load found the same items as the last one. */
  key(): string {
    return [...this.byRaw.keys()].sort().join("\n");
  }
}

/**
 * The canonical bare JID of an item that failed to parse for another reason than its JID (e.g. an
 * unknown subscription): a set for that JID would overwrite it, so it blocks that JID too.
 */
export function canonicalOf(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const jid = parseJid(raw);
    return jid.resource ? undefined : jid.bare;
  } catch {
    return undefined;
  }
}

/**
 * True when `raw` differs from its canonical JID only by the domain's IDNA spelling: the same local
 * part exactly, and the domain in the A-labels of the canonical one (`a@xn--bcher-kva.test` for
 * `a@bücher.test`). Servers keep such a JID apart from its U-label twin, so the bot can read the
 * item, provided it addresses the item in this spelling. Only called when raw !== canonical.
 */
export function isIdnaSpelling(raw: string, canonical: string): boolean {
  const at = canonical.lastIndexOf("@");
  const local = canonical.slice(0, at + 1); // "" for a domain JID
  if (!raw.startsWith(local)) return false;
  const domain = raw.slice(local.length);
  return domain.includes("xn--") && !domain.includes("@") && asciiDomain(canonical.slice(at + 1)) === domain;
}

/** A full roster result sorted: the items the bot reads exactly, and the others. */
export interface SortedRoster {
  items: RosterItem[];
  unreadable: UnreadableItem[];
  /** Canonical JID -> the server's A-label spelling, for the readable items the server holds so. */
  spellings: Map<string, string>;
}

/**
 * Parses a roster result's `<item/>`s. The common case costs one string comparison per item (raw
 * JID against the canonical one); duplicates are looked for only when a non-canonical item was
 * found. `onRead` sees each readable element with its item (e.g. to note what the limits cut).
 * An item held in the A-label spelling of its canonical JID is readable (see isIdnaSpelling), unless
 * another item has the same canonical JID.
 */
export function sortRosterItems(elements: readonly XmlElement[], limits: ItemLimits, onRead?: (el: XmlElement, item: RosterItem) => void): SortedRoster {
  let items: RosterItem[] = [];
  const unreadable: UnreadableItem[] = [];
  const twins: UnreadableItem[] = [];
  /** Readable items in an A-label spelling, by item (two items can share a canonical JID). */
  const spelled = new Map<RosterItem, string>();
  for (const el of elements) {
    const raw = el.attrs.jid;
    let parsed;
    try {
      parsed = parseItem(el, limits);
    } catch (err) {
      unreadable.push({ raw: raw ?? "", canonical: canonicalOf(raw), reason: (err as Error).message });
      continue;
    }
    if (parsed.remove) continue; // not an item of a result
    const jid = parsed.item.jid;
    if (raw === jid || isIdnaSpelling(raw!, jid)) {
      if (raw !== jid) spelled.set(parsed.item, raw!);
      items.push(parsed.item);
      onRead?.(el, parsed.item);
    } else {
      twins.push({ raw: raw!, canonical: jid, reason: REASON_NOT_CANONICAL(jid) });
    }
  }
  const spellings = new Map<string, string>();
  if (twins.length === 0 && spelled.size === 0) return { items, unreadable, spellings };
  // The item that shares its canonical JID with another one is left alone too: which of the two
  // the server means by the canonical JID is not for the bot to guess.
  const blocked = new Set(twins.map((t) => t.canonical!));
  if (spelled.size > 0) {
    const seen = new Set<string>();
    for (const item of items) {
      if (seen.has(item.jid)) blocked.add(item.jid);
      seen.add(item.jid);
    }
  }
  items = items.filter((item) => {
    const raw = spelled.get(item) ?? item.jid;
    if (!blocked.has(item.jid)) {
      if (raw !== item.jid) spellings.set(item.jid, raw);
      return true;
    }
    unreadable.push({ raw, canonical: item.jid, reason: REASON_DUPLICATE(item.jid) });
    return false;
  });
  unreadable.push(...twins);
  return { items, unreadable, spellings };
}
