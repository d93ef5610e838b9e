/**
 * What the policy engine knows about a contact. Kept separate from the engine so callers (the
 * live bot, the offline `explain` command, benchmarks) can build facts without compiling rules.
 */
import { parseJid } from "../../../bots/jid.ts";
import type { Subscription } from "../subscription.ts";

export interface RosterFacts {
  groups: readonly string[];
  subscription: Subscription;
}

export interface ContactFacts {
  /** Normalized bare JID (lower-case, NFC), e.g. "alice@example.org" or "example.org". */
  jid: string;
  /** "" for a domain JID. */
  local: string;
  domain: string;
  /** undefined = not in the roster. */
  roster?: RosterFacts | undefined;
}

/**
 * Facts for a JID. The input is normalized again (cheap next to a network round trip) so a
 * caller that forgot to can never slip past a rule by case or Unicode form; a resource is dropped.
 * Throws JidError for an invalid JID.
 */
export function factsFor(bareJid: string, roster?: RosterFacts): ContactFacts {
  const { local, domain } = parseJid(bareJid);
  // join() builds a flat string; `${local}@${domain}` would be a rope that V8 flattens (copies)
  // inside the first regex test, once per contact, on the policy's hot path.
  const jid = local ? [local, domain].join("@") : domain;
  if (roster === undefined) return { jid, local, domain };
  const groups = roster.groups.map((g) => g.normalize("NFC"));
  return { jid, local, domain, roster: { groups, subscription: roster.subscription } };
}
