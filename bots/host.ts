/**
 * Loads a whole config (host part and every bot's plugins) and runs several bots in one process.
 * Each bot has its own plugin instances; one bot failing (bad password, server down) is reported
 * and does not stop the others.
 */
import type { Logger } from "pino";
import { validateHost, type BotConfig, type HostConfig, type LoadOptions } from "./config/load.ts";
import { ConfigError, ConfigSource, type ConfigIssue } from "./config/source.ts";
import { loadBotPlugins, type LoadedPlugin } from "./plugin-loader.ts";
import { BotRuntime, type RuntimeOptions } from "./runtime.ts";

export interface PreparedBot {
  bot: BotConfig;
  plugins: LoadedPlugin[];
}

export interface PreparedConfig {
  host: HostConfig;
  bots: PreparedBot[];
}

/** Validates everything a run needs, collecting every issue before throwing one ConfigError. */
export async function prepareConfig(file: string, options: LoadOptions = {}): Promise<PreparedConfig> {
  const source = ConfigSource.read(file);
  const { config, issues, pluginSections } = validateHost(source, options);
  const all: ConfigIssue[] = [...issues];
  const plugins: LoadedPlugin[][] = [];
  // Plugin sections are checked even when the host part has issues, so that every problem in the
  // file is reported at once.
  for (const sections of pluginSections) {
    const loaded = await loadBotPlugins(sections, source);
    all.push(...loaded.issues);
    plugins.push(loaded.plugins);
  }
  if (!config || all.length) throw new ConfigError(all.sort((a, b) => a.line - b.line || a.column - b.column));
  return { host: config, bots: config.bots.map((bot, i) => ({ bot, plugins: plugins[i]! })) };
}

export function selectBots(prepared: PreparedConfig, id?: string): PreparedBot[] {
  if (!id) return prepared.bots;
  const found = prepared.bots.filter((b) => b.bot.id === id);
  if (!found.length) throw new Error(`no bot with id "${id}" (have: ${prepared.bots.map((b) => b.bot.id).join(", ")})`);
  return found;
}

export class Host {
  readonly runtimes: BotRuntime[];

  constructor(
    bots: PreparedBot[],
    private readonly logger: Logger,
    options: Omit<RuntimeOptions, "logger">,
  ) {
    this.runtimes = bots.map((b) => new BotRuntime(b.bot, b.plugins, { ...options, logger }));
  }

  /** Starts every bot; resolves with those that came up. A bot that fails is logged and stopped. */
  async start(): Promise<{ started: BotRuntime[]; failed: { runtime: BotRuntime; error: Error }[] }> {
    const results = await Promise.allSettled(this.runtimes.map((r) => r.start()));
    const started: BotRuntime[] = [];
    const failed: { runtime: BotRuntime; error: Error }[] = [];
    for (const [i, result] of results.entries()) {
      const runtime = this.runtimes[i]!;
      if (result.status === "fulfilled") {
        started.push(runtime);
      } else {
        const error = result.reason as Error;
        failed.push({ runtime, error });
        this.logger.error({ bot: runtime.bot.id, err: error.message }, `bot "${runtime.bot.id}" could not start: ${error.message}`);
        await runtime.stop().catch(() => {});
      }
    }
    return { started, failed };
  }

  async stop(): Promise<void> {
    await Promise.all(this.runtimes.map((r) => r.stop().catch((err) => this.logger.error({ err }, "stop failed"))));
  }
}
