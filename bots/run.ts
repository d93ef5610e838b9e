/**
 * `roster-bot run`: the bots as a service. Reloads the config on change or SIGHUP; SIGINT/SIGTERM
 * stop the plugins in reverse order and exit 0; exits 1 when no bot is left running.
 */
import { EXIT_OK, EXIT_RUNTIME } from "./exit-codes.ts";
import { watchFile } from "./file-watch.ts";
import { Host } from "./host.ts";
import { HttpListenError, startHttpServer, type RunningHttpServer } from "./http-server.ts";
import { chooseLogOptions } from "./log-options.ts";
import { createOutputLogger, type Logger } from "./logger.ts";
import { MetricsRegistry } from "./metrics.ts";
import { prepareConfig, selectBots, type PreparedConfig } from "./prepare.ts";
import { reloadHost } from "./reload.ts";

export async function run(
  configFile: string,
  botId: string | undefined,
  debug: boolean,
  io: { err: (s: string) => void },
  log: { format?: string; level?: string } = {},
): Promise<number> {
  const prepared = await prepareConfig(configFile, { secrets: true });
  const { format, level } = chooseLogOptions({ ...log, envLevel: process.env.LOG_LEVEL, configLevel: prepared.host.logLevel, isTTY: Boolean(process.stdout.isTTY) });
  const output = await createOutputLogger(level, format);
  try {
    return await serve(configFile, prepared, botId, debug, io, output.logger);
  } finally {
    await output.drain();
  }
}

async function serve(configFile: string, prepared: PreparedConfig, botId: string | undefined, debug: boolean, io: { err: (s: string) => void }, logger: Logger): Promise<number> {
  for (const w of prepared.host.warnings) logger.warn({ file: w.file, line: w.line, column: w.column }, w.message);
  const { http: httpConfig } = prepared.host;
  const metrics = httpConfig ? new MetricsRegistry() : undefined;
  const host = new Host(selectBots(prepared, botId), logger, { configDir: prepared.host.source.dir, debug, retryInitial: true, metrics });
  let httpServer: RunningHttpServer | undefined;
  if (httpConfig && metrics) {
    try {
      // Before the bots connect: /healthz answers and /readyz says 503 while they do.
      httpServer = await startHttpServer(httpConfig.listen, { metrics, readiness: () => host.readiness() });
    } catch (err) {
      if (!(err instanceof HttpListenError)) throw err;
      io.err(`roster-bot: ${err.message}\n`);
      return EXIT_RUNTIME;
    }
    logger.info({ listen: httpConfig.listen }, "serving /metrics, /healthz and /readyz");
  }

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ signal }, "shutting down");
      await host.stop();
      await httpServer?.close();
    })();
    return stopping;
  };
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => {
    finish = resolve;
    // `on`, not `once`: a second signal (Ctrl-C reaches both npm and the bot, and npm forwards its
    // own) must not meet the default handler, which would end the process with 128 + signal.
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => void stop(signal).then(() => resolve(EXIT_OK)));
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
    reloading = reloading.then(() => reloadHost(configFile, host, logger, prepared.host).then(() => undefined));
  };
  const unwatch = watchFile(configFile, () => reload("file changed"), { debounceMs: 300, logger });
  const onHup = () => {
    void host.reopenFiles(); // logrotate's postrotate: logs renamed away are reopened at their path
    reload("SIGHUP");
  };
  process.on("SIGHUP", onHup);
  const code = await done;
  unwatch();
  process.off("SIGHUP", onHup);
  return code;
}
