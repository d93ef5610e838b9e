/** The plugin contract (the Koishi shape) and the CLI commands a plugin can add. */
import type { z } from "zod";
import type { PluginContext } from "./context.ts";

/**
 * Services plugins provide to each other, by name. A plugin that provides one declares it by
 * declaration merging, so that `ctx.use(name)` is typed (as the roster plugin does in api.ts):
 *
 *   declare module "roster-bot" { interface Services { journal: JournalService } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Services {}

export interface PluginConfigIssue {
  path: (string | number)[];
  message: string;
}

/** What a plugin's `check` is told about the load. */
export interface CheckEnv {
  /** The config file's folder (relative paths in a config are relative to it). */
  configDir: string;
  /**
   * The config is loaded by a plugin command (explain, plan, ...) to inspect or act on it, not to run
   * it: checks that judge what the config would do (rather than whether it can be read) are skipped,
   * so that the command can show what is wrong. Absent: false.
   */
  forCommand?: boolean;
}

export interface PluginDefinition<S extends z.ZodType = z.ZodType> {
  /** Unique within a bot; other plugins name it in `dependencies`. */
  name: string;
  /** Plugins that must be loaded (and applied) first. */
  dependencies?: readonly string[];
  /** Schema of this plugin's section in bot.config.yaml; its errors are reported with positions. */
  config?: S;
  /**
   * Checks the schema cannot express (files that must exist, patterns that must compile). Paths are
   * relative to the plugin's config section; each issue is reported with file, line and column.
   */
  check?(config: z.output<S>, env: CheckEnv): PluginConfigIssue[];
  /** Sets the plugin up. May be async; a throw disables this plugin (and those that depend on it) only. */
  apply(ctx: PluginContext<z.output<S>>, config: z.output<S>): void | Promise<void>;
  /** CLI commands this plugin adds to `roster-bot`. */
  commands?: readonly CommandDefinition<z.output<S>>[];
}

export function definePlugin<S extends z.ZodType = z.ZodType<Record<string, never>>>(
  definition: PluginDefinition<S>,
): PluginDefinition<S> {
  return definition;
}

/** An option of a plugin's CLI command (`--json`, `--limit N`), parsed with node:util's parseArgs. */
export interface CommandOption {
  type: "boolean" | "string";
  short?: string;
  /** One line for `roster-bot help COMMAND`. */
  description: string;
  /** What a string option's value is called in help, e.g. "N" (default "VALUE"). */
  value?: string;
}

/**
 * A CLI command a plugin adds to `roster-bot`, listed in `roster-bot --help` when the config loads
 * the plugin. Global options (--config, --bot, --debug) are parsed for it.
 */
export interface CommandDefinition<C = unknown> {
  /** Lower-case word; must not clash with another command. */
  name: string;
  /** Positional arguments as shown in help, e.g. "JID". */
  usage?: string;
  /** One line for `--help`. */
  summary: string;
  /** More text for `roster-bot help NAME`. */
  description?: string;
  options?: Record<string, CommandOption>;
  /** How many positional arguments it takes (default: none). More or fewer is a usage error (exit 2). */
  args?: { min: number; max: number };
  /** Runs the command; resolves with the exit code (0 ok, 1 runtime failure, 2 bad usage). */
  run(command: CommandContext<C>): number | Promise<number>;
}

/** What a command's `run` gets. */
export interface CommandContext<C = unknown> {
  /** Positional arguments after the command name. */
  readonly args: readonly string[];
  /** The command's own options, by name. */
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  /** The config file in use (absolute). */
  readonly configFile: string;
  /** --debug or XMPP_DEBUG: print the stanza trace when connecting. */
  readonly debug: boolean;
  /** Writes to stdout (the answer) and stderr (diagnostics). */
  out(this: void, text: string): void;
  err(this: void, text: string): void;
  /**
   * The bot the command acts on: `--bot ID`, or the only bot that loads this plugin (a usage error
   * otherwise), with this plugin's validated config. `secrets: true` resolves the password (needed
   * to connect; a missing one is a config error).
   */
  target(options?: { secrets?: boolean }): Promise<CommandTarget<C>>;
}

export interface CommandTarget<C = unknown> {
  /** The bot; `dataDir` is its own data folder (where the roster plugin keeps `audit.log`). */
  readonly bot: { readonly id: string; readonly jid: string; readonly dataDir: string };
  /** The config file's folder (relative paths in a config are relative to it). */
  readonly configDir: string;
  /** This plugin's section for the bot, after its schema. */
  readonly config: C;
  /** This plugin's data folder for the bot: the same folder as `ctx.dataDir` at run time (not created here). */
  readonly dataDir: string;
  /**
   * Connects the bot for a one-shot command: no initial presence (so no subscription request is
   * delivered and contacts do not see it online) and no retry of a failed connection. Starts this
   * plugin and its dependencies (`"self"`, default) or every plugin of the bot (`"all"`), with this
   * plugin's config replaced by `config` when given. Call `stop()` when done.
   */
  connect(options?: { plugins?: "self" | "all"; config?: C }): Promise<ConnectedBot>;
}

export interface ConnectedBot {
  /** A service a started plugin provides; throws if that plugin did not start. */
  use<K extends keyof Services & string>(name: K): Services[K];
  stop(): Promise<void>;
}

/** Thrown by a command for bad usage: the message and the command's usage are printed, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as PluginDefinition).name === "string" &&
    typeof (value as PluginDefinition).apply === "function"
  );
}
