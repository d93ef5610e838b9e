/**
 * Which blocklist entry a block adds: the sender's bare JID, or its domain. One definition for the
 * blocklist itself, the subscription handler's outcome, and `explain`, so they never disagree.
 */
import { addressOf, domainOf, parseJid, type Jid } from "../../../bots/jid.ts";
import type { BlockScope } from "../api.ts";
import { RosterError } from "../errors.ts";

export interface BlockTarget {
  /** The entry in normal form. */
  jid: string;
  /** The entry as the iq names it: the caller's spelling of the domain (A-labels stay A-labels). */
  address: string;
  scope: BlockScope;
}

/** The entry a block of `input` adds: its bare JID, or its domain (always for a domain JID). */
export function blockTarget(input: string, scope: BlockScope | undefined): BlockTarget {
  let parsed: Jid;
  let address: string;
  try {
    parsed = parseJid(input);
    address = addressOf(input);
  } catch (err) {
    throw new RosterError("jid-malformed", input, "block", `block: ${(err as Error).message}`);
  }
  if (scope === "domain" || parsed.local === "") return { jid: parsed.domain, address: domainOf(address), scope: "domain" };
  return { jid: parsed.bare, address, scope: "bare" };
}
