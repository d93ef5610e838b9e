import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/helpers/logger.ts";
import { DecideHook, DEFAULT_TAP_TIMEOUT_MS, NotifyHook, TapTimeoutError, TransformAbortedError, TransformHook } from "./hooks.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = () => new Promise<never>(() => {});

function failures(logs: ReturnType<typeof memoryLogger>["logs"]) {
  return logs.lines.filter((l) => l.level === 50).map((l) => ({ hook: l.hook, tap: l.tap, msg: l.msg, err: (l.err as { type?: string; message?: string } | undefined) }));
}

describe("tap ordering", () => {
  it("orders taps by `order`, then by registration", () => {
    const { logger } = memoryLogger();
    const hook = new NotifyHook<void>("h", logger);
    hook.tap({ name: "late", order: 10 }, () => {});
    hook.tap("first-default", () => {});
    hook.tap({ name: "early", order: -5 }, () => {});
    hook.tap({ name: "second-default", order: 0 }, () => {});
    hook.tap({ name: "late-2", order: 10 }, () => {});
    hook.tap({ name: "middle", order: 5 }, () => {});
    expect(hook.tapNames).toEqual(["early", "first-default", "second-default", "middle", "late", "late-2"]);
  });

  it("untap removes exactly that tap, and twice is harmless", async () => {
    const { logger } = memoryLogger();
    const hook = new DecideHook<number, string>("h", logger);
    const untapA = hook.tap("a", () => "a");
    hook.tap("b", () => "b");
    expect(hook.isUsed).toBe(true);
    untapA();
    untapA();
    expect(hook.tapNames).toEqual(["b"]);
    expect(await hook.decide(1)).toEqual({ value: "b", by: "b" });
  });

  it("two taps with the same name are separate taps", () => {
    const { logger } = memoryLogger();
    const hook = new NotifyHook<void>("h", logger);
    const untap = hook.tap("same", () => {});
    hook.tap("same", () => {});
    untap();
    expect(hook.tapNames).toEqual(["same"]);
  });

  it("has a default timeout", () => {
    expect(DEFAULT_TAP_TIMEOUT_MS).toBe(5_000);
  });

  it("refuses a timeout Node would run after 1 ms instead (beyond about 24.8 days)", () => {
    const { logger } = memoryLogger();
    const hook = new DecideHook<number, string>("h", logger);
    expect(() => hook.tap({ name: "slow", timeoutMs: 2 ** 31 }, () => "x")).toThrow(/hook "h": tap "slow" timeout: 2147483648 ms is not a delay/);
    expect(hook.tapNames).toEqual([]);
    expect(() => new NotifyHook<number>("n", logger, 40 * 86_400_000)).toThrow(RangeError);
  });
});

describe("NotifyHook", () => {
  it("does nothing without taps", async () => {
    const { logger } = memoryLogger();
    const hook = new NotifyHook<number>("h", logger);
    expect(hook.isUsed).toBe(false);
    await expect(hook.emit(1)).resolves.toBeUndefined();
  });

  it("runs every tap in parallel and waits for all of them", async () => {
    const { logger } = memoryLogger();
    const hook = new NotifyHook<string>("h", logger);
    const events: string[] = [];
    hook.tap("slow", async (arg) => {
      events.push(`slow start ${arg}`);
      await sleep(30);
      events.push("slow end");
    });
    hook.tap("fast", async (arg) => {
      events.push(`fast start ${arg}`);
      await sleep(5);
      events.push("fast end");
    });
    hook.tap("sync", (arg) => {
      events.push(`sync ${arg}`);
    });
    await hook.emit("x");
    // Both async taps started before either finished: parallel, not one after another.
    expect(events.slice(0, 3)).toEqual(["slow start x", "fast start x", "sync x"]);
    expect(events.slice(3)).toEqual(["fast end", "slow end"]);
  });

  it("logs a throwing tap (sync or async) and still runs the others", async () => {
    const { logger, logs } = memoryLogger();
    const hook = new NotifyHook<number>("contact-added", logger);
    const seen: string[] = [];
    hook.tap("sync-thrower", () => {
      throw new Error("sync boom");
    });
    hook.tap("async-thrower", async () => {
      await sleep(1);
      throw new Error("async boom");
    });
    hook.tap("fine", (n) => {
      seen.push(`fine ${n}`);
    });
    await expect(hook.emit(7)).resolves.toBeUndefined();
    expect(seen).toEqual(["fine 7"]);
    expect(failures(logs)).toEqual([
      {
        hook: "contact-added",
        tap: "sync-thrower",
        msg: 'hook "contact-added": tap "sync-thrower" failed (ignored)',
        err: expect.objectContaining({ message: "sync boom" }),
      },
      {
        hook: "contact-added",
        tap: "async-thrower",
        msg: 'hook "contact-added": tap "async-thrower" failed (ignored)',
        err: expect.objectContaining({ message: "async boom" }),
      },
    ]);
  });

  it("gives up on a hanging tap after its timeout, without holding up the others", async () => {
    const { logger, logs } = memoryLogger();
    const hook = new NotifyHook<void>("h", logger);
    let fine = false;
    hook.tap({ name: "hangs", timeoutMs: 30 }, never);
    hook.tap("fine", () => {
      fine = true;
    });
    const started = Date.now();
    await hook.emit();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(fine).toBe(true);
    expect(failures(logs)).toEqual([
      expect.objectContaining({ tap: "hangs", err: expect.objectContaining({ type: "TapTimeoutError", message: 'tap "hangs" did not finish within 30 ms' }) }),
    ]);
  });
});

describe("DecideHook", () => {
  it("answers undefined when there are no taps or nobody answers", async () => {
    const { logger } = memoryLogger();
    const hook = new DecideHook<number, string>("h", logger);
    expect(await hook.decide(1)).toBeUndefined();
    hook.tap("abstains", () => undefined);
    hook.tap("abstains-async", async () => undefined);
    expect(await hook.decide(1)).toBeUndefined();
  });

  it("asks taps in order and stops at the first defined answer, naming who answered", async () => {
    const { logger } = memoryLogger();
    const hook = new DecideHook<number, string>("subscription", logger);
    const asked: string[] = [];
    hook.tap({ name: "last", order: 100 }, () => {
      asked.push("last");
      return "last";
    });
    hook.tap("abstains", () => {
      asked.push("abstains");
      return undefined;
    });
    hook.tap("answers", async (n) => {
      asked.push("answers");
      return n > 0 ? "approve" : undefined;
    });
    hook.tap("after", () => {
      asked.push("after");
      return "too late";
    });
    expect(await hook.decide(1)).toEqual({ value: "approve", by: "answers" });
    expect(asked).toEqual(["abstains", "answers"]);
    asked.length = 0;
    expect(await hook.decide(0)).toEqual({ value: "too late", by: "after" });
    expect(asked).toEqual(["abstains", "answers", "after"]);
  });

  it("treats falsy but defined answers as answers", async () => {
    const { logger } = memoryLogger();
    const hook = new DecideHook<void, boolean | null | number>("h", logger);
    hook.tap("no", () => false);
    expect(await hook.decide()).toEqual({ value: false, by: "no" });
    const hook2 = new DecideHook<void, null>("h2", logger);
    hook2.tap("null", () => null);
    expect(await hook2.decide()).toEqual({ value: null, by: "null" });
  });

  it("treats a throwing tap as no answer and logs it", async () => {
    const { logger, logs } = memoryLogger();
    const hook = new DecideHook<void, string>("h", logger);
    hook.tap("throws", () => {
      throw new Error("nope");
    });
    hook.tap("rejects", () => Promise.reject(new Error("async nope")));
    hook.tap("answers", () => "yes");
    expect(await hook.decide()).toEqual({ value: "yes", by: "answers" });
    expect(failures(logs).map((f) => [f.tap, f.msg, f.err?.message])).toEqual([
      ["throws", 'hook "h": tap "throws" failed (treated as no answer)', "nope"],
      ["rejects", 'hook "h": tap "rejects" failed (treated as no answer)', "async nope"],
    ]);
  });

  it("treats a hanging tap as no answer after its timeout", async () => {
    const { logger, logs } = memoryLogger();
    const hook = new DecideHook<void, string>("h", logger);
    hook.tap({ name: "hangs", timeoutMs: 25 }, never);
    hook.tap("answers", () => "yes");
    const started = Date.now();
    expect(await hook.decide()).toEqual({ value: "yes", by: "answers" });
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(20);
    expect(took).toBeLessThan(1_000);
    expect(failures(logs)).toEqual([expect.objectContaining({ tap: "hangs", err: expect.objectContaining({ type: "TapTimeoutError" }) })]);
  });

  it("a slow answer within the timeout counts", async () => {
    const { logger } = memoryLogger();
    const hook = new DecideHook<void, string>("h", logger);
    hook.tap({ name: "slow", timeoutMs: 500 }, async () => {
      await sleep(10);
      return "slow but on time";
    });
    expect(await hook.decide()).toEqual({ value: "slow but on time", by: "slow" });
  });
});

describe("TransformHook", () => {
  it("passes the value through every tap in order (waterfall); undefined keeps the value", async () => {
    const { logger } = memoryLogger();
    const hook = new TransformHook<string[]>("h", logger);
    hook.tap({ name: "last", order: 1 }, (v) => [...v, "last"]);
    hook.tap("a", (v) => [...v, "a"]);
    hook.tap("keeps", () => undefined);
    hook.tap("b", async (v) => [...v, "b"]);
    expect(await hook.transform(["start"])).toEqual(["start", "a", "b", "last"]);
  });

  it("returns the value unchanged without taps", async () => {
    const { logger } = memoryLogger();
    const value = { x: 1 };
    expect(await new TransformHook<typeof value>("h", logger).transform(value)).toBe(value);
  });

  it("aborts with TransformAbortedError naming the tap when a tap throws; later taps do not run", async () => {
    const { logger, logs } = memoryLogger();
    const hook = new TransformHook<number>("outgoing", logger);
    let laterRan = false;
    hook.tap("double", (n) => n * 2);
    hook.tap("breaks", () => {
      throw new Error("cannot transform");
    });
    hook.tap("later", (n) => {
      laterRan = true;
      return n;
    });
    const err = await hook.transform(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransformAbortedError);
    const aborted = err as TransformAbortedError;
    expect(aborted.tap).toBe("breaks");
    expect(aborted.hook).toBe("outgoing");
    expect(aborted.message).toBe('hook "outgoing": tap "breaks" failed, transform aborted: cannot transform');
    expect((aborted.cause as Error).message).toBe("cannot transform");
    expect(laterRan).toBe(false);
    expect(failures(logs)).toEqual([expect.objectContaining({ tap: "breaks", msg: 'hook "outgoing": tap "breaks" failed (transform aborted)' })]);
  });

  it("aborts when a tap hangs past its timeout", async () => {
    const { logger } = memoryLogger();
    const hook = new TransformHook<number>("h", logger);
    hook.tap({ name: "hangs", timeoutMs: 20 }, never);
    const err = (await hook.transform(1).catch((e: unknown) => e)) as TransformAbortedError;
    expect(err).toBeInstanceOf(TransformAbortedError);
    expect(err.tap).toBe("hangs");
    expect(err.cause).toBeInstanceOf(TapTimeoutError);
    expect((err.cause as TapTimeoutError).timeoutMs).toBe(20);
  });

  it("is usable again after an abort", async () => {
    const { logger } = memoryLogger();
    const hook = new TransformHook<number>("h", logger);
    let fail = true;
    hook.tap("sometimes", (n) => {
      if (fail) throw new Error("x");
      return n + 1;
    });
    await expect(hook.transform(1)).rejects.toBeInstanceOf(TransformAbortedError);
    fail = false;
    expect(await hook.transform(1)).toBe(2);
  });
});
