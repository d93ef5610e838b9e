/**
 * The XMPP client entity from @xmpp/client (and its stanza trace), typed in xmpp.ts. Only what
 * connects imports this module, so that commands which never connect do not load the client.
 */
import { client as rawClient } from "@xmpp/client";
import rawDebug from "@xmpp/debug";
import type { XmppClient, XmppClientOptions } from "./xmpp.ts";
import { verifyXmppPatches, type PatchLogger, type PatchStatus } from "./xmpp-patches/index.ts";

// xmpp.js ships no types: this module and xmpp.ts are where they are given.
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
const newClient: (options: XmppClientOptions) => XmppClient = rawClient;

/**
 * Verifies and applies the xmpp.js fixes (xmpp-patches), once per process. createClient() starts it;
 * a host may call it first to have the outcomes logged through its own logger.
 */
export function xmppPatches(logger?: PatchLogger): Promise<PatchStatus[]> {
  return verifyXmppPatches(newClient, logger);
}

/** @xmpp/client's `client()`. No connection opens before xmppPatches() is done (the first caller's logger is used). */
export function createClient(options: XmppClientOptions, logger?: PatchLogger): XmppClient {
  const client = newClient(options);
  const patched = xmppPatches(logger);
  // xmpp.js's disconnect() (also the one it starts itself on a stream error) acts on whatever
  // socket and parser the entity holds when its waits end: if the server dropped the socket
  // without </stream>, it times out (2 s) and then ends the next connection's socket, or, before
  // one exists, emits a second `disconnect` that a reconnect attempt takes for its own. So a new
  // connection waits until the previous disconnect() has finished.
  let closing: Promise<unknown> | undefined;
  const disconnect = client.disconnect.bind(client);
  client.disconnect = () => {
    const done = disconnect();
    const settled: Promise<unknown> = done.catch(() => {}).finally(() => {
      if (closing === settled) closing = undefined;
    });
    closing = settled;
    return done;
  };
  const connect = client.connect.bind(client);
  client.connect = async (service?: string) => {
    await patched;
    while (closing) await closing;
    return connect(service);
  };
  return client;
}

/** @xmpp/debug: prints the stanza trace of `entity` (authentication hidden). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment
export const debugTrace: (entity: XmppClient, force?: boolean) => void = rawDebug;
