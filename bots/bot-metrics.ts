/**
 * The host's own metrics for one bot: whether it has a session, how often it came back after losing
 * one, and hook taps that failed (any plugin's hooks). Roster numbers are the roster plugin's.
 */
import type { BotConnection } from "./connection.ts";
import { onTapFailure } from "./hooks.ts";
import type { MetricsRegistry } from "./metrics.ts";

export function watchBotMetrics(metrics: MetricsRegistry, bot: string, connection: BotConnection): () => void {
  const m = metrics.forBot(bot);
  m.gauge({ name: "roster_bot_connected", help: "1 while the bot has an XMPP session, else 0", collect: () => (connection.isOnline ? 1 : 0) });
  const reconnects = m.counter({ name: "roster_bot_reconnects_total", help: "Sessions re-established (new or resumed) after the connection was lost" });
  const tapFailures = m.counter<"hook" | "tap" | "reason">({
    name: "roster_bot_hook_tap_failures_total",
    help: "Hook taps that threw or timed out",
    labelNames: ["hook", "tap", "reason"],
  });
  reconnects.inc(undefined, 0); // a series from the start: increase() needs a first sample
  let sessions = 0;
  const onSession = () => {
    if (sessions++ > 0) reconnects.inc();
  };
  const onResumed = () => reconnects.inc();
  connection.on("session", onSession);
  connection.on("resumed", onResumed);
  const stopTaps = onTapFailure((f) => {
    if (f.bot === bot) tapFailures.inc({ hook: f.hook, tap: f.tap, reason: f.reason });
  });
  return () => {
    connection.off("session", onSession);
    connection.off("resumed", onResumed);
    stopTaps();
    m.dispose();
  };
}
