/** The in-memory roster copy: items by bare JID plus the version they correspond to. */
import { sameItem, type RosterItem } from "./item.ts";
import type { PushChange } from "./push.ts";

export interface RosterChange {
  jid: string;
  /** Undefined when the item is new. */
  before: RosterItem | undefined;
  /** Undefined when the item was removed. */
  after: RosterItem | undefined;
}

export class RosterCopy {
  private items = new Map<string, RosterItem>();
  ver: string | undefined;

  get size(): number {
    return this.items.size;
  }

  get(jid: string): RosterItem | undefined {
    return this.items.get(jid);
  }

  list(): RosterItem[] {
    return [...this.items.values()];
  }

  /** The items without a copy of the list (for a filter over a large roster). */
  values(): IterableIterator<RosterItem> {
    return this.items.values();
  }

  /** Applies one push; undefined when it changes nothing (e.g. our own set echoed back unchanged). */
  apply(change: PushChange): RosterChange | undefined {
    const jid = change.remove ? change.jid : change.item.jid;
    const before = this.items.get(jid);
    if (change.remove) {
      if (!before) return undefined;
      this.items.delete(jid);
      return { jid, before, after: undefined };
    }
    if (sameItem(before, change.item)) return undefined;
    this.items.set(jid, change.item);
    return { jid, before, after: change.item };
  }

  /**
   * Replaces the whole copy (a full roster result, or a loaded cache whose map it takes over). Returns what differs from before, or nothing
   * when `report` is false (the first load, whose 100,000 "additions" nobody reads).
   */
  replaceAll(items: Iterable<RosterItem> | Map<string, RosterItem>, ver: string | undefined, report = true): RosterChange[] {
    // A map by JID (a loaded cache) is taken over as it is.
    const next = items instanceof Map ? items : new Map<string, RosterItem>();
    if (!(items instanceof Map)) for (const item of items) next.set(item.jid, item);
    const changes: RosterChange[] = [];
    if (report) {
      for (const [jid, before] of this.items) {
        const after = next.get(jid);
        if (!sameItem(before, after)) changes.push({ jid, before, after });
      }
      for (const [jid, after] of next) {
        if (!this.items.has(jid)) changes.push({ jid, before: undefined, after });
      }
    }
    this.items = next;
    this.ver = ver;
    return changes;
  }
}
