/** Subscription states (RFC 6121 §3) and the two questions every part of the plugin asks of them. */

export const SUBSCRIPTIONS = ["none", "to", "from", "both"] as const;
export type Subscription = (typeof SUBSCRIPTIONS)[number];

/** The parts of a roster item that describe subscriptions. */
export interface SubscriptionState {
  subscription: Subscription;
  /** "subscribe" while our request for their presence is pending. */
  ask?: "subscribe" | undefined;
  /** Their subscription to us is pre-approved (RFC 6121 §3.4). */
  approved: boolean;
}

/** The subscription parts of a roster item (undefined: not in the roster). */
export function subscriptionState(item: SubscriptionState | undefined): SubscriptionState | undefined {
  return item && { subscription: item.subscription, ask: item.ask, approved: item.approved };
}

/** We receive the contact's presence, or our request for it is pending: no `subscribe` to send. */
export function haveOrAskedTheirPresence(state: SubscriptionState | undefined): boolean {
  return !!state && (state.subscription === "to" || state.subscription === "both" || state.ask === "subscribe");
}

/** The contact receives our presence: their request needs no new decision. */
export function theyHaveOurPresence(state: SubscriptionState | undefined): boolean {
  return !!state && (state.subscription === "from" || state.subscription === "both");
}

export function sameSubscriptionState(a: SubscriptionState | undefined, b: SubscriptionState | undefined): boolean {
  if (!a || !b) return a === b;
  return a.subscription === b.subscription && a.ask === b.ask && a.approved === b.approved;
}
