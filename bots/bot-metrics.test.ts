import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/helpers/logger.ts";
import { watchBotMetrics } from "./bot-metrics.ts";
import type { BotConnection } from "./connection.ts";
import { DecideHook, NotifyHook } from "./hooks.ts";
import { MetricsRegistry } from "./metrics.ts";

class FakeConnection extends EventEmitter {
  isOnline = false;
}

async function sample(metrics: MetricsRegistry, line: string): Promise<number | undefined> {
  const found = (await metrics.scrape()).split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe("the host's metrics for a bot", () => {
  it("reports connected 1/0 and counts sessions re-established after the first", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const connection = new FakeConnection();
    const stop = watchBotMetrics(metrics, "main", connection as unknown as BotConnection);
    expect(await sample(metrics, 'roster_bot_connected{bot="main"}')).toBe(0);
    connection.isOnline = true;
    connection.emit("session"); // the first session is no reconnect
    expect(await sample(metrics, 'roster_bot_connected{bot="main"}')).toBe(1);
    expect(await sample(metrics, 'roster_bot_reconnects_total{bot="main"}')).toBe(0);
    connection.emit("session");
    connection.emit("resumed");
    expect(await sample(metrics, 'roster_bot_reconnects_total{bot="main"}')).toBe(2);
    stop();
    expect(await metrics.scrape()).not.toMatch(/roster_bot_(connected|reconnects_total)\{/);
  });

  it("counts this bot's hook tap failures by hook, tap and reason", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const stopMain = watchBotMetrics(metrics, "main", new FakeConnection() as unknown as BotConnection);
    const stopOther = watchBotMetrics(metrics, "other", new FakeConnection() as unknown as BotConnection);
    const { logger } = memoryLogger();
    const decide = new DecideHook<number, string>("p.decide", logger.child({ bot: "main", plugin: "p" }));
    decide.tap("thrower", () => {
      throw new Error("boom");
    });
    decide.tap({ name: "slow", timeoutMs: 10 }, () => new Promise<string>(() => {}));
    await decide.decide(1);
    await decide.decide(2);
    const notify = new NotifyHook<number>("p.notify", logger.child({ bot: "other" }));
    notify.tap("thrower", () => {
      throw new Error("boom");
    });
    await notify.emit(1);
    expect(await sample(metrics, 'roster_bot_hook_tap_failures_total{bot="main",hook="p.decide",tap="thrower",reason="error"}')).toBe(2);
    expect(await sample(metrics, 'roster_bot_hook_tap_failures_total{bot="main",hook="p.decide",tap="slow",reason="timeout"}')).toBe(2);
    expect(await sample(metrics, 'roster_bot_hook_tap_failures_total{bot="other",hook="p.notify",tap="thrower",reason="error"}')).toBe(1);
    stopMain();
    stopOther();
    await decide.decide(3); // no longer counted (and nothing throws)
    expect(await metrics.scrape()).not.toContain("roster_bot_hook_tap_failures_total{");
  });
});
