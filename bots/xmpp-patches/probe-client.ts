/** Probe clients: real xmpp.js clients that never connect; a probe plays the server's side. */
import { xml, type XmlElement, type XmppClient, type XmppClientOptions, type XmppCredentials } from "../xmpp.ts";

export type ClientFactory = (options: XmppClientOptions) => XmppClient;

export const PROBE_TIMEOUT = 2_000;
export const PROBE_DOMAIN = "probe.invalid";
const NS_STREAM = "http://etherx.jabber.org/streams";

/** A client that never connects: no reconnect, no ack timers, errors swallowed. */
export function probeClient(create: ClientFactory, credentials?: XmppCredentials): XmppClient {
  const client = create({ service: `xmpp://${PROBE_DOMAIN}`, domain: PROBE_DOMAIN, credentials });
  client.reconnect.stop();
  client.on("error", () => {});
  Object.assign(client.streamManagement, { requestAckInterval: 0, timeout: 0 });
  return client;
}

export const features = (...children: XmlElement[]) => xml("stream:features", { "xmlns:stream": NS_STREAM }, ...children);

/** Elements the server sends in one read: handled one after the other, in the same turn. */
export function serverSends(client: XmppClient, ...elements: XmlElement[]): void {
  queueMicrotask(() => {
    for (const element of elements) client._onElement(element);
  });
}

export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${PROBE_TIMEOUT} ms`)), PROBE_TIMEOUT);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
