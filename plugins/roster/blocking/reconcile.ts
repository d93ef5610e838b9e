/**
 * What a session start does with the entries the bot owns, given the server's blocklist: an owned
 * entry the list no longer holds was removed by a person (forgotten, never re-added on its own); one
 * whose time is up is lifted, also when it fell due while the bot was down.
 */
import type { OwnedBlock } from "./owned-blocks.ts";

export interface Reconciliation {
  lift: OwnedBlock[];
  forget: OwnedBlock[];
}

export function isDue(entry: Pick<OwnedBlock, "expires">, now: number): boolean {
  return entry.expires !== undefined && Date.parse(entry.expires) <= now;
}

export function reconcile(owned: readonly OwnedBlock[], onServer: (jid: string) => boolean, now: number): Reconciliation {
  const lift: OwnedBlock[] = [];
  const forget: OwnedBlock[] = [];
  for (const entry of owned) {
    if (!onServer(entry.jid)) forget.push(entry);
    else if (isDue(entry, now)) lift.push(entry);
  }
  return { lift, forget };
}
