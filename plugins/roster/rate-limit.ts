/**
 * Token buckets for subscription requests: one per sender domain and one in total. The per-domain
 * map is bounded (oldest buckets dropped first), so a flood from many domains cannot grow memory.
 */
import type { Rate } from "../../bots/config/units.ts";

/**
 * Tokens are kept in units of 1/perMs of a token, so with whole-millisecond clocks every refill is
 * an exact integer and a limit holds to the millisecond (no floating-point drift).
 */
class Bucket {
  private scaled: number;
  private last: number;

  constructor(
    private readonly rate: Rate,
    now: number,
  ) {
    this.scaled = rate.count * rate.perMs;
    this.last = now;
  }

  take(now: number): boolean {
    const { count, perMs } = this.rate;
    this.scaled = Math.min(count * perMs, this.scaled + Math.max(0, now - this.last) * count);
    this.last = now;
    if (this.scaled < perMs) return false;
    this.scaled -= perMs;
    return true;
  }
}

export interface RateLimitVerdict {
  allowed: boolean;
  /** Which limit refused. */
  limit?: "perDomain" | "total";
}

export class SubscriptionRateLimiter {
  private readonly domains = new Map<string, Bucket>();
  private readonly total: Bucket | undefined;

  constructor(
    private readonly limits: { perDomain?: Rate; total?: Rate },
    private readonly now: () => number = Date.now,
    private readonly maxDomains = 10_000,
  ) {
    this.total = limits.total && new Bucket(limits.total, now());
  }

  check(domain: string): RateLimitVerdict {
    const now = this.now();
    if (this.limits.perDomain) {
      let bucket = this.domains.get(domain);
      if (bucket) {
        this.domains.delete(domain); // re-insert: most recently used last
      } else {
        bucket = new Bucket(this.limits.perDomain, now);
        if (this.domains.size >= this.maxDomains) this.domains.delete(this.domains.keys().next().value!);
      }
      this.domains.set(domain, bucket);
      if (!bucket.take(now)) return { allowed: false, limit: "perDomain" };
    }
    if (this.total && !this.total.take(now)) return { allowed: false, limit: "total" };
    return { allowed: true };
  }

  get trackedDomains(): number {
    return this.domains.size;
  }
}
