/**
 * A network-free stand-in for one bot's runtime, for unit tests of plugins: a real StanzaRouter to
 * feed stanzas through, and a connection that records what is sent.
 */
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import type { BotConnection } from "../../bots/connection.ts";
import { PluginContext, type RuntimeShared } from "../../bots/context.ts";
import { EntityInfo } from "../../bots/entity/entity-info.ts";
import { MetricsRegistry } from "../../bots/metrics.ts";
import { StanzaRouter } from "../../bots/router.ts";
import { memoryLogger } from "./logger.ts";

export function fakeShared(dataDir: string, botJid = "bot@x.org") {
  const { logger, logs } = memoryLogger();
  const router = new StanzaRouter(logger);
  const sent: XmlElement[] = [];
  const requests: XmlElement[] = [];
  const connection = {
    router,
    fullJid: `${botJid}/res`,
    isOnline: true,
    features: undefined as XmlElement | undefined,
    send: async (s: XmlElement) => {
      sent.push(s);
    },
    /** Answers every iq with an empty result unless a test replaces it. */
    request: async (s: XmlElement): Promise<XmlElement> => {
      requests.push(s);
      return xml("iq", { type: "result", id: s.attrs.id });
    },
  };
  const shared: RuntimeShared = {
    botId: "b",
    botJid,
    botDataDir: dataDir,
    configDir: dataDir,
    connection: connection as unknown as BotConnection,
    services: new Map(),
    lifecycle: [],
    reloaders: [],
    metrics: new MetricsRegistry({ defaultMetrics: false }),
    readiness: [],
    entity: new EntityInfo({ category: "client", type: "bot", name: "b" }),
  };
  // `never`: a context for any plugin's typed apply (the config type only types onReload).
  const context = (name: string) => new PluginContext<never>(name, logger.child({ plugin: name }), shared);
  return { shared, router, connection, logger, logs, sent, requests, context };
}
