/**
 * roster-bot's command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { configJsonSchema } from "./config/json-schema.ts";
import { ConfigError } from "./config/source.ts";
import { Host, prepareConfig, selectBots } from "./host.ts";
import { JidError } from "./jid.ts";
import { createLogger } from "./logger.ts";
import { reloadHost, watchConfigFile } from "./reload.ts";
import { BotRuntime } from "./runtime.ts";
import type { RosterService } from "../plugins/roster/api.ts";
import type { RosterConfig } from "../plugins/roster/config.ts";
import { explainOffline, formatExplanation } from "../plugins/roster/explain.ts";
import { withoutAutoSync } from "../plugins/roster/group-sync/config.ts";
import { formatPlan, formatResult, planJson, resultJson } from "../plugins/roster/group-sync/format.ts";

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

const USAGE = `Usage: roster-bot <command> [options]

Commands:
  run      connect the bots and serve until SIGINT/SIGTERM
  check    validate the config (every error with file:line:column) and exit
  schema   print the JSON Schema of bot.config.yaml
  explain JID
           offline: which action the subscription rules give JID, and why
  plan     connect (invisibly), print the changes group sync would make and the held
           subscription requests; changes nothing
  sync     connect, apply group sync once and exit (for cron): 0 when every change was
           applied, 1 when any failed

Options:
  --config FILE   config file (default: ./bot.config.yaml, or $ROSTER_BOT_CONFIG)
  --bot ID        only this bot
  --debug         print the XMPP stanza trace (auth hidden); also XMPP_DEBUG=1
  --json          machine-readable output (explain, plan, sync)
  -h, --help      this text
`;

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        bot: { type: "string" },
        debug: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const [command] = args.positionals;
  if (args.values.help || !command) {
    // Asked-for help goes to stdout (so it can be piped); a missing command is a usage error.
    (args.values.help ? io.out : io.err)(USAGE);
    return command || args.values.help ? EXIT_OK : EXIT_USAGE;
  }
  const configFile = path.resolve(args.values.config ?? process.env.ROSTER_BOT_CONFIG ?? "bot.config.yaml");
  try {
    switch (command) {
      case "schema":
        io.out(JSON.stringify(await configJsonSchema(), null, 2) + "\n");
        return EXIT_OK;
      case "check":
        return await check(configFile, io);
      case "explain":
        return await explain(configFile, args.positionals[1], args.values.bot, Boolean(args.values.json), io);
      case "plan":
        return await groupsCommand("plan", configFile, args.values.bot, Boolean(args.values.json), Boolean(args.values.debug || truthy(process.env.XMPP_DEBUG)), io);
      case "sync":
        return await groupsCommand("sync", configFile, args.values.bot, Boolean(args.values.json), Boolean(args.values.debug || truthy(process.env.XMPP_DEBUG)), io);
      case "run":
        return await run(configFile, args.values.bot, Boolean(args.values.debug || truthy(process.env.XMPP_DEBUG)), io);
      default:
        io.err(`unknown command "${command}"\n\n${USAGE}`);
        return EXIT_USAGE;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\n${err.issues.length} problem(s) in ${configFile}\n`);
      return EXIT_USAGE;
    }
    io.err(`roster-bot: ${(err as Error).message}\n`);
    return EXIT_RUNTIME;
  }
}

function truthy(v: string | undefined): boolean {
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

async function check(configFile: string, io: Io): Promise<number> {
  const prepared = await prepareConfig(configFile, { secrets: true });
  for (const { bot, plugins } of prepared.bots) {
    io.out(`bot ${bot.id} (${bot.jid}): plugins ${plugins.map((p) => p.definition.name).join(", ") || "(none)"}\n`);
  }
  io.out(`${configFile}: ok\n`);
  return EXIT_OK;
}

async function explain(configFile: string, jid: string | undefined, botId: string | undefined, json: boolean, io: Io): Promise<number> {
  if (!jid) {
    io.err(`explain needs a JID\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const prepared = await prepareConfig(configFile);
  const [target] = selectBots(prepared, botId);
  const roster = target!.plugins.find((p) => p.definition.name === "roster");
  if (!roster) {
    io.err(`bot "${target!.bot.id}" does not load the roster plugin\n`);
    return EXIT_USAGE;
  }
  let result;
  try {
    result = explainOffline(roster.config as RosterConfig, prepared.host.source.dir, jid);
  } catch (err) {
    if (err instanceof JidError) {
      io.err(`"${jid}" is not a valid JID: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (json) {
    const { jid: j, action, decidedBy, rule, reason, needsRoster } = result;
    io.out(JSON.stringify({ jid: j, action, decidedBy, rule: rule ?? null, reason, needsRoster }) + "\n");
  } else {
    io.out(formatExplanation(result));
  }
  return EXIT_OK;
}

/** How long `plan` and `sync` wait for the roster after connecting. */
const ROSTER_WAIT_MS = 60_000;

/**
 * `plan` and `sync`: one bot, connected without initial presence (no subscription requests are
 * delivered, contacts do not see it come online) and with group sync's automatic triggers off
 * (`groups.auto: false` is set in the roster plugin's config for this run), so nothing is synced
 * except what the command asks. `plan` loads only the roster plugin, so no other plugin acts;
 * `sync` loads them all, so that their beforeGroupSync / afterGroupSync taps take part.
 */
async function groupsCommand(command: "plan" | "sync", configFile: string, botId: string | undefined, json: boolean, debug: boolean, io: Io): Promise<number> {
  const prepared = await prepareConfig(configFile, { secrets: true });
  const bots = selectBots(prepared, botId);
  if (bots.length !== 1) {
    io.err(`the config has ${bots.length} bots (${bots.map((b) => b.bot.id).join(", ")}); choose one with --bot ID\n`);
    return EXIT_USAGE;
  }
  const target = bots[0]!;
  const rosterPlugin = target.plugins.find((p) => p.definition.name === "roster");
  if (!rosterPlugin) {
    io.err(`bot "${target.bot.id}" does not load the roster plugin\n`);
    return EXIT_USAGE;
  }
  const plugins = (command === "plan" ? [rosterPlugin] : target.plugins).map((p) =>
    p === rosterPlugin ? { ...p, config: withoutAutoSync(p.config as RosterConfig) } : p,
  );
  // Logs go to stderr so that stdout holds only the answer (JSON with --json).
  const logger = createLogger(debug ? "debug" : "warn", process.stderr);
  const runtime = new BotRuntime(target.bot, plugins, {
    logger,
    configDir: prepared.host.source.dir,
    debug,
    retryInitial: false,
    initialPresence: false,
  });
  try {
    await runtime.start();
    let roster: RosterService;
    try {
      roster = runtime.service("roster");
    } catch {
      io.err(`roster-bot: the roster plugin of bot "${target.bot.id}" did not start (see the log)\n`);
      return EXIT_RUNTIME;
    }
    let timer: NodeJS.Timeout | undefined;
    const loaded = await Promise.race([
      roster.whenLoaded().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ROSTER_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!loaded) {
      io.err(`roster-bot: the roster of ${target.bot.jid} did not load within ${ROSTER_WAIT_MS / 1000} s\n`);
      return EXIT_RUNTIME;
    }
    if (command === "plan") {
      const plan = roster.groups.plan();
      const pending = roster.subscriptions.pending();
      io.out(json ? JSON.stringify(planJson(plan, pending)) + "\n" : formatPlan(plan, pending));
      return EXIT_OK;
    }
    let result;
    try {
      result = await roster.groups.sync("manual");
    } catch (err) {
      io.err(`roster-bot: group sync aborted, nothing applied: ${(err as Error).message}\n`);
      return EXIT_RUNTIME;
    }
    io.out(json ? JSON.stringify(resultJson(result)) + "\n" : formatResult(result));
    return result.failed.length > 0 ? EXIT_RUNTIME : EXIT_OK;
  } finally {
    await runtime.stop();
  }
}

async function run(configFile: string, botId: string | undefined, debug: boolean, io: Io): Promise<number> {
  const prepared = await prepareConfig(configFile, { secrets: true });
  const logger = createLogger(prepared.host.logLevel);
  const host = new Host(selectBots(prepared, botId), logger, { configDir: prepared.host.source.dir, debug, retryInitial: true });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ signal }, "shutting down");
      await host.stop();
    })();
    return stopping;
  };
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => void stop(signal).then(() => resolve(EXIT_OK)));
    }
  });

  const { started } = await host.start();
  if (stopping) return done; // a signal arrived while connecting
  if (!started.length) {
    io.err("roster-bot: no bot could start\n");
    await stop("startup-failure");
    return EXIT_RUNTIME;
  }
  // A bot whose credentials stop working is not retried; when no bot is left, exit 1 (so a
  // supervisor notices) rather than idle.
  let alive = started.length;
  for (const r of started) {
    r.on("fatal", (err) => {
      logger.error({ bot: r.bot.id, err: err.message }, "bot stopped after a permanent failure");
      if (--alive === 0) void stop("no bot left").then(() => finish(EXIT_RUNTIME));
    });
  }
  // Reloads run one at a time; a change during a reload triggers one more afterwards.
  let reloading = Promise.resolve();
  const reload = (why: string) => {
    logger.info({ why }, "reloading config");
    reloading = reloading.then(() => reloadHost(configFile, host, logger).then(() => undefined));
  };
  const unwatch = watchConfigFile(configFile, () => reload("file changed"));
  const onHup = () => reload("SIGHUP");
  process.on("SIGHUP", onHup);
  const code = await done;
  unwatch();
  process.off("SIGHUP", onHup);
  return code;
}
