import { describe, expect, it } from "vitest";
import { memoryLogger } from "../../test/helpers/logger.ts";
import { OverLimitLog } from "./rate-limit-log.ts";

/** A manual timer: `tick()` runs the repeating callback once, as one interval passing would. */
function manualTimer() {
  let fn: (() => void) | undefined;
  let started = 0;
  let cancelled = 0;
  return {
    every: (f: () => void) => ((fn = f), started++, () => void ((fn = undefined), cancelled++)),
    tick: () => fn?.(),
    get running() {
      return fn !== undefined;
    },
    get started() {
      return started;
    },
    get cancelled() {
      return cancelled;
    },
  };
}

describe("OverLimitLog", () => {
  it("logs the first request at once, then one count per interval, and stops after a quiet interval", async () => {
    const { logger, logs } = memoryLogger();
    const timer = manualTimer();
    const log = new OverLimitLog(logger, timer.every, 60_000);
    log.record("spam.example", "perDomain");
    for (let i = 0; i < 9_999; i++) log.record(i % 10 === 0 ? `d${i % 7}.example` : "spam.example", i % 2 ? "total" : "perDomain");
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(logs.lines[0]).toMatchObject({ domain: "spam.example", limit: "perDomain" });

    timer.tick();
    log.record("spam.example", "total");
    timer.tick();
    timer.tick(); // a quiet interval: the episode ends
    await new Promise((r) => setTimeout(r, 20));
    const warnings = logs.lines.filter((l) => l.level === 40);
    expect(warnings).toHaveLength(3);
    expect(warnings[1]).toMatchObject({ count: 9_999, perDomain: 5_000, total: 4_999, domains: 8, msg: "9999 more subscription requests over the rate limit in the last 60 s" });
    expect(Object.keys(warnings[1]!.topDomains as object)).toHaveLength(5);
    expect((warnings[1]!.topDomains as Record<string, number>)["spam.example"]).toBe(8_999);
    expect(warnings[2]).toMatchObject({ count: 1, total: 1 });
    expect(timer.running).toBe(false);
    expect(timer.cancelled).toBe(1);

    // A new episode starts with an immediate line again.
    log.record("other.example", "total");
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines.filter((l) => l.level === 40)).toHaveLength(4);
    expect(timer.started).toBe(2);
  });

  it("counts at most 1,000 domains per interval, the rest together", async () => {
    const { logger, logs } = memoryLogger();
    const timer = manualTimer();
    const log = new OverLimitLog(logger, timer.every);
    for (let i = 0; i <= 1_500; i++) log.record(`d${i}.example`, "perDomain");
    timer.tick();
    await new Promise((r) => setTimeout(r, 20));
    expect(logs.lines.at(-1)).toMatchObject({ count: 1_500, domains: 1_000, fromFurtherDomains: 500 });
  });
});
