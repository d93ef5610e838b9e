/** The sm-unresumable-queue fix; BotConnection calls dropUnresumableQueue() on every disconnect. */
import { xml, type XmppClient } from "../xmpp.ts";
import { nextTurn, PROBE_DOMAIN } from "./probe-client.ts";
import { failedOnClient, fixed, present, unknown, type XmppPatch } from "./runner.ts";
import { smOf, switches, type SmTarget } from "./stream-management.ts";

/**
 * xmpp.js 0.14.0 announces `online` before stream management is enabled. If the stream drops in that
 * window there is nothing to resume, yet it keeps the dead stream's unacknowledged stanzas queued and
 * counts the next stream's acks against them. dropUnresumableQueue() reports them failed and drops them.
 */
export const smQueuePatch: XmppPatch<SmTarget> = {
  name: "sm-unresumable-queue",
  target: "@xmpp/stream-management@0.14.0 sm.outbound_q: kept on disconnect when the stream has no id to resume",
  upstream: "no upstream issue; not fixed on xmpp.js main at 7035ced (packages/stream-management unchanged since v0.14.0)",
  ifNotApplied: "Stanzas sent just before a drop are neither resent nor reported failed, and later acks are miscounted.",
  packages: [["@xmpp/client", "@xmpp/stream-management"]],
  async probe(target) {
    const client = target.newClient();
    const sm = smOf(client);
    if (!Array.isArray(sm.outbound_q) || typeof sm.outbound !== "number" || typeof sm.id !== "string" || typeof sm.emit !== "function") {
      return unknown("streamManagement.outbound_q, outbound or id is not what it was");
    }
    sm.outbound_q.push({ stanza: xml("message", { to: PROBE_DOMAIN }), stamp: new Date().toISOString() });
    client.emit("disconnect", { clean: false });
    await nextTurn();
    return sm.outbound_q.length === 1
      ? present("a stanza queued on a stream without an id stays queued after disconnect")
      : fixed("xmpp.js empties the queue of a stream without an id on disconnect");
  },
  apply({ switches }) {
    switches.dropUnresumableQueue = true;
  },
  isApplied: ({ switches }) => switches.dropUnresumableQueue,
};

/** After a disconnect: if the stream cannot be resumed, its unacknowledged stanzas are reported failed and dropped. */
export function dropUnresumableQueue(client: XmppClient): void {
  if (!switches.dropUnresumableQueue) return;
  const sm = smOf(client);
  if (!Array.isArray(sm.outbound_q)) return failedOnClient(smQueuePatch, "this client's streamManagement.outbound_q is not an array");
  if (sm.id || sm.outbound_q.length === 0) return;
  for (const item of sm.outbound_q.splice(0)) sm.emit("fail", item.stanza);
  sm.outbound = 0;
}
