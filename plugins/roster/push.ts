/**
 * Validation of incoming roster pushes (RFC 6121 §2.1.6; checklist 6–8). A push is trusted only
 * when the stanza has no `from` attribute or `from` is exactly the account's bare JID. The raw
 * attribute is checked: xmpp.js fills `ctx.from` with the server domain when the attribute is
 * absent, which would be wrong in both directions (CVE-2015-8688, CVE-2016-9928).
 */
import type { XmlElement } from "../../bots/xmpp.ts";
import { parseJid } from "../../bots/jid.ts";
import { ItemParseError, parseItem, type ItemLimits, type RosterItem } from "./item.ts";

export type PushChange = { remove: true; jid: string } | { remove: false; item: RosterItem };

export type PushVerdict =
  | { ok: true; change: PushChange; ver: string | undefined }
  | { ok: false; condition: "service-unavailable" | "bad-request"; reason: string; security: boolean };

/** True when a stanza's raw `from` is absent or names the account itself (bare JID only). */
export function isFromOwnAccount(from: string | undefined, accountBare: string): boolean {
  if (from === undefined) return true;
  try {
    return parseJid(from).full === accountBare;
  } catch {
    return false;
  }
}

export function validatePush(stanza: XmlElement, query: XmlElement, accountBare: string, limits: ItemLimits): PushVerdict {
  const from = stanza.attrs.from;
  if (!isFromOwnAccount(from, accountBare)) {
    return { ok: false, condition: "service-unavailable", reason: `roster push from ${from}, not from the account`, security: true };
  }
  const items = query.getChildren("item");
  if (items.length !== 1) {
    return { ok: false, condition: "bad-request", reason: `roster push with ${items.length} items (exactly one is allowed)`, security: false };
  }
  try {
    return { ok: true, change: parseItem(items[0]!, limits), ver: query.attrs.ver };
  } catch (err) {
    if (err instanceof ItemParseError) return { ok: false, condition: "bad-request", reason: err.message, security: false };
    throw err;
  }
}
