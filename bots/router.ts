/**
 * Routes incoming stanzas to plugin handlers, fed by one xmpp.js middleware per connection: unlike
 * xmpp.js middleware, a handler can be removed again, which plugin disposal needs. An iq handler's
 * result is the reply (a payload, `true` for an empty result, or an `<error/>`); with no handler,
 * xmpp.js's iq callee replies service-unavailable, so every iq get/set gets a reply.
 */
import type { XmlElement } from "./xmpp.ts";
import type { Logger } from "pino";

export type StanzaHandler = (stanza: XmlElement) => void | Promise<void>;
export type IqReply = XmlElement | true | undefined;
export type IqHandler = (stanza: XmlElement, payload: XmlElement) => IqReply | Promise<IqReply>;

/** The owner name of what the host itself answers (disco, ping, version). */
export const HOST_OWNER = "(host)";

interface Registered<H> {
  owner: string;
  handler: H;
}

export class StanzaRouter {
  private readonly presence: Registered<StanzaHandler>[] = [];
  private readonly message: Registered<StanzaHandler>[] = [];
  private readonly iq = new Map<string, Registered<IqHandler>>();

  constructor(private readonly logger: Logger) {}

  on(kind: "presence" | "message", owner: string, handler: StanzaHandler): () => void {
    const list = kind === "presence" ? this.presence : this.message;
    const entry = { owner, handler };
    list.push(entry);
    return () => {
      const i = list.indexOf(entry);
      if (i !== -1) list.splice(i, 1);
    };
  }

  onIq(type: "get" | "set", ns: string, name: string, owner: string, handler: IqHandler): () => void {
    const key = `${type} ${ns} ${name}`;
    const existing = this.iq.get(key);
    if (existing) {
      const by = existing.owner === HOST_OWNER ? "roster-bot itself (a plugin adds disco features with ctx.disco)" : `plugin "${existing.owner}"`;
      throw new Error(`iq ${type} <${name} xmlns="${ns}"/> is already handled by ${by}`);
    }
    const entry = { owner, handler };
    this.iq.set(key, entry);
    return () => {
      if (this.iq.get(key) === entry) this.iq.delete(key);
    };
  }

  /** Handles an iq get/set; undefined means "nobody handles this" (service-unavailable). */
  async routeIq(stanza: XmlElement, payload: XmlElement): Promise<IqReply> {
    const type = stanza.attrs.type as string;
    const entry = this.iq.get(`${type} ${payload.getNS() ?? ""} ${payload.name}`);
    if (!entry) return undefined;
    return entry.handler(stanza, payload);
  }

  async routeStanza(stanza: XmlElement): Promise<void> {
    const list = stanza.name === "presence" ? this.presence : stanza.name === "message" ? this.message : undefined;
    if (!list || list.length === 0) return;
    await Promise.all(
      list.slice().map(async ({ owner, handler }) => {
        try {
          await handler(stanza);
        } catch (err) {
          this.logger.error({ plugin: owner, err, stanza: stanza.name }, `plugin "${owner}" failed handling a ${stanza.name}`);
        }
      }),
    );
  }
}
