/**
 * The XMPP client entity from @xmpp/client (and its stanza trace), typed in xmpp.ts. Only what
 * connects imports this module, so that commands which never connect do not load the client.
 */
import { client as rawClient } from "@xmpp/client";
import rawDebug from "@xmpp/debug";
import type { XmppClient, XmppClientOptions } from "./xmpp.ts";

/** @xmpp/client's `client()`. */
export const createClient: (options: XmppClientOptions) => XmppClient = rawClient;

/** @xmpp/debug: prints the stanza trace of `entity` (authentication hidden). */
export const debugTrace: (entity: XmppClient, force?: boolean) => void = rawDebug;
