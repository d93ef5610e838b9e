/**
 * XEP-0191 (Blocking Command) on the wire: the blocklist get, block and unblock sets, and the
 * validation of blocklist pushes. A push is trusted only from the account itself, as a roster push
 * is (push.ts): Prosody sends it without `from`, ejabberd from the account's bare JID.
 */
import { xml, type XmlElement } from "../../../bots/xmpp.ts";
import { parseJid } from "../../../bots/jid.ts";
import { isFromOwnAccount } from "../push.ts";

export const NS_BLOCKING = "urn:xmpp:blocking";
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";

/** One item of a blocklist or push: its key (normal form) and the spelling the server holds. */
export interface WireItem {
  jid: string;
  raw: string;
}

/** The normal form of a blocklist item: bare JID, domain or full JID; undefined when it is not a JID. */
export function entryKey(raw: string): string | undefined {
  try {
    return parseJid(raw).full;
  } catch {
    return undefined;
  }
}

/**
 * The items of a <blocklist/>, <block/> or <unblock/>. An item that is not a JID (no server sends
 * one) keeps its raw text as its key: listed, never matched, removable by that text.
 */
export function readItems(el: XmlElement): WireItem[] {
  return el
    .getChildren("item")
    .map((item) => String(item.attrs.jid ?? ""))
    .filter((raw) => raw !== "")
    .map((raw) => ({ jid: entryKey(raw) ?? raw, raw }));
}

export const blocklistGet = (): XmlElement => xml("iq", { type: "get" }, xml("blocklist", { xmlns: NS_BLOCKING }));

export const blockSet = (address: string): XmlElement => xml("iq", { type: "set" }, xml("block", { xmlns: NS_BLOCKING }, xml("item", { jid: address })));

export const unblockSet = (addresses: readonly string[]): XmlElement =>
  xml("iq", { type: "set" }, xml("unblock", { xmlns: NS_BLOCKING }, ...addresses.map((jid) => xml("item", { jid }))));

/** Whether a disco#info <query/> lists the blocking feature. */
export function advertisesBlocking(query: XmlElement | undefined): boolean {
  return !!query?.getChildren("feature").some((f) => f.attrs.var === NS_BLOCKING);
}

export type BlocklistPush =
  | { ok: true; op: "block" | "unblock"; items: WireItem[]; /** <unblock/> without items: the whole list was emptied. */ all: boolean }
  | { ok: false; condition: "service-unavailable" | "bad-request"; reason: string; security: boolean };

/** Checks a pushed <block/> or <unblock/> (XEP-0191 §3.3, §3.4). */
export function validateBlocklistPush(stanza: XmlElement, payload: XmlElement, accountBare: string): BlocklistPush {
  const from = stanza.attrs.from;
  if (!isFromOwnAccount(from, accountBare)) {
    return { ok: false, condition: "service-unavailable", reason: `blocklist push from ${from}, not from the account`, security: true };
  }
  const op = payload.name === "block" ? "block" : "unblock";
  const items = readItems(payload);
  if (op === "block" && items.length === 0) return { ok: false, condition: "bad-request", reason: "blocklist push <block/> without items", security: false };
  return { ok: true, op, items, all: op === "unblock" && items.length === 0 };
}
