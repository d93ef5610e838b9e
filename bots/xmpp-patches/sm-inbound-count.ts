/**
 * The sm-inbound-count fix. patchClient() applies it to each client, and also guards every client
 * against stanzas that make a listener throw and against data that arrives after its parser is gone.
 */
import { xml, type XmlElement, type XmppClient } from "../xmpp.ts";
import { features, nextTurn, PROBE_DOMAIN, PROBE_TIMEOUT, serverSends, withTimeout } from "./probe-client.ts";
import { dropDataWithoutParser } from "./late-data.ts";
import { failedOnClient, fixed, present, unknown, type XmppPatch } from "./runner.ts";
import { NS_SM, smOf, switches, type SmTarget } from "./stream-management.ts";

const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const STANZAS = new Set(["iq", "message", "presence"]);

/**
 * Stream management's inbound count (`h`, XEP-0198) is wrong in xmpp.js 0.14.0: counted in a
 * middleware after the iq caller's, which consumes iq results, and reset on <enabled/> after awaits,
 * wiping stanzas read with it. The server then closes the stream on a bad `h`. patchClient() keeps
 * the count itself, synchronously and in element order, and xmpp.js reads it through `sm.inbound`.
 */
export const smInboundPatch: XmppPatch<SmTarget> = {
  name: "sm-inbound-count",
  target:
    "@xmpp/stream-management@0.14.0 sm.inbound: counted in a middleware after @xmpp/iq's caller (iq results never counted) and reset on <enabled/> after awaits (racing stanzas read with it)",
  upstream: "no upstream issue; not fixed on xmpp.js main at 7035ced (packages/stream-management and the middleware order in packages/client unchanged since v0.14.0)",
  ifNotApplied: 'The server may see a wrong `h` and close the stream ("Client acknowledged more stanzas than sent by server"); check test/integration/reconnect.test.ts.',
  packages: [["@xmpp/client", "@xmpp/stream-management"], ["@xmpp/client"]],
  async probe(target) {
    const client = target.newClient();
    const inbound = Object.getOwnPropertyDescriptor(client.streamManagement ?? {}, "inbound");
    if (typeof client._onElement !== "function" || typeof inbound?.value !== "number" || !inbound.writable || !inbound.configurable) {
      return unknown("streamManagement.inbound is not a plain number property, or client._onElement is not a function");
    }
    const { afterEnabled, afterIqResult } = await countInbound(client);
    const seen = `sm.inbound is ${afterEnabled} after <enabled/> and a <message/> read together (1 is right), then ${afterIqResult} after an iq result (2 is right)`;
    if (afterEnabled === 1 && afterIqResult === 2) return fixed(seen);
    const bug = afterEnabled === 0 || afterIqResult === afterEnabled;
    return bug && afterEnabled <= 1 && afterIqResult <= 2 ? present(seen) : unknown(seen);
  },
  apply({ switches }) {
    switches.countInbound = true;
  },
  isApplied: ({ switches }) => switches.countInbound,
};

const PATCHED_CLIENT = Symbol.for("roster-bot.xmpp-patches.client");
const countedStreams = new WeakSet<object>();

/**
 * Installed on every client before it connects. A stanza that makes a synchronous listener throw
 * (e.g. a `from` @xmpp/jid cannot parse) would escape the socket's data handler and crash the
 * process: it goes to `onMalformed` and is dropped. Socket data after xmpp.js gave up the stream is
 * dropped too (late-data.ts). Keeps the inbound count if sm-inbound-count applies.
 */
export function patchClient(client: XmppClient, onMalformed: (element: XmlElement, err: Error) => void): void {
  const marked = client as XmppClient & { [PATCHED_CLIENT]?: true };
  if (marked[PATCHED_CLIENT]) return;
  if (typeof client._onElement !== "function") {
    return failedOnClient(smInboundPatch, "client._onElement is not a function: stanzas are neither guarded nor counted");
  }
  const original = client._onElement.bind(client);
  marked[PATCHED_CLIENT] = true;
  dropDataWithoutParser(client);
  let inbound: number | undefined; // undefined: xmpp.js counts
  client._onElement = (element: XmlElement) => {
    if (element.is("enabled", NS_SM)) inbound = takeOverInbound(client, () => inbound ?? 0) ? 0 : undefined;
    else if (inbound !== undefined && STANZAS.has(element.name)) inbound += 1;
    try {
      original(element);
    } catch (err) {
      onMalformed(element, err as Error);
    }
  };
}

/** Makes xmpp.js read `count` as `sm.inbound` and ignore its own writes; false if the fix does not apply. */
function takeOverInbound(client: XmppClient, count: () => number): boolean {
  if (!switches.countInbound) return false;
  const sm = client.streamManagement as unknown as object;
  if (countedStreams.has(sm)) return true;
  const own = Object.getOwnPropertyDescriptor(sm, "inbound");
  if (typeof own?.value !== "number" || !own.configurable) {
    failedOnClient(smInboundPatch, "this client's streamManagement.inbound is not a plain number property: xmpp.js keeps counting");
    return false;
  }
  Object.defineProperty(sm, "inbound", { get: count, set: () => {}, configurable: true });
  countedStreams.add(sm);
  return true;
}

/** Binds, enables stream management, then counts: a <message/> read with <enabled/>, and an iq result. */
async function countInbound(client: XmppClient): Promise<{ afterEnabled: number; afterIqResult: number }> {
  const sm = smOf(client);
  const enabled = new Promise<void>((resolve) => {
    client.send = (element) => {
      if (element.is("iq") && element.getChild("bind", NS_BIND)) {
        const jid = xml("jid", {}, `probe@${PROBE_DOMAIN}/probe`);
        serverSends(client, xml("iq", { type: "result", id: element.attrs.id }, xml("bind", { xmlns: NS_BIND }, jid)));
      } else if (element.is("enable", NS_SM)) {
        serverSends(client, xml("enabled", { xmlns: NS_SM, id: "probe", resume: "true" }), xml("message", { from: PROBE_DOMAIN }));
        resolve();
      } else if (element.is("iq") && element.attrs.type === "get") {
        serverSends(client, xml("iq", { type: "result", id: element.attrs.id, from: PROBE_DOMAIN }));
      }
      return Promise.resolve();
    };
  });
  client._onElement(features(xml("bind", { xmlns: NS_BIND }), xml("sm", { xmlns: NS_SM })));
  await withTimeout(enabled, "stream negotiation sent no <enable/>");
  await nextTurn();
  const afterEnabled = sm.inbound;
  await client.iqCaller.request(xml("iq", { type: "get", to: PROBE_DOMAIN }, xml("ping", { xmlns: "urn:xmpp:ping" })), PROBE_TIMEOUT);
  await nextTurn();
  return { afterEnabled, afterIqResult: sm.inbound };
}
