/**
 * The `roster` service: one frozen object over the client, the subscription handler, group sync, the
 * blocklist and the policy checks, so a plugin reaches each part only through the methods named here, never its internals.
 */
import type { BlockingApi, BlockingHooks, GroupSyncApi, GroupSyncHooks, PolicyApi, RosterAccess, RosterCopyHooks, RosterService, SubscriptionHooks, SubscriptionsApi } from "./api.ts";

export interface ServiceParts {
  client: RosterAccess & { readonly hooks: RosterCopyHooks };
  subscriptions: SubscriptionsApi & { readonly hooks: SubscriptionHooks };
  groups: GroupSyncApi & { readonly hooks: GroupSyncHooks };
  blocking: BlockingApi & { readonly hooks: BlockingHooks };
  policy: PolicyApi;
}

export function rosterService({ client, subscriptions, groups, blocking, policy }: ServiceParts): RosterService {
  return Object.freeze({
    hooks: Object.freeze({ ...client.hooks, ...subscriptions.hooks, ...groups.hooks, ...blocking.hooks }),
    subscriptions: Object.freeze({
      pending: () => subscriptions.pending(),
      approve: (jid, options) => subscriptions.approve(jid, options),
      grant: (jid, options) => subscriptions.grant(jid, options),
      deny: (jid, options) => subscriptions.deny(jid, options),
      explain: (jid) => subscriptions.explain(jid),
    } satisfies SubscriptionsApi),
    groups: Object.freeze({
      plan: () => groups.plan(),
      sync: (trigger) => groups.sync(trigger),
    } satisfies GroupSyncApi),
    blocking: Object.freeze({
      get supported() {
        return blocking.supported;
      },
      list: () => blocking.list(),
      blockedBy: (jid) => blocking.blockedBy(jid),
      block: (jid, options) => blocking.block(jid, options),
      unblock: (jid, options) => blocking.unblock(jid, options),
      plan: () => blocking.plan(),
    } satisfies BlockingApi),
    policy: Object.freeze({
      test: () => policy.test(),
      replay: (options) => policy.replay(options),
    } satisfies PolicyApi),
    account: client.account,
    get loaded() {
      return client.loaded;
    },
    get version() {
      return client.version;
    },
    features: client.features,
    get: (jid) => client.get(jid),
    list: () => client.list(),
    unreadable: () => client.unreadable(),
    isUnreadable: (jid) => client.isUnreadable(jid),
    inGroup: (group) => client.inGroup(group),
    whenLoaded: () => client.whenLoaded(),
    snapshotAndListen: (listener) => client.snapshotAndListen(listener),
    set: (item, options) => client.set(item, options),
    remove: (jid, options) => client.remove(jid, options),
    subscribe: (jid) => client.subscribe(jid),
    unsubscribe: (jid) => client.unsubscribe(jid),
    cancelSubscription: (jid) => client.cancelSubscription(jid),
    preApprove: (jid) => client.preApprove(jid),
    audit: (line) => client.audit(line),
  } satisfies RosterService);
}
