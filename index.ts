/**
 * roster-bot's public API: everything a plugin author imports, from `"roster-bot"` alone.
 *
 *   import { definePlugin, z, xml } from "roster-bot";
 *
 *   export default definePlugin({
 *     name: "welcome",
 *     dependencies: ["roster"],
 *     config: z.object({ greeting: z.string().default("Welcome!") }),
 *     apply(ctx, config) {
 *       const roster = ctx.use("roster");   // typed RosterService
 *       ctx.tap(roster.hooks.itemAdded, ({ item }) => ctx.logger.info({ jid: item.jid }, config.greeting));
 *     },
 *   });
 *
 * What is exported here is the stable contract; modules reached by other paths are not.
 */

export {
  definePlugin,
  UsageError,
  type PluginDefinition,
  type PluginConfigIssue,
  type CheckEnv,
  type Services,
  type CommandDefinition,
  type CommandOption,
  type CommandContext,
  type CommandTarget,
  type ConnectedBot,
} from "./bots/plugin.ts";
export { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from "./bots/exit-codes.ts";
export type { PluginContext } from "./bots/context.ts";
// What `ctx.metrics` registers: Prometheus metrics with the bot's label bound, served on /metrics.
export type { PluginMetrics, MetricOptions, GaugeOptions, HistogramOptions, BotCounter, BotGauge, BotHistogram, Labels } from "./bots/metrics.ts";
export type { StanzaHandler, IqHandler } from "./bots/router.ts";
// What `ctx.disco` adds to the bot's disco#info answer and caps.
export type { PluginDisco } from "./bots/entity/entity-info.ts";
export type { DiscoIdentity } from "./bots/entity/caps.ts";
export type { Logger } from "./bots/logger.ts";

/**
 * The zod that validates plugin config sections. A plugin's `config` schema must be built with it
 * (or with the same zod major version): the host refuses a schema from another zod by name.
 */
export { z } from "zod";

/**
 * Config units for plugin schemas: a duration ("30s", at most 24d, what a timer honours) and a rate
 * ("20/min"). A plugin's own timing settings built on these get the host's bounds and messages.
 */
export { duration, rate, MAX_DURATION_MS, type Rate } from "./bots/config/units.ts";
// Duration text outside a config (e.g. typed in a chat command): "7d" -> ms (undefined when it is not one), ms -> the
// shortest exact text; `longDuration` (up to MAX_LONG_DURATION_MS, ten years) is a block's `for`.
export { parseDuration, formatDuration, longDuration, MAX_LONG_DURATION_MS } from "./bots/config/units.ts";

// Hook kinds: notify (parallel), decide (series bail), transform (series waterfall).
export { NotifyHook, DecideHook, TransformHook, TapTimeoutError, TransformAbortedError, type TapOptions, type Answer } from "./bots/hooks.ts";

export { xml, type XmlElement, type XmlChild } from "./bots/xmpp.ts";
export { parseJid, bareJid, domainOf, JidError, type Jid } from "./bots/jid.ts";

// The roster plugin's public contract (its service is `ctx.use("roster")`).
export * from "./plugins/roster/api.ts";

// Following a file the plugin reads (edits, replacements, a swapped symlink such as a Kubernetes ConfigMap's).
export { watchFile, type WatchFileOptions } from "./bots/file-watch.ts";

export { packageVersion as version } from "./bots/version.ts";
