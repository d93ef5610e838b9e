/**
 * Hot reload: when the config file changes (or on SIGHUP) the whole file is validated again; if it
 * is valid, every running plugin gets its new section; if not, every error is logged with
 * file:line:column and the running config stays as it is.
 */
import type { Logger } from "pino";
import type { HostConfig } from "./config/load.ts";
import { ConfigError, formatIssues } from "./config/source.ts";
import type { Host } from "./host.ts";
import { prepareConfig } from "./prepare.ts";

/** `running`: the host settings in effect, to say which changes a reload cannot apply. */
export async function reloadHost(file: string, host: Host, logger: Logger, running?: Pick<HostConfig, "http">): Promise<boolean> {
  let prepared;
  try {
    prepared = await prepareConfig(file, { secrets: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of formatIssues(err.issues).split("\n")) logger.error({ file }, `config not reloaded: ${line}`);
    } else {
      logger.error({ file, err }, "config not reloaded");
    }
    return false;
  }
  if (running && JSON.stringify(running.http) !== JSON.stringify(prepared.host.http)) {
    logger.warn({ before: running.http?.listen, after: prepared.host.http?.listen }, "the http section changed; restart to apply it (the endpoints keep serving as before)");
  }
  for (const runtime of host.runtimes) {
    const next = prepared.bots.find((b) => b.bot.id === runtime.bot.id);
    if (!next) {
      logger.warn({ bot: runtime.bot.id }, "bot no longer in the config; restart to remove it");
      continue;
    }
    await runtime.reload(next.plugins);
  }
  return true;
}
