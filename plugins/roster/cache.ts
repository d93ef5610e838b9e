/**
 * The persisted roster cache: items plus the roster version, so a restart asks the server only for
 * what changed. Writes are atomic and coalesced. Saving late is safe: the stored version always
 * matches the stored items, so the server resends whatever came after it.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { removeStaleTempFiles, writeFileAtomic } from "../../bots/atomic-file.ts";
import { makeItem, type RosterItem } from "./item.ts";
import { sharedGroups } from "./shared-strings.ts";
import { SUBSCRIPTIONS, type Subscription } from "./subscription.ts";
import { isIdnaSpelling, type UnreadableItem } from "./unreadable.ts";

/**
 * Format 2, compact: half the size of format 1, and checked by hand rather than by a schema library
 * (2.8× faster at 100,000 items; bench/roster-start.ts times it against reading and parsing alone):
 *   { format: 2, account, ver?, groups: [[...names], ...], items: [[jid, name | null, groupsIndex, subscription, flags], ...] }
 * `groups` holds each distinct group list once (sorted, as the copy keeps them); flags: 1 = ask, 2 = approved.
 * Optional `unreadable: [[raw, canonical | null, reason], ...]`: the items the bot cannot read exactly,
 * kept so that a session whose roster the server reports unchanged still leaves them alone.
 * Optional `spellings: [[jid, raw], ...]`: the items the server holds in the A-label spelling of
 * their domain, so that such a session still sends their sets and removes in that spelling.
 */
const FORMAT = 2;
const A_LABEL = /[@.]xn--|^xn--/;
const ASK = 1;
const APPROVED = 2;
/** Writes stay this many times their own duration apart (see scheduleSave). */
const BUSY_FACTOR = 10;
const SUBSCRIPTION_SET: ReadonlySet<string> = new Set(SUBSCRIPTIONS);

type EncodedItem = [jid: string, name: string | null, groups: number, subscription: Subscription, flags: number];

/** A cache another version of roster-bot wrote: not corrupt, just not readable here. */
class OtherFormatError extends Error {}

function fail(message: string): never {
  throw new Error(message);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Checks every field a hand-edited, truncated or foreign file could get wrong, then builds the items. */
function decode(data: unknown, account: string): LoadedRoster {
  if (!isRecord(data)) fail("not a JSON object");
  if (data.format !== FORMAT) throw new OtherFormatError(`format ${JSON.stringify(data.format)}, this version reads format ${FORMAT}`);
  if (typeof data.account !== "string") fail("account missing");
  if (data.account !== account) fail(`cache belongs to ${data.account}`);
  if (data.ver !== undefined && typeof data.ver !== "string") fail("ver is not a string");
  const { groups, items } = data;
  if (!Array.isArray(groups)) fail("groups is not a list");
  if (!Array.isArray(items)) fail("items is not a list");
  for (let i = 0; i < groups.length; i++) {
    const list: unknown = groups[i];
    if (!Array.isArray(list)) fail(`groups[${i}] is not a list`);
    for (let j = 0; j < list.length; j++) {
      const g: unknown = list[j];
      if (typeof g !== "string" || g.trim() === "") fail(`groups[${i}][${j}] is not a group name`);
      if (j > 0 && !((list[j - 1] as string) < g)) fail(`groups[${i}] is not sorted and unique`);
    }
  }
  const lists = groups.map((list) => sharedGroups(list as string[]));
  const byJid = new Map<string, RosterItem>();
  for (let i = 0; i < items.length; i++) {
    const e: unknown = items[i];
    if (!Array.isArray(e) || e.length !== 5) fail(`items[${i}] is not a 5-field item`);
    const jid: unknown = e[0];
    const name: unknown = e[1];
    const g: unknown = e[2];
    const subscription: unknown = e[3];
    const flags: unknown = e[4];
    if (typeof jid !== "string" || jid === "") fail(`items[${i}]: jid is not a string`);
    // Domains are kept in U-labels now; a key in A-labels is from an older version and would miss.
    if (A_LABEL.test(jid)) throw new OtherFormatError(`items[${i}]: ${jid.slice(0, 100)} has its domain in A-labels (xn--)`);
    if (name !== null && typeof name !== "string") fail(`items[${i}]: name is not a string`);
    if (typeof g !== "number" || !Number.isInteger(g) || g < 0 || g >= groups.length) fail(`items[${i}]: groups index out of range`);
    if (typeof subscription !== "string" || !SUBSCRIPTION_SET.has(subscription)) fail(`items[${i}]: unknown subscription`);
    if (typeof flags !== "number" || !Number.isInteger(flags) || flags < 0 || flags > (ASK | APPROVED)) fail(`items[${i}]: bad flags`);
    byJid.set(jid, makeItem(jid, name ?? undefined, lists[g]!, subscription as Subscription, (flags & ASK) !== 0, (flags & APPROVED) !== 0));
    if (byJid.size !== i + 1) fail(`items[${i}]: ${jid} appears twice`);
  }
  return { ver: data.ver, items: byJid, unreadable: decodeUnreadable(data.unreadable), spellings: decodeSpellings(data.spellings, byJid) };
}

function decodeSpellings(data: unknown, items: ReadonlyMap<string, RosterItem>): Map<string, string> {
  const spellings = new Map<string, string>();
  if (data === undefined) return spellings;
  if (!Array.isArray(data)) fail("spellings is not a list");
  data.forEach((e: unknown, i) => {
    const [jid, raw] = Array.isArray(e) && e.length === 2 ? (e as unknown[]) : [];
    if (typeof jid !== "string" || typeof raw !== "string" || !items.has(jid) || jid === raw || !isIdnaSpelling(raw, jid)) {
      fail(`spellings[${i}] is not a [jid, A-label spelling] entry of an item`);
    }
    spellings.set(jid, raw);
  });
  return spellings;
}

function decodeUnreadable(data: unknown): UnreadableItem[] {
  if (data === undefined) return [];
  if (!Array.isArray(data)) fail("unreadable is not a list");
  return data.map((e: unknown, i) => {
    const [raw, canonical, reason] = Array.isArray(e) && e.length === 3 ? (e as unknown[]) : [];
    if (typeof raw !== "string" || (canonical !== null && typeof canonical !== "string") || typeof reason !== "string") {
      fail(`unreadable[${i}] is not a [raw, canonical, reason] entry`);
    }
    return { raw, canonical: canonical ?? undefined, reason };
  });
}

/** Parses and checks a cache file's text; throws naming the first fault. */
export function decodeRosterCache(text: string, account: string): LoadedRoster {
  return decode(JSON.parse(text), account);
}

function encode(account: string, s: RosterSnapshot): string {
  const groups: (readonly string[])[] = [];
  const index = new Map<string, number>();
  const items = s.items.map((item): EncodedItem => {
    const key = item.groups.join("\u0000");
    let g = index.get(key);
    if (g === undefined) {
      g = groups.push(item.groups) - 1;
      index.set(key, g);
    }
    return [item.jid, item.name ?? null, g, item.subscription, (item.ask ? ASK : 0) | (item.approved ? APPROVED : 0)];
  });
  const unreadable = s.unreadable?.length ? s.unreadable.map((u) => [u.raw, u.canonical ?? null, u.reason]) : undefined;
  const spellings = s.spellings?.size ? [...s.spellings] : undefined;
  return JSON.stringify({ format: FORMAT, account, ver: s.ver, groups, items, unreadable, spellings });
}

export interface RosterSnapshot {
  ver: string | undefined;
  items: RosterItem[];
  unreadable?: UnreadableItem[];
  /** Canonical JID -> the server's A-label spelling of that item. */
  spellings?: ReadonlyMap<string, string>;
}

/** A loaded cache: items by JID, ready for the copy to take over (no second table to build). */
export interface LoadedRoster {
  ver: string | undefined;
  items: Map<string, RosterItem>;
  unreadable: UnreadableItem[];
  spellings: Map<string, string>;
}

export class RosterCache {
  private timer: NodeJS.Timeout | undefined;
  private pending: (() => RosterSnapshot) | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** How long the last write took (encoding and the atomic write), and when it ended. */
  private lastWriteMs = 0;
  private lastWriteEnd = 0;

  constructor(
    readonly file: string,
    private readonly account: string,
    private readonly logger: Logger,
    private readonly delayMs = 200,
  ) {}

  /**
   * The cached roster, or undefined: missing; corrupt or another account's (discarded with a warning);
   * written by another roster-bot version (an info line).
   */
  load(): LoadedRoster | undefined {
    removeStaleTempFiles(this.file);
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.logger.warn({ err: (err as Error).message, file: this.file }, "roster cache unreadable; fetching the full roster");
      return undefined;
    }
    try {
      return decodeRosterCache(text, this.account);
    } catch (err) {
      if (err instanceof OtherFormatError) {
        this.logger.info({ reason: err.message, file: this.file }, "roster cache from another roster-bot version; fetching the full roster");
        return undefined;
      }
      this.logger.warn({ err: (err as Error).message.slice(0, 300), file: this.file }, "roster cache corrupt; discarded, fetching the full roster");
      return undefined;
    }
  }

  /**
   * Saves soon; several calls in a burst make one write of the latest state. A write keeps the bot
   * busy in proportion to the roster (about 150 ms at 100,000 items, while a sync sends thousands of
   * changes), so writes stay at least BUSY_FACTOR times their own cost apart: the cache takes at most
   * a tenth of the time. A save that comes late is still exact (the stored version matches the
   * stored items); the server resends whatever came after it.
   */
  scheduleSave(snapshot: () => RosterSnapshot): void {
    this.pending = snapshot;
    if (this.timer) return;
    const delay = Math.max(this.delayMs, this.lastWriteMs * BUSY_FACTOR - (performance.now() - this.lastWriteEnd));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
    this.timer.unref?.();
  }

  /** Writes any pending state now and waits for it. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const snapshot = this.pending;
    this.pending = undefined;
    if (snapshot) this.writing = this.writing.then(() => this.write(snapshot()));
    await this.writing;
  }

  private async write(s: RosterSnapshot): Promise<void> {
    const t0 = performance.now();
    const data = encode(this.account, s);
    try {
      await writeFileAtomic(this.file, data);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, file: this.file }, "roster cache not saved");
    }
    this.lastWriteEnd = performance.now();
    this.lastWriteMs = this.lastWriteEnd - t0;
  }
}
