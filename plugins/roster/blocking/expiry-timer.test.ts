import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_MS } from "../../../bots/config/units.ts";
import { ExpiryTimer } from "./expiry-timer.ts";

const DAY = 86_400_000;

describe("ExpiryTimer", () => {
  beforeEach(() => void vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z") }));
  afterEach(() => void vi.useRealTimers());

  it("fires at the time, not before", () => {
    const fired: number[] = [];
    const t = new ExpiryTimer(() => fired.push(Date.now()));
    t.arm(Date.now() + 5_000);
    vi.advanceTimersByTime(4_999);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([Date.parse("2026-01-01T00:00:05Z")]);
    expect(t.armed).toBe(false);
  });

  it("a time beyond what one timer waits (3650 days) is reached in steps and fires once, on time", () => {
    const fired: number[] = [];
    const t = new ExpiryTimer(() => fired.push(Date.now()));
    const at = Date.now() + 3650 * DAY;
    t.arm(at);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(fired).toEqual([]);
    expect(t.armed).toBe(true);
    vi.advanceTimersByTime(at - Date.now() - 1);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([at]);
  });

  it("a time already past fires at once; arm replaces the earlier time; undefined and stop disarm", () => {
    let fired = 0;
    const t = new ExpiryTimer(() => fired++);
    t.arm(Date.now() - DAY);
    vi.advanceTimersByTime(0);
    expect(fired).toBe(1);
    t.arm(Date.now() + 1_000);
    t.arm(Date.now() + 10_000);
    vi.advanceTimersByTime(5_000);
    expect(fired).toBe(1);
    t.arm(undefined);
    vi.advanceTimersByTime(20_000);
    expect(fired).toBe(1);
    t.arm(Date.now() + 1);
    t.stop();
    vi.advanceTimersByTime(10);
    expect(fired).toBe(1);
  });
});
