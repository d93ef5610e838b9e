/**
 * CLI commands contributed by plugins: found in the plugins a config loads, and run with a
 * CommandContext that resolves the target bot and connects it for one-shot work. The host knows no
 * plugin: it lists and runs whatever commands the loaded definitions carry.
 */
import { validateHost } from "./config/load.ts";
import { ConfigError, ConfigSource } from "./config/source.ts";
import { pluginDataDir } from "./context.ts";
import { prepareConfig, selectBots, type PreparedBot } from "./prepare.ts";
import { importPlugin, type LoadedPlugin } from "./plugin-loader.ts";
import { UsageError, type CommandContext, type CommandDefinition, type CommandTarget, type ConnectedBot, type PluginDefinition } from "./plugin.ts";

export interface PluginCommand {
  /** The plugin's name. */
  plugin: string;
  definition: CommandDefinition;
}

/**
 * The commands of every plugin the config names, by command name. Only the plugins are imported;
 * their config sections are not validated here (the command does that through `target()`), so a
 * config with errors still lists its commands.
 */
export async function discoverCommands(configFile: string, reserved: readonly string[]): Promise<Map<string, PluginCommand>> {
  const source = ConfigSource.read(configFile);
  const { pluginSections, issues } = validateHost(source);
  // A file whose plugins cannot even be read (broken YAML) is reported, not taken for "no commands".
  if (!pluginSections.length && issues.length) throw new ConfigError(issues);
  const keys = new Set(pluginSections.flatMap((s) => s.plugins.map((p) => p.key)));
  const commands = new Map<string, PluginCommand>();
  for (const key of keys) {
    let definition: PluginDefinition;
    try {
      definition = await importPlugin(key, source.dir);
    } catch {
      continue; // `check` and the command itself report a plugin that does not load
    }
    for (const command of definition.commands ?? []) {
      if (commands.get(command.name)?.definition === command) continue; // one plugin named by two keys
      const taken = reserved.includes(command.name) ? "roster-bot itself" : commands.get(command.name)?.plugin;
      if (taken) throw new Error(`plugin "${definition.name}" adds the command "${command.name}", which ${taken} already has`);
      commands.set(command.name, { plugin: definition.name, definition: command });
    }
  }
  return commands;
}

export interface CommandRun {
  plugin: string;
  args: string[];
  options: Record<string, string | boolean | undefined>;
  configFile: string;
  botId: string | undefined;
  debug: boolean;
  out(this: void, text: string): void;
  err(this: void, text: string): void;
}

export function commandContext(run: CommandRun): CommandContext {
  return {
    args: run.args,
    options: run.options,
    configFile: run.configFile,
    debug: run.debug,
    out: run.out,
    err: run.err,
    target: (options = {}) => resolveTarget(run, options.secrets ?? false),
  };
}

async function resolveTarget(run: CommandRun, secrets: boolean): Promise<CommandTarget> {
  // A command inspects the config: one whose behaviour checks fail (say, failing policy cases) still loads.
  const prepared = await prepareConfig(run.configFile, { secrets, forCommand: true });
  const loads = (b: PreparedBot) => b.plugins.some((p) => p.definition.name === run.plugin);
  const bots = selectBots(prepared, run.botId);
  const candidates = bots.filter(loads);
  if (run.botId && !candidates.length) throw new UsageError(`bot "${run.botId}" does not load the ${run.plugin} plugin`);
  if (!candidates.length) throw new UsageError(`no bot in ${run.configFile} loads the ${run.plugin} plugin`);
  if (candidates.length > 1) {
    throw new UsageError(`${candidates.length} bots load the ${run.plugin} plugin (${candidates.map((b) => b.bot.id).join(", ")}); choose one with --bot ID`);
  }
  const target = candidates[0]!;
  const own = target.plugins.find((p) => p.definition.name === run.plugin)!;
  const configDir = prepared.host.source.dir;
  return {
    bot: { id: target.bot.id, jid: target.bot.jid, dataDir: target.bot.dataDir },
    configDir,
    config: own.config,
    dataDir: pluginDataDir(target.bot.dataDir, run.plugin),
    connect: (options = {}) => {
      const replace = (p: LoadedPlugin) => (p === own && options.config !== undefined ? { ...p, config: options.config } : p);
      const plugins = (options.plugins === "all" ? target.plugins : withDependencies(target.plugins, own)).map(replace);
      return connectOnce(target, plugins, configDir, run.debug);
    },
  };
}

/** `plugin` and the plugins it depends on (transitively), in load order. */
function withDependencies(all: LoadedPlugin[], plugin: LoadedPlugin): LoadedPlugin[] {
  const wanted = new Set<string>();
  const visit = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dep of all.find((p) => p.definition.name === name)?.definition.dependencies ?? []) visit(dep);
  };
  visit(plugin.definition.name);
  return all.filter((p) => wanted.has(p.definition.name));
}

async function connectOnce(target: PreparedBot, plugins: LoadedPlugin[], configDir: string, debug: boolean): Promise<ConnectedBot> {
  // Loaded here, not above: a command that never connects (explain) loads no XMPP code.
  const [{ createLogger }, { BotRuntime }] = await Promise.all([import("./logger.ts"), import("./runtime.ts")]);
  // Logs go to stderr so that stdout holds only the command's answer (JSON with --json).
  const logger = createLogger(debug ? "debug" : "warn", process.stderr);
  const runtime = new BotRuntime(target.bot, plugins, { logger, configDir, debug, retryInitial: false, initialPresence: false });
  try {
    await runtime.start();
  } catch (err) {
    await runtime.stop().catch(() => {});
    throw err;
  }
  return {
    use: (name) => {
      try {
        return runtime.service(name);
      } catch {
        throw new Error(`the plugin providing "${name}" did not start for bot "${target.bot.id}" (see the log)`);
      }
    },
    stop: () => runtime.stop(),
  };
}
