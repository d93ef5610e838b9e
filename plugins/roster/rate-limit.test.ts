import { describe, expect, it } from "vitest";
import { SubscriptionRateLimiter } from "./rate-limit.ts";

const perMin = (count: number) => ({ count, perMs: 60_000 });

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("SubscriptionRateLimiter", () => {
  it("allows a full bucket at once, then refills at the rate", () => {
    const t = clock();
    const limiter = new SubscriptionRateLimiter({ perDomain: perMin(3) }, t.now);
    expect([1, 2, 3, 4].map(() => limiter.check("x.test").allowed)).toEqual([true, true, true, false]);
    t.advance(19_999); // just under one token (60 s / 3)
    expect(limiter.check("x.test")).toEqual({ allowed: false, limit: "perDomain" });
    t.advance(1);
    expect(limiter.check("x.test").allowed).toBe(true);
    t.advance(10 * 60_000); // a long quiet time refills only up to the bucket's size
    expect([1, 2, 3, 4].map(() => limiter.check("x.test").allowed)).toEqual([true, true, true, false]);
  });

  it("keeps one bucket per domain and one in total", () => {
    const t = clock();
    const limiter = new SubscriptionRateLimiter({ perDomain: perMin(2), total: perMin(5) }, t.now);
    const seen = ["a", "a", "a", "b", "b", "c", "c", "d"].map((d) => {
      const v = limiter.check(`${d}.test`);
      return v.allowed ? "ok" : v.limit;
    });
    expect(seen).toEqual(["ok", "ok", "perDomain", "ok", "ok", "ok", "total", "total"]);
  });

  it("tracks at most maxDomains domains, dropping the least recently seen", () => {
    const t = clock();
    const limiter = new SubscriptionRateLimiter({ perDomain: perMin(1) }, t.now, 3);
    for (const d of ["a", "b", "c"]) expect(limiter.check(`${d}.test`).allowed).toBe(true);
    expect(limiter.check("a.test").allowed).toBe(false); // a is now the most recent
    expect(limiter.check("d.test").allowed).toBe(true); // evicts b, the least recent
    expect(limiter.trackedDomains).toBe(3);
    expect(limiter.check("a.test").allowed).toBe(false); // still tracked: still limited
    expect(limiter.check("b.test").allowed).toBe(true); // forgotten: a fresh bucket
  });

  it("stays bounded under a flood from 200,000 distinct domains; the total limit still caps it", () => {
    const t = clock();
    const limiter = new SubscriptionRateLimiter({ perDomain: perMin(20), total: perMin(60) }, t.now);
    let allowed = 0;
    for (let i = 0; i < 200_000; i++) {
      if (limiter.check(`d${i}.test`).allowed) allowed++;
      if (i % 20 === 19) t.advance(1); // 200,000 requests in 10 s
    }
    expect(limiter.trackedDomains).toBe(10_000);
    expect(allowed).toBe(60 + 9); // the full bucket, plus 9.999 s of refill at 60/min (9 whole tokens)
  });
});
