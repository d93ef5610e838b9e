/**
 * A bot with the roster plugin on a test server, recording what goes over the wire both ways and
 * the roster hooks as a plugin sees them, so tests assert on the stanzas rather than on return values.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { XmlElement } from "../../bots/xmpp.ts";
import { definePlugin } from "../../bots/plugin.ts";
import roster from "../../plugins/roster/index.ts";
import { startTestBot, type BotServer } from "./bot.ts";

export const NS_ROSTER = "jabber:iq:roster";

export interface RosterBotOptions {
  user: string;
  dataDir?: string;
  /** The roster plugin's config (default: its defaults). */
  config?: unknown;
  /** Wait for the roster copy before returning (default true). */
  waitLoaded?: boolean;
}

/** Starts the bot and waits for its roster copy. `sent`/`received`: every stanza, in order. */
export async function startRosterBot(server: BotServer, o: RosterBotOptions) {
  const sent: XmlElement[] = [];
  const received: XmlElement[] = [];
  const events: string[] = [];
  const recorder = definePlugin({
    name: "recorder",
    dependencies: ["roster"],
    apply(ctx) {
      const r = ctx.use("roster");
      ctx.tap(r.hooks.itemAdded, ({ item, origin }) => void events.push(`added ${item.jid} ${origin}`));
      ctx.tap(r.hooks.itemUpdated, ({ after, origin }) => void events.push(`updated ${after.jid} ${origin}`));
      ctx.tap(r.hooks.itemRemoved, ({ before, origin }) => void events.push(`removed ${before.jid} ${origin}`));
    },
  });
  const { runtime, logs, config } = await startTestBot({
    server,
    user: o.user,
    dataDir: o.dataDir,
    plugins: [{ definition: roster, config: o.config }, { definition: recorder }],
    beforeStart: (rt) => {
      rt.connection.client.on("send", (el: XmlElement) => void sent.push(el));
      rt.connection.client.on("element", (el: XmlElement) => void received.push(el));
    },
  });
  const service = runtime.service("roster");
  if (o.waitLoaded !== false) await service.whenLoaded();
  const dataDir = config.dataDir;
  return {
    runtime,
    service,
    sent,
    received,
    events,
    logs,
    dataDir,
    jid: config.jid,
    cacheFile: path.join(dataDir, "plugins", "roster", "roster.json"),
    /** The audit trail's lines so far (after the writes of this turn). */
    async audit(): Promise<Record<string, unknown>[]> {
      await new Promise((r) => setImmediate(r));
      return readFileSync(path.join(dataDir, "audit.log"), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    /** The roster sets (iq set with a roster query) the bot sent, as their <item/>. */
    rosterSets(): XmlElement[] {
      return sent.filter((s) => s.name === "iq" && s.attrs.type === "set").flatMap((s) => s.getChild("query", NS_ROSTER)?.getChildren("item") ?? []);
    },
  };
}

export type RosterBot = Awaited<ReturnType<typeof startRosterBot>>;

/** Presence stanzas the bot sent of a type. */
export function sentPresences(bot: RosterBot, type: string): XmlElement[] {
  return bot.sent.filter((s) => s.name === "presence" && s.attrs.type === type);
}
