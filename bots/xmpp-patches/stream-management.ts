/** What the two stream-management fixes share: the switches their apply() turns on, and xmpp.js's internals. */
import type { XmlElement, XmppClient } from "../xmpp.ts";

export const NS_SM = "urn:xmpp:sm:3";

/** Whether patchClient() keeps the inbound count and dropUnresumableQueue() acts. */
export interface SmSwitches {
  countInbound: boolean;
  dropUnresumableQueue: boolean;
}

export interface SmTarget {
  /** A fresh client that never connects (see probeClient()). */
  newClient(): XmppClient;
  switches: SmSwitches;
}

export interface SmInternals {
  id: string;
  inbound: number;
  outbound: number;
  outbound_q: { stanza: XmlElement; stamp: string }[];
  emit(event: "fail", stanza: XmlElement): boolean;
}
export const smOf = (client: XmppClient) => client.streamManagement as unknown as SmInternals;

export const switches: SmSwitches = { countInbound: false, dropUnresumableQueue: false };
