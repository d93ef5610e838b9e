/**
 * Runs several bots in one process. Each bot has its own plugin instances; one bot failing (bad
 * password, server down) is reported and does not stop the others.
 */
import type { Logger } from "pino";
import { MetricsRegistry } from "./metrics.ts";
import type { PreparedBot } from "./prepare.ts";
import { BotRuntime, type BotReadiness, type RuntimeOptions } from "./runtime.ts";

export class Host {
  readonly runtimes: BotRuntime[];
  /** stop() was called: a start it cut short is not a failure to report. */
  private stopping = false;

  constructor(
    bots: PreparedBot[],
    private readonly logger: Logger,
    options: Omit<RuntimeOptions, "logger">,
  ) {
    // One registry for all bots even when nothing serves it: a private one per bot would cost each of many bots its own.
    const metrics = options.metrics ?? new MetricsRegistry({ defaultMetrics: false });
    this.runtimes = bots.map((b) => new BotRuntime(b.bot, b.plugins, { ...options, metrics, logger }));
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
        if (this.stopping) this.logger.info({ bot: runtime.bot.id }, `bot "${runtime.bot.id}" stopped before it connected`);
        else this.logger.error({ bot: runtime.bot.id, err: error.message }, `bot "${runtime.bot.id}" could not start: ${error.message}`);
        await runtime.stop().catch(() => {});
      }
    }
    return { started, failed };
  }

  /** SIGHUP: every bot's plugins reopen the files they keep open (logs rotated away). */
  async reopenFiles(): Promise<void> {
    await Promise.all(this.runtimes.map((r) => r.reopenFiles()));
  }

  /** Each bot's readiness, by id (for /readyz). */
  readiness(): Record<string, BotReadiness> {
    return Object.fromEntries(this.runtimes.map((r) => [r.bot.id, r.readiness()]));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.runtimes.map((r) => r.stop().catch((err) => this.logger.error({ err }, "stop failed"))));
  }
}
