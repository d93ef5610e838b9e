/**
 * What a plugin gets: its bot's connection, a named logger, a data directory, services from other
 * plugins, and automatic disposal. Everything registered here is undone when the plugin stops.
 */
import path from "node:path";
import { checkTimerDelay } from "./config/units.ts";
import { makeFolder } from "./file-mode.ts";
import { xml } from "./xmpp.ts";
import type { XmlElement } from "./xmpp.ts";
import type { Logger } from "pino";
import type { BotConnection } from "./connection.ts";
import type { EntityInfo, PluginDisco } from "./entity/entity-info.ts";
import type { DecideHook, NotifyHook, TapOptions, TransformHook } from "./hooks.ts";
import type { MetricsRegistry, PluginMetrics } from "./metrics.ts";
import type { Services } from "./plugin.ts";
import type { IqHandler, StanzaHandler } from "./router.ts";

type Disposer = () => void | Promise<void>;
type AnyHook = NotifyHook<any> | DecideHook<any, any> | TransformHook<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type TapFn<H> = H extends { tap(o: TapOptions, fn: infer F): () => void } ? F : never;

export type LifecycleKind = "session" | "resumed" | "offline" | "reopen-files";

export interface RuntimeShared {
  readonly botId: string;
  readonly botJid: string;
  readonly botDataDir: string;
  readonly configDir: string;
  readonly connection: BotConnection;
  readonly services: Map<string, { owner: string; value: unknown }>;
  readonly lifecycle: { kind: LifecycleKind; owner: string; fn: () => unknown }[];
  readonly reloaders: { owner: string; fn: (config: unknown) => unknown }[];
  /** The process's metrics (or a private registry for one-shot commands). */
  readonly metrics: MetricsRegistry;
  /** What plugins say must hold before the bot is ready (/readyz), besides having a session. */
  readonly readiness: ReadinessCheck[];
  /** The bot's disco#info identities and features (and so its caps). */
  readonly entity: EntityInfo;
}

export interface ReadinessCheck {
  owner: string;
  /** Shown in /readyz, e.g. "roster loaded". */
  name: string;
  isReady: () => boolean;
}

export function pluginDataDir(botDataDir: string, plugin: string): string {
  return path.join(botDataDir, "plugins", plugin.replace(/[^A-Za-z0-9_.-]/g, "_"));
}

/** What a plugin's `apply` gets; `C` is its config type (its schema's output). */
export class PluginContext<C = unknown> {
  private readonly disposers: Disposer[] = [];
  private disposed = false;
  private pluginMetrics: PluginMetrics | undefined;

  constructor(
    readonly name: string,
    readonly logger: Logger,
    private readonly shared: RuntimeShared,
  ) {}

  get bot(): { id: string; jid: string; dataDir: string; configDir: string } {
    const { botId, botJid, botDataDir, configDir } = this.shared;
    return { id: botId, jid: botJid, dataDir: botDataDir, configDir };
  }

  /** This plugin's own directory (created on first use, owner-only unless the config's `files.mode` says otherwise). */
  get dataDir(): string {
    const dir = pluginDataDir(this.shared.botDataDir, this.name);
    makeFolder(dir);
    return dir;
  }

  /** The full JID of the current session, once online. */
  get jid(): string | undefined {
    return this.shared.connection.fullJid;
  }

  get isOnline(): boolean {
    return this.shared.connection.isOnline;
  }

  /** Stream features of the current session (to detect roster versioning, pre-approval, ...). */
  get streamFeatures(): XmlElement | undefined {
    return this.shared.connection.features;
  }

  send(stanza: XmlElement): Promise<void> {
    return this.shared.connection.send(stanza);
  }

  /** Sends an iq and resolves with the whole reply stanza; a type="error" reply rejects with StanzaError. */
  request(stanza: XmlElement, timeoutMs?: number): Promise<XmlElement> {
    return this.shared.connection.request(stanza, timeoutMs);
  }

  /** iq get: resolves with the reply's payload element (undefined for an empty result). */
  async iqGet(payload: XmlElement, to?: string, timeoutMs?: number): Promise<XmlElement | undefined> {
    const reply = await this.request(xml("iq", { type: "get", to }, payload), timeoutMs);
    return reply.getChild(payload.name, payload.attrs.xmlns);
  }

  /** iq set: resolves with the reply's payload element (undefined for an empty result). */
  async iqSet(payload: XmlElement, to?: string, timeoutMs?: number): Promise<XmlElement | undefined> {
    const reply = await this.request(xml("iq", { type: "set", to }, payload), timeoutMs);
    return reply.getChild(payload.name, payload.attrs.xmlns);
  }

  /**
   * What the bot advertises to contacts' clients (XEP-0030 disco#info and XEP-0115 caps): a plugin
   * that answers a namespace says so with `ctx.disco.addFeature(ns)`; removed when the plugin stops.
   */
  get disco(): PluginDisco {
    return this.shared.entity.forPlugin((undo) => this.track(undo));
  }

  /** Every handler gets each incoming stanza of `kind`; one that throws is logged. */
  on(kind: "presence" | "message", handler: StanzaHandler): () => void {
    return this.track(this.shared.connection.router.on(kind, this.name, handler));
  }

  /** Answers incoming iq get/set for one payload (namespace + element name). */
  onIq(type: "get" | "set", ns: string, name: string, handler: IqHandler): () => void {
    return this.track(this.shared.connection.router.onIq(type, ns, name, this.name, handler));
  }

  /**
   * Each new session, before initial presence is sent; handlers run one after another in plugin
   * load order and are awaited (the roster plugin fetches the roster here, as RFC 6121 §2.2 asks).
   */
  onSession(fn: () => unknown): () => void {
    return this.lifecycle("session", fn);
  }

  /** A stream-management resume: same session, nothing to refetch. */
  onResumed(fn: () => unknown): () => void {
    return this.lifecycle("resumed", fn);
  }

  /** The connection dropped (a reconnect follows). */
  onOffline(fn: () => unknown): () => void {
    return this.lifecycle("offline", fn);
  }

  /**
   * Reopen the files this plugin keeps open (SIGHUP, e.g. from logrotate's postrotate): a log
   * renamed away must be closed and the path opened again, or lines go on into the renamed file.
   */
  onReopenFiles(fn: () => unknown): () => void {
    return this.lifecycle("reopen-files", fn);
  }

  /**
   * The config file changed (or SIGHUP) and validated: `fn` gets this plugin's new config, parsed
   * by its schema. If `fn` throws, the error is logged and the plugin should keep what it had.
   */
  onReload(fn: (config: C) => unknown): () => void {
    const entry = { owner: this.name, fn: fn as (config: unknown) => unknown };
    this.shared.reloaders.push(entry);
    return this.track(() => {
      const i = this.shared.reloaders.indexOf(entry);
      if (i !== -1) this.shared.reloaders.splice(i, 1);
    });
  }

  /**
   * Prometheus metrics with this bot's `bot` label bound, served on /metrics when `http` is
   * configured. A second bot with the same plugin shares each metric; this bot's series are removed
   * when the plugin stops.
   */
  get metrics(): PluginMetrics {
    if (!this.pluginMetrics) {
      const metrics = this.shared.metrics.forBot(this.shared.botId);
      this.track(() => metrics.dispose());
      this.pluginMetrics = metrics;
    }
    return this.pluginMetrics;
  }

  /**
   * A condition the bot needs before it is ready (shown on /readyz by `name`), checked at each
   * request on top of the host's own (a session is up). The roster plugin says "roster loaded".
   */
  readyWhen(name: string, isReady: () => boolean): () => void {
    const entry: ReadinessCheck = { owner: this.name, name, isReady };
    this.shared.readiness.push(entry);
    return this.track(() => {
      const i = this.shared.readiness.indexOf(entry);
      if (i !== -1) this.shared.readiness.splice(i, 1);
    });
  }

  /** Offers a service to plugins loaded after this one. */
  provide<K extends keyof Services & string>(name: K, value: Services[K]): void {
    const existing = this.shared.services.get(name);
    if (existing) throw new Error(`service "${name}" is already provided by plugin "${existing.owner}"`);
    this.shared.services.set(name, { owner: this.name, value });
    this.track(() => {
      this.shared.services.delete(name);
    });
  }

  /** A service provided by another plugin; name that plugin in `dependencies`. */
  use<K extends keyof Services & string>(name: K): Services[K] {
    const entry = this.shared.services.get(name);
    if (!entry) throw new Error(`plugin "${this.name}" uses service "${name}", which no loaded plugin provides`);
    return entry.value as Services[K];
  }

  /** Whether a service is available (for optional integrations). */
  has(name: keyof Services & string): boolean {
    return this.shared.services.has(name);
  }

  /** Taps a hook; the tap is named after this plugin unless options say otherwise. */
  tap<H extends AnyHook>(hook: H, fn: TapFn<H>, options: Partial<TapOptions> = {}): () => void {
    const untap = (hook.tap as (o: TapOptions, f: unknown) => () => void)({ name: this.name, ...options }, fn);
    return this.track(untap);
  }

  /**
   * A callback that throws or rejects is logged; the timer keeps running. A delay beyond what a
   * timer honours (about 24.8 days) throws rather than repeating every millisecond.
   */
  setInterval(fn: () => unknown, ms: number): () => void {
    checkTimerDelay(ms, `plugin "${this.name}": setInterval`);
    const timer = setInterval(() => this.guard(fn), ms);
    return this.track(() => clearInterval(timer));
  }

  setTimeout(fn: () => unknown, ms: number): () => void {
    checkTimerDelay(ms, `plugin "${this.name}": setTimeout`);
    const timer = setTimeout(() => this.guard(fn), ms);
    return this.track(() => clearTimeout(timer));
  }

  /** Runs `fn` when the plugin stops (in reverse order of registration). */
  onDispose(fn: Disposer): void {
    this.track(fn);
  }

  /** Undoes everything this plugin registered, newest first. Failures are logged, not thrown. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const fn of this.disposers.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        this.logger.error({ err }, "dispose step failed");
      }
    }
  }

  private lifecycle(kind: LifecycleKind, fn: () => unknown): () => void {
    const entry = { kind, owner: this.name, fn };
    this.shared.lifecycle.push(entry);
    return this.track(() => {
      const i = this.shared.lifecycle.indexOf(entry);
      if (i !== -1) this.shared.lifecycle.splice(i, 1);
    });
  }

  private guard(fn: () => unknown): void {
    try {
      const r = fn();
      if (r instanceof Promise) r.catch((err: unknown) => this.logger.error({ err }, "timer callback failed"));
    } catch (err) {
      this.logger.error({ err }, "timer callback failed");
    }
  }

  private track<D extends Disposer>(fn: D): D {
    if (this.disposed) throw new Error(`plugin "${this.name}" is already disposed`);
    this.disposers.push(fn);
    return fn;
  }
}
