/**
 * One bot account at run time: its connection and its plugin instances. Plugins are applied in
 * dependency order before connecting, and stopped in reverse order. A plugin that fails to apply is
 * disabled (with the plugins that depend on it); the bot keeps running with the rest.
 */
import { EventEmitter } from "node:events";
import { xml } from "./xmpp.ts";
import type { Logger } from "pino";
import type { BotConfig } from "./config/load.ts";
import { watchBotMetrics } from "./bot-metrics.ts";
import { BotConnection } from "./connection.ts";
import { PluginContext, type LifecycleKind, type RuntimeShared } from "./context.ts";
import { NS_CAPS } from "./entity/caps.ts";
import { EntityInfo } from "./entity/entity-info.ts";
import { answerEntityQueries } from "./entity/responder.ts";
import { makeFolder } from "./file-mode.ts";
import { MetricsRegistry } from "./metrics.ts";
import type { LoadedPlugin } from "./plugin-loader.ts";
import type { Services } from "./plugin.ts";
import { packageVersion } from "./version.ts";

export interface RuntimeOptions {
  logger: Logger;
  configDir: string;
  debug?: boolean;
  /** Keep retrying the first connection (a service does; one-shot commands fail fast). */
  retryInitial?: boolean;
  /** Send initial presence after the session handlers (default true; `plan` stays invisible). */
  initialPresence?: boolean;
  /** The process's metrics; without it (one-shot commands) the bot's metrics go nowhere. */
  metrics?: MetricsRegistry;
}

/** One bot as /readyz shows it. */
export interface BotReadiness {
  ready: boolean;
  state: "online" | "offline" | "stopped";
  /** Each plugin's condition (e.g. "roster loaded") and whether it holds. */
  checks: Record<string, boolean>;
}

export interface BotRuntimeEvents {
  /** A session is fully set up: session handlers ran and initial presence was sent. */
  ready: [];
  fatal: [Error];
}

export class BotRuntime extends EventEmitter<BotRuntimeEvents> {
  readonly connection: BotConnection;
  readonly logger: Logger;
  private readonly shared: RuntimeShared;
  private readonly contexts: PluginContext[] = [];
  private stopped = false;
  private readonly stopMetrics: () => void;
  private rebroadcastScheduled = false;

  constructor(
    readonly bot: BotConfig,
    private readonly plugins: LoadedPlugin[],
    private readonly options: RuntimeOptions,
  ) {
    super();
    this.logger = options.logger.child({ bot: bot.id });
    this.connection = new BotConnection(bot, this.logger, { debug: options.debug, retryInitial: options.retryInitial });
    this.shared = {
      botId: bot.id,
      botJid: bot.jid,
      botDataDir: bot.dataDir,
      configDir: options.configDir,
      connection: this.connection,
      services: new Map(),
      lifecycle: [],
      reloaders: [],
      metrics: options.metrics ?? new MetricsRegistry({ defaultMetrics: false }),
      readiness: [],
      entity: new EntityInfo({ category: "client", type: "bot", name: bot.name ?? bot.id }),
    };
    answerEntityQueries(this.connection.router, this.shared.entity, packageVersion());
    this.connection.decorateAvailablePresence = (presence) => this.shared.entity.withCaps(presence);
    this.shared.entity.onChange(() => this.scheduleRebroadcast());
    this.stopMetrics = watchBotMetrics(this.shared.metrics, bot.id, this.connection);
    this.connection.on("session", () => void this.onSession());
    this.connection.on("resumed", () => {
      this.scheduleRebroadcast();
      void this.runLifecycle("resumed");
    });
    this.connection.on("offline", () => void this.runLifecycle("offline"));
    this.connection.on("fatal", (err) => this.emit("fatal", err));
  }

  /** Names of the plugins that are running, in load order. */
  get activePlugins(): string[] {
    return this.contexts.map((c) => c.name);
  }

  service<K extends keyof Services & string>(name: K): Services[K] {
    const entry = this.shared.services.get(name);
    if (!entry) throw new Error(`bot "${this.bot.id}" has no service "${name}"`);
    return entry.value as Services[K];
  }

  /** Applies the plugins, then connects; resolves when the first session is ready. */
  async start(): Promise<void> {
    makeFolder(this.bot.dataDir);
    await this.applyPlugins();
    const ready = new Promise<void>((resolve) => this.once("ready", resolve));
    await this.connection.start();
    await ready;
  }

  /** Unavailable presence, plugins disposed in reverse load order, stream closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.connection.isOnline) {
      await this.connection.send(xml("presence", { type: "unavailable" })).catch(() => {});
    }
    for (const ctx of this.contexts.splice(0).reverse()) await ctx.dispose();
    await this.connection.stop();
    this.stopMetrics();
  }

  /** Ready: a session is up and every plugin's readiness condition holds. */
  readiness(): BotReadiness {
    const checks: Record<string, boolean> = {};
    for (const c of this.shared.readiness) checks[c.name] = c.isReady();
    const state = this.stopped ? "stopped" : this.connection.isOnline ? "online" : "offline";
    return { ready: state === "online" && Object.values(checks).every(Boolean), state, checks };
  }

  /**
   * Hands each running plugin its section of a new, validated config. Adding or removing plugins
   * needs a restart (said in the log); a plugin whose reload throws keeps its old config.
   */
  async reload(plugins: LoadedPlugin[]): Promise<void> {
    const next = new Map(plugins.map((p) => [p.definition.name, p.config]));
    const before = this.plugins.map((p) => p.definition.name).sort().join(",");
    const after = [...next.keys()].sort().join(",");
    if (before !== after) this.logger.warn({ before, after }, "the plugin list changed; restart the bot to apply that");
    for (const { owner, fn } of this.shared.reloaders.slice()) {
      if (!next.has(owner)) continue;
      try {
        await fn(next.get(owner));
        this.logger.info({ plugin: owner }, "config reloaded");
      } catch (err) {
        this.logger.error({ plugin: owner, err }, `plugin "${owner}" rejected the new config; keeping the old one`);
      }
    }
  }

  /** Each plugin's reopen-files handlers (SIGHUP); resolves when they ran. */
  reopenFiles(): Promise<void> {
    return this.runLifecycle("reopen-files");
  }

  private async applyPlugins(): Promise<void> {
    const failed = new Set<string>();
    for (const { definition, config } of this.plugins) {
      const blocked = (definition.dependencies ?? []).filter((d) => failed.has(d));
      if (blocked.length) {
        failed.add(definition.name);
        this.logger.error({ plugin: definition.name }, `plugin "${definition.name}" disabled: it depends on failed plugin(s) ${blocked.join(", ")}`);
        continue;
      }
      const ctx = new PluginContext(definition.name, this.logger.child({ plugin: definition.name }), this.shared);
      try {
        await definition.apply(ctx, config);
        this.contexts.push(ctx);
      } catch (err) {
        failed.add(definition.name);
        this.logger.error({ plugin: definition.name, err }, `plugin "${definition.name}" failed to start and is disabled`);
        await ctx.dispose();
      }
    }
  }

  private async onSession(): Promise<void> {
    await this.runLifecycle("session");
    if (this.options.initialPresence !== false && this.connection.isOnline) {
      await this.connection.send(xml("presence")).catch((err: Error) => this.logger.warn({ err: err.message }, "initial presence not sent"));
    }
    this.logger.info({ jid: this.connection.fullJid }, "session ready");
    this.emit("ready");
  }

  /**
   * Features changed: once the changes of this turn are made, the presence last broadcast goes out
   * again with the new caps `ver` (once, however many changed), so contacts' clients see them. Not
   * before initial presence, nor after unavailable: `plan` and other one-shot commands stay invisible.
   */
  private scheduleRebroadcast(): void {
    if (this.rebroadcastScheduled) return;
    this.rebroadcastScheduled = true;
    setImmediate(() => {
      this.rebroadcastScheduled = false;
      const last = this.connection.broadcastPresence;
      if (this.stopped || !last || !this.connection.isOnline) return;
      if (last.getChild("c", NS_CAPS)?.attrs.ver === this.shared.entity.ver) return;
      this.connection.send(last).catch((err: Error) => this.logger.warn({ err: err.message }, "presence with new capabilities not sent"));
    });
  }

  private async runLifecycle(kind: LifecycleKind): Promise<void> {
    for (const entry of this.shared.lifecycle.filter((e) => e.kind === kind)) {
      try {
        await entry.fn();
      } catch (err) {
        this.logger.error({ plugin: entry.owner, err }, `plugin "${entry.owner}" failed in ${kind} handler`);
      }
    }
  }
}
