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
  private readonly items = new Map<string, RosterItem>();
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

  /** Replaces the whole copy (a full roster result); returns what differs from before. */
  replaceAll(items: Iterable<RosterItem>, ver: string | undefined): RosterChange[] {
    const next = new Map<string, RosterItem>();
    for (const item of items) next.set(item.jid, item);
    const changes: RosterChange[] = [];
    for (const [jid, before] of this.items) {
      const after = next.get(jid);
      if (!sameItem(before, after)) changes.push({ jid, before, after });
    }
    for (const [jid, after] of next) {
      if (!this.items.has(jid)) changes.push({ jid, before: undefined, after });
    }
    this.items.clear();
    for (const [jid, item] of next) this.items.set(jid, item);
    this.ver = ver;
    return changes;
  }
}
