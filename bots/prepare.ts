/**
 * Loads a whole config, the host part and every bot's plugins, and validates it all before any
 * connection is made. Kept apart from the runtime so that `check` and `explain` load no XMPP code.
 */
import { validateHost, type BotConfig, type HostConfig, type LoadOptions } from "./config/load.ts";
import { ConfigError, ConfigSource, type ConfigIssue } from "./config/source.ts";
import { setFileMode } from "./file-mode.ts";
import { loadBotPlugins, type LoadedPlugin } from "./plugin-loader.ts";

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
    const loaded = await loadBotPlugins(sections, source, { forCommand: options.forCommand ?? false });
    all.push(...loaded.issues);
    plugins.push(loaded.plugins);
  }
  if (!config || all.length) throw new ConfigError(all.sort((a, b) => a.line - b.line || a.column - b.column));
  setFileMode(config.fileMode); // one setting for the process: every bot's files are created with it
  return { host: config, bots: config.bots.map((bot, i) => ({ bot, plugins: plugins[i]! })) };
}

export function selectBots(prepared: PreparedConfig, id?: string): PreparedBot[] {
  if (!id) return prepared.bots;
  const found = prepared.bots.filter((b) => b.bot.id === id);
  if (!found.length) throw new Error(`no bot with id "${id}" (have: ${prepared.bots.map((b) => b.bot.id).join(", ")})`);
  return found;
}
