import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkTimerDelay, duration, formatDuration, longDuration, MAX_DURATION_MS, MAX_LONG_DURATION_MS, MAX_RATE_COUNT, MAX_TIMER_MS, parseDuration, rate } from "./units.ts";

const messages = (schema: z.ZodType, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => i.message);
};

describe("durations", () => {
  it("reads every unit", () => {
    expect(["250ms", "30s", "1.5s", "10m", "2h", "1d", " 5 s "].map(parseDuration)).toEqual([250, 30_000, 1_500, 600_000, 7_200_000, 86_400_000, 5_000]);
    expect(parseDuration("1e3s")).toBeUndefined();
  });

  it("the maximum (24d) is below what a Node timer honours", () => {
    expect(MAX_DURATION_MS).toBe(24 * 86_400_000);
    expect(MAX_DURATION_MS).toBeLessThanOrEqual(MAX_TIMER_MS);
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
  });

  it.each([["24d"], ["576h"], [MAX_DURATION_MS], [0], ["0s"]])("accepts %j", (value) => {
    expect(messages(duration(), value)).toEqual([]);
  });

  it.each([["24.001d"], ["25d"], ["30d"], ["577h"], ["40000m"], [MAX_DURATION_MS + 1], [2 ** 31], ["99999999999999999999d"]])(
    "refuses %j, saying the maximum",
    (value) => {
      expect(messages(duration(), value)).toEqual(["at most 24d (2073600000 ms): a timer cannot wait longer than about 24.8 days"]);
    },
  );

  it("still refuses negative numbers and words", () => {
    expect(messages(duration(), -1)).toHaveLength(1);
    expect(messages(duration(), "soon")).toEqual(['expected a duration like "30s", "10m" or "2h"']);
  });

  it("the JSON Schema carries the maximum for the number form", () => {
    const schema = z.toJSONSchema(duration(), { io: "input" }) as { anyOf: { type: string; maximum?: number }[] };
    expect(schema.anyOf.find((s) => s.type === "number")?.maximum).toBe(MAX_DURATION_MS);
  });
});

describe("long durations (how long a block lasts)", () => {
  it("go beyond what one timer waits, up to 3650d", () => {
    expect(longDuration().parse("7d")).toBe(7 * 86_400_000);
    expect(longDuration().parse("3650d")).toBe(MAX_LONG_DURATION_MS);
    expect(longDuration().parse("90m")).toBe(5_400_000);
    expect(longDuration().parse(30_000)).toBe(30_000);
    expect(MAX_LONG_DURATION_MS).toBeGreaterThan(MAX_TIMER_MS);
  });

  it.each([["3651d"], ["87601h"], [MAX_LONG_DURATION_MS + 1]])("refuses %j, saying the maximum", (value) => {
    expect(messages(longDuration(), value)).toEqual(["at most 3650d (ten years)"]);
  });

  it("refuses 0, negatives, milliseconds as a unit and words", () => {
    expect(messages(longDuration(), "0s")).toEqual(["a duration of 0 would end at once: give a positive duration, or leave it out"]);
    expect(messages(longDuration(), -5)).toHaveLength(1);
    expect(messages(longDuration(), "500ms")).toEqual(['expected a duration like "90m", "12h" or "7d"']);
    expect(messages(longDuration(), "a week")).toEqual(['expected a duration like "90m", "12h" or "7d"']);
  });
});

describe("formatDuration", () => {
  it("states a duration in the largest exact unit", () => {
    expect([604_800_000, 5_400_000, 3_600_000, 90_000, 1_500, 0].map(formatDuration)).toEqual(["7d", "90m", "1h", "90s", "1500ms", "0ms"]);
  });
});

describe("checkTimerDelay (delays from code)", () => {
  it("accepts 0 to 2^31-1 ms and refuses the rest with a RangeError naming the caller", () => {
    expect(() => checkTimerDelay(0, "x")).not.toThrow();
    expect(() => checkTimerDelay(MAX_TIMER_MS, "x")).not.toThrow();
    for (const bad of [MAX_TIMER_MS + 1, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => checkTimerDelay(bad, "my timer")).toThrow(RangeError);
    }
    expect(() => checkTimerDelay(30 * 86_400_000, "my timer")).toThrow("my timer: 2592000000 ms is not a delay from 0 to 2147483647 ms (about 24.8 days)");
  });
});

describe("rates", () => {
  it("reads a count per second, minute or hour", () => {
    expect(rate().parse("20/min")).toEqual({ count: 20, perMs: 60_000 });
    expect(rate().parse("5 / s")).toEqual({ count: 5, perMs: 1_000 });
    expect(rate().parse(`${MAX_RATE_COUNT}/hour`)).toEqual({ count: MAX_RATE_COUNT, perMs: 3_600_000 });
  });

  it("refuses a rate of 0, which would let nothing through", () => {
    expect(messages(rate(), "0/min")).toEqual(["a rate of 0 lets nothing through: leave the limit out, or reject by a rule"]);
  });

  it.each([[`${MAX_RATE_COUNT + 1}/s`], ["99999999999999999999999/min"]])("refuses the absurd rate %j", (value) => {
    expect(messages(rate(), value)).toEqual([`at most ${MAX_RATE_COUNT} per second, minute or hour`]);
  });

  it("refuses windows other than a second, a minute or an hour", () => {
    expect(messages(rate(), "5/day")).toEqual(['expected a rate like "20/min", "5/s" or "100/hour"']);
    expect(messages(rate(), "-5/min")).toHaveLength(1);
  });
});
