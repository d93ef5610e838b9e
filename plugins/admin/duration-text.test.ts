import { describe, expect, it } from "vitest";
import { formatDuration, MAX_BLOCK_MS, parseBlockDuration, span } from "./duration-text.ts";

describe("block durations", () => {
  it("reads s/m/h/d (and decimals) between 1s and 3650d", () => {
    expect(parseBlockDuration("30m")).toEqual({ ms: 1_800_000 });
    expect(parseBlockDuration("7d")).toEqual({ ms: 604_800_000 });
    expect(parseBlockDuration("1.5h")).toEqual({ ms: 5_400_000 });
    expect(parseBlockDuration("2s")).toEqual({ ms: 2_000 });
    expect(parseBlockDuration("3650d")).toEqual({ ms: MAX_BLOCK_MS });
    expect(parseBlockDuration("3651d")).toEqual({ error: "a block lasts at most 3650d" });
    expect(parseBlockDuration("0s")).toEqual({ error: "a block lasts at least 1s" });
    expect(parseBlockDuration("500ms")).toEqual({ error: "a block lasts at least 1s" });
    expect(parseBlockDuration("soon")).toEqual({ error: '"soon" is not a duration like 30m, 12h or 7d' });
    expect(parseBlockDuration("7w")).toHaveProperty("error");
  });

  it("formats a duration in its shortest exact unit", () => {
    expect(formatDuration(604_800_000)).toBe("7d");
    expect(formatDuration(5_400_000)).toBe("90m");
    expect(formatDuration(2_000)).toBe("2s");
    expect(formatDuration(1_500)).toBe("1500ms");
  });

  it("gives a span in its two largest units, rounded to the second and then down", () => {
    expect(span(604_800_000 - 3_600_000 - 1)).toBe("6d 23h");
    expect(span(604_800_000 - 3_600_000 - 1_000)).toBe("6d 22h");
    expect(span(604_800_000 - 7)).toBe("7d");
    expect(span(3 * 3_600_000 + 5 * 60_000 + 59_000)).toBe("3h 5m");
    expect(span(86_400_000)).toBe("1d");
    expect(span(45_400)).toBe("45s");
    expect(span(999)).toBe("1s");
    expect(span(499)).toBe("0s");
    expect(span(-5)).toBe("0s");
  });
});
