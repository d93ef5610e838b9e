/**
 * roster-bot's command line: the built-in commands (run, check, schema, help), and those of the
 * plugins the config loads. Modules a command does not need are imported only when it runs, so that
 * `--version` and `check` start fast.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { UsageError, type CommandDefinition, type CommandOption } from "./plugin.ts";
import { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from "./exit-codes.ts";
import { packageVersion } from "./version.ts";

export { EXIT_OK, EXIT_RUNTIME, EXIT_USAGE };

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

const GLOBAL_OPTIONS: Record<string, CommandOption> = {
  config: { type: "string", short: "c", value: "FILE", description: "config file (default: ./bot.config.yaml, or $ROSTER_BOT_CONFIG)" },
  bot: { type: "string", value: "ID", description: "only this bot" },
  debug: { type: "boolean", description: "print the XMPP stanza trace (auth hidden); also XMPP_DEBUG=1" },
  help: { type: "boolean", short: "h", description: "this text" },
  version: { type: "boolean", short: "V", description: "print roster-bot's version" },
};

interface Invocation {
  args: string[];
  options: Record<string, string | boolean | undefined>;
  configFile: string;
  io: Io;
}

interface Builtin extends Omit<CommandDefinition, "run"> {
  run(inv: Invocation): Promise<number>;
}

const BUILTINS: Builtin[] = [
  {
    name: "run",
    summary: "connect the bots and serve until SIGINT/SIGTERM",
    options: {
      "log-format": { type: "string", value: "pretty|json", description: "log lines (default: pretty when stdout is a terminal, else json)" },
      "log-level": { type: "string", value: "LEVEL", description: "trace, debug, info, warn, error, fatal or silent (default: $LOG_LEVEL, else the config's log.level)" },
    },
    run: async (inv) =>
      (await import("./run.ts")).run(inv.configFile, botOption(inv), debugOption(inv), inv.io, {
        format: stringOption(inv, "log-format"),
        level: stringOption(inv, "log-level"),
      }),
  },
  {
    name: "check",
    summary: "validate the config (every error with file:line:column) and exit",
    run: (inv) => check(inv.configFile, inv.io),
  },
  {
    name: "schema",
    summary: "print the JSON Schema of bot.config.yaml",
    run: async (inv) => {
      const { configJsonSchema } = await import("./config/json-schema.ts");
      inv.io.out(JSON.stringify(await configJsonSchema(), null, 2) + "\n");
      return EXIT_OK;
    },
  },
  {
    name: "help",
    usage: "[COMMAND]",
    summary: "this text, or one command's options",
    args: { min: 0, max: 1 },
    run: async (inv) => {
      const [name] = inv.args;
      if (!name) {
        inv.io.out(await globalUsage(inv.configFile));
        return EXIT_OK;
      }
      const found = BUILTINS.find((b) => b.name === name) ?? (await pluginCommands(inv.configFile)).get(name)?.definition;
      if (!found) {
        inv.io.err(`unknown command "${name}"\n\n${await globalUsage(inv.configFile)}`);
        return EXIT_USAGE;
      }
      inv.io.out(commandUsage(found));
      return EXIT_OK;
    },
  },
];

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  const name = commandName(argv);
  const configFile = path.resolve(optionValue(argv, "config", "c") || process.env.ROSTER_BOT_CONFIG || "bot.config.yaml");
  if (!name) {
    let values;
    try {
      values = parseArgs({ args: argv, strict: true, options: parseOptions({}) }).values;
    } catch (err) {
      io.err(`${(err as Error).message}\n\n${await globalUsage(configFile)}`);
      return EXIT_USAGE;
    }
    if (values.version) return printVersion(io);
    // Asked-for help goes to stdout (so it can be piped); a missing command is a usage error.
    (values.help ? io.out : io.err)(await globalUsage(configFile));
    return values.help ? EXIT_OK : EXIT_USAGE;
  }

  const builtin = BUILTINS.find((b) => b.name === name);
  let command: CommandDefinition | Builtin | undefined = builtin;
  let plugin: string | undefined;
  if (!command) {
    try {
      const found = (await pluginCommands(configFile)).get(name);
      command = found?.definition;
      plugin = found?.plugin;
    } catch (err) {
      return failure(err, configFile, io);
    }
  }
  if (!command) {
    io.err(`unknown command "${name}"\n\n${await globalUsage(configFile)}`);
    return EXIT_USAGE;
  }

  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: parseOptions(command) });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${commandUsage(command)}`);
    return EXIT_USAGE;
  }
  if (parsed.values.version) return printVersion(io);
  if (parsed.values.help) {
    io.out(commandUsage(command));
    return EXIT_OK;
  }
  const args = parsed.positionals.slice(1);
  const { min, max } = command.args ?? { min: 0, max: 0 };
  if (args.length < min || args.length > max) {
    const problem = args.length > max ? `unexpected argument "${args[max]}"` : `missing ${command.usage ?? "argument"}`;
    io.err(`${name}: ${problem}\n\n${commandUsage(command)}`);
    return EXIT_USAGE;
  }
  const options = parsed.values as Record<string, string | boolean | undefined>;
  try {
    if (builtin) return await builtin.run({ args, options, configFile, io });
    const { commandContext } = await import("./plugin-commands.ts");
    const context = commandContext({ plugin: plugin!, args, options, configFile, botId: botOption({ options }), debug: debugOption({ options }), out: io.out, err: io.err });
    return await (command as CommandDefinition).run(context);
  } catch (err) {
    // By name too: a plugin installed with its own copy of roster-bot throws that copy's UsageError.
    if (err instanceof UsageError || (err as Error | undefined)?.name === "UsageError") {
      io.err(`${name}: ${(err as Error).message}\n\n${commandUsage(command)}`);
      return EXIT_USAGE;
    }
    return failure(err, configFile, io);
  }
}

function printVersion(io: Io): number {
  io.out(`roster-bot ${packageVersion()}\n`);
  return EXIT_OK;
}

async function failure(err: unknown, configFile: string, io: Io): Promise<number> {
  const { ConfigError } = await import("./config/source.ts");
  if (err instanceof ConfigError) {
    io.err(`${err.message}\n${err.issues.length} problem(s) in ${configFile}\n`);
    return EXIT_USAGE;
  }
  io.err(`roster-bot: ${(err as Error).message}\n`);
  return EXIT_RUNTIME;
}

function botOption(inv: { options: Record<string, string | boolean | undefined> }): string | undefined {
  return stringOption(inv, "bot");
}

function stringOption(inv: { options: Record<string, string | boolean | undefined> }, name: string): string | undefined {
  const value = inv.options[name];
  return typeof value === "string" ? value : undefined;
}

function debugOption(inv: { options: Record<string, string | boolean | undefined> }): boolean {
  return Boolean(inv.options.debug) || truthy(process.env.XMPP_DEBUG);
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

/** The first argument that is neither an option nor the value of a global option that takes one. */
function commandName(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return argv[i + 1];
    if (!a.startsWith("-")) return a;
    if (a === "--config" || a === "-c" || a === "--bot") i++;
  }
  return undefined;
}

function optionValue(argv: string[], long: string, short: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === `--${long}` || a === `-${short}`) return argv[i + 1];
    if (a.startsWith(`--${long}=`)) return a.slice(long.length + 3);
  }
  return undefined;
}

function parseOptions(command: Pick<CommandDefinition, "options">) {
  const all = { ...GLOBAL_OPTIONS, ...command.options };
  return Object.fromEntries(Object.entries(all).map(([k, o]) => [k, o.short ? { type: o.type, short: o.short } : { type: o.type }]));
}

async function pluginCommands(configFile: string) {
  const { discoverCommands } = await import("./plugin-commands.ts");
  return discoverCommands(configFile, BUILTINS.map((b) => b.name));
}

async function check(configFile: string, io: Io): Promise<number> {
  const { prepareConfig } = await import("./prepare.ts");
  const prepared = await prepareConfig(configFile, { secrets: true });
  const { formatIssues } = await import("./config/source.ts");
  for (const warning of prepared.host.warnings) io.err(`warning: ${formatIssues([warning])}\n`);
  for (const { bot, plugins } of prepared.bots) {
    io.out(`bot ${bot.id} (${bot.jid}): plugins ${plugins.map((p) => p.definition.name).join(", ") || "(none)"}\n`);
  }
  io.out(`${configFile}: ok\n`);
  return EXIT_OK;
}

function optionLines(options: Record<string, CommandOption>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ""}--${name}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
    return [flag, o.description] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`);
}

function commandRows(commands: { name: string; usage?: string; summary: string; plugin?: string }[]): string[] {
  const heads = commands.map((c) => `${c.name}${c.usage ? ` ${c.usage}` : ""}`);
  const width = Math.max(...heads.map((h) => h.length));
  return commands.map((c, i) => `  ${heads[i]!.padEnd(width)}  ${c.summary}${c.plugin ? ` [${c.plugin}]` : ""}`);
}

async function globalUsage(configFile: string): Promise<string> {
  const rows: { name: string; usage?: string; summary: string; plugin?: string }[] = [...BUILTINS];
  let note = "";
  try {
    for (const [, c] of await pluginCommands(configFile)) rows.push({ ...c.definition, plugin: c.plugin });
  } catch (err) {
    const reason = (err as Error).message.split("\n")[0]!.replace(/^.*?:\d+:\d+: /, "");
    note = `\nPlugins' commands are listed when the config can be read (${configFile}: ${reason}).\n`;
  }
  return [
    "Usage: roster-bot <command> [options]",
    "",
    "Commands:",
    ...commandRows(rows),
    "",
    "Options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "`roster-bot help COMMAND` (or COMMAND --help) shows a command's own options.",
    "",
  ].join("\n") + note;
}

function commandUsage(command: Pick<CommandDefinition, "name" | "usage" | "summary" | "description" | "options">): string {
  const lines = [`Usage: roster-bot ${command.name}${command.usage ? ` ${command.usage}` : ""} [options]`, "", command.summary];
  if (command.description) lines.push("", command.description);
  lines.push("", "Options:", ...optionLines({ ...command.options, ...GLOBAL_OPTIONS }), "");
  return lines.join("\n");
}
