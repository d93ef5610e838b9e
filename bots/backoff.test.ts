import { describe, expect, it } from "vitest";
import { backoffDelay } from "./backoff.ts";

const opts = { initialDelay: 1_000, maxDelay: 60_000 };

describe("backoffDelay", () => {
  it("doubles the ceiling with each attempt (random = 1 gives the ceiling)", () => {
    const top = () => 1 - Number.EPSILON;
    expect([0, 1, 2, 3, 4, 5].map((a) => backoffDelay(a, opts, top))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000]);
  });

  it("never goes below half the ceiling (random = 0)", () => {
    const bottom = () => 0;
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, opts, bottom))).toEqual([500, 1_000, 2_000, 4_000]);
  });

  it("is capped at maxDelay, even for huge attempt numbers", () => {
    for (const attempt of [6, 7, 10, 30, 31, 100, 10_000]) {
      const d = backoffDelay(attempt, opts, () => 0.999999);
      expect(d).toBeLessThanOrEqual(60_000);
      expect(d).toBeGreaterThanOrEqual(30_000);
      expect(Number.isFinite(d)).toBe(true);
    }
    expect(backoffDelay(1_000, opts, () => 0)).toBe(30_000);
  });

  it("keeps the jitter within [ceiling/2, ceiling] for every attempt", () => {
    let seed = 12345;
    const random = () => {
      // A small deterministic LCG, so the test is reproducible.
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(60_000, 1_000 * 2 ** attempt);
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(attempt, opts, random);
        expect(d).toBeGreaterThanOrEqual(ceiling / 2);
        expect(d).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it("spreads delays (jitter) with Math.random by default", () => {
    const delays = new Set(Array.from({ length: 50 }, () => backoffDelay(5, opts)));
    expect(delays.size).toBeGreaterThan(1);
  });

  it("never shrinks from one attempt to the next (equal jitter)", () => {
    // The smallest delay of attempt n equals the largest of attempt n-1 until the cap.
    for (let a = 1; a <= 5; a++) {
      expect(backoffDelay(a, opts, () => 0)).toBeGreaterThanOrEqual(backoffDelay(a - 1, opts, () => 1));
    }
  });

  it("uses maxDelay when it is below initialDelay", () => {
    expect(backoffDelay(0, { initialDelay: 5_000, maxDelay: 2_000 }, () => 1)).toBe(2_000);
  });
});
