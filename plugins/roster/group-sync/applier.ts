/**
 * Applies a group-sync plan: bounded concurrency, transient errors retried with backoff, every item
 * on its own (one failing item never stops the others or the bot). Changes go through the roster
 * service's set/remove with `by`, so each writes its audit line.
 */
import type { Logger } from "pino";
import { backoffDelay } from "../../../bots/backoff.ts";
import type { GroupChange, RosterItemInput, RosterService } from "../api.ts";
import { RosterError, type RosterOperation } from "../errors.ts";
import { cleanGroups, cleanName, sameGroups, type ItemLimits, type RosterItem } from "../item.ts";
import { haveOrAskedTheirPresence, theyHaveOurPresence } from "../subscription.ts";

export type ApplyTarget = Pick<RosterService, "get" | "remove" | "subscribe" | "preApprove" | "features"> & {
  set(item: RosterItemInput, options?: { by?: string }): Promise<RosterItem | undefined>;
};

export interface ApplyOptions {
  /** Who makes the changes, for the audit lines. */
  by: string;
  limits: ItemLimits;
  /** Changes in flight at once. */
  concurrency?: number;
  /** Extra attempts for a transient error (timeout, offline, server busy). */
  retries?: number;
  /** First retry delay; doubles each time (with jitter), up to 5 s. */
  backoffMs?: number;
  /** Declared contacts with `subscribe: true`. */
  wantsMutual?: (jid: string) => boolean;
  /** Called right after a `subscribe` was sent. */
  onSubscribed?: (jid: string) => void;
  /** The spelling a contact is sent in (a declared contact's, from the config); default: `jid`. */
  addressOf?: (jid: string) => string;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
}

export interface AppliedChange {
  change: GroupChange;
  /** A roster set or remove was sent (false: the copy already showed the item). */
  sent: boolean;
}

export interface ApplyOutcome {
  applied: AppliedChange[];
  failed: { change: GroupChange; error: string }[];
}

export const DEFAULT_CONCURRENCY = 16;

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function applyPlan(changes: readonly GroupChange[], target: ApplyTarget, options: ApplyOptions): Promise<ApplyOutcome> {
  const { by, limits } = options;
  const retries = options.retries ?? 3;
  const backoff = { initialDelay: options.backoffMs ?? 250, maxDelay: 5_000 };
  const sleep = options.sleep ?? sleepFor;

  async function retry<T>(jid: string, operation: RosterOperation, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const error = RosterError.from(err, jid, operation);
        if (!error.transient || attempt >= retries) throw error;
        const delay = backoffDelay(attempt, backoff);
        options.logger?.debug({ jid, operation, condition: error.condition, attempt: attempt + 1, delayMs: delay }, "group sync: retrying");
        await sleep(delay);
      }
    }
  }

  async function applyOne(change: GroupChange): Promise<boolean> {
    const { jid } = change;
    if (change.op === "remove") {
      try {
        await retry(jid, "remove", () => target.remove(jid, { by }));
        return true;
      } catch (err) {
        if (err instanceof RosterError && err.condition === "item-not-found") return false; // gone, as wanted
        throw err;
      }
    }
    const name = cleanName(change.name.after ?? undefined, limits);
    const groups = cleanGroups(change.groups.after, limits);
    const current = target.get(jid);
    const address = options.addressOf?.(jid) ?? jid;
    let sent = false;
    if (!current || current.name !== name || !sameGroups(current.groups, groups)) {
      await retry(jid, "set", () => target.set({ jid: address, name, groups }, { by }));
      sent = true;
    }
    const mutual = options.wantsMutual?.(jid) ?? false;
    if (change.subscribe || mutual) {
      const now = target.get(jid);
      if (change.subscribe && !haveOrAskedTheirPresence(now)) {
        await retry(jid, "subscribe", () => target.subscribe(address));
        options.onSubscribed?.(jid);
      }
      // Some servers (Prosody) drop a pre-approval on any roster set: send it again after each set.
      const approved = theyHaveOurPresence(now) || !!now?.approved;
      if (mutual && (sent || change.subscribe) && target.features.preApproval && !approved) {
        await retry(jid, "preApprove", () => target.preApprove(address));
      }
    }
    return sent;
  }

  const outcomes = new Array<{ ok: true; sent: boolean } | { ok: false; error: string }>(changes.length);
  let next = 0;
  const worker = async () => {
    while (next < changes.length) {
      const i = next++;
      const change = changes[i]!;
      try {
        outcomes[i] = { ok: true, sent: await applyOne(change) };
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        outcomes[i] = { ok: false, error };
        options.logger?.warn({ jid: change.jid, op: change.op, err: error }, "group sync: change not applied");
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? DEFAULT_CONCURRENCY, changes.length));
  await Promise.all(Array.from({ length: workers }, worker));

  const applied: AppliedChange[] = [];
  const failed: ApplyOutcome["failed"] = [];
  outcomes.forEach((o, i) => {
    const change = changes[i]!;
    if (o.ok) applied.push({ change, sent: o.sent });
    else failed.push({ change, error: o.error });
  });
  return { applied, failed };
}
