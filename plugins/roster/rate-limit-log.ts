/**
 * Logs subscription requests over a rate limit as a summary, since a flood of 20,000 would bury the
 * log (audit.log keeps each): the first at once, then a count with the busiest sender domains once
 * per interval while it lasts; a quiet interval ends the episode.
 */
import type { Logger } from "../../bots/logger.ts";

type Limit = "perDomain" | "total";

/** How many sender domains are counted per interval before the rest go into "other domains". */
const MAX_DOMAINS = 1_000;
const TOP_DOMAINS = 5;

export class OverLimitLog {
  private episode = false;
  private count = 0;
  private byLimit: Record<Limit, number> = { perDomain: 0, total: 0 };
  private byDomain = new Map<string, number>();
  private otherDomains = 0;
  private stopTimer: (() => void) | undefined;

  constructor(
    private readonly logger: Logger,
    /** Starts a repeating timer and returns its cancel function (the plugin context's, so it is disposed with the plugin). */
    private readonly every: (fn: () => void, ms: number) => () => void,
    private readonly intervalMs = 60_000,
  ) {}

  record(domain: string, limit: Limit): void {
    if (!this.episode) {
      this.episode = true;
      this.logger.warn(
        { domain, limit, everyMs: this.intervalMs },
        "subscription requests over the rate limit: not answered as usual; counts follow while it lasts (audit.log has each request)",
      );
      this.stopTimer = this.every(() => this.flush(), this.intervalMs);
      return;
    }
    this.count++;
    this.byLimit[limit]++;
    const n = this.byDomain.get(domain);
    if (n !== undefined) this.byDomain.set(domain, n + 1);
    else if (this.byDomain.size < MAX_DOMAINS) this.byDomain.set(domain, 1);
    else this.otherDomains++;
  }

  /** Logs the interval's count, or ends the episode after an interval with none. */
  flush(): void {
    if (this.count === 0) {
      this.episode = false;
      this.stopTimer?.();
      this.stopTimer = undefined;
      return;
    }
    const top = [...this.byDomain].sort((a, b) => b[1] - a[1]).slice(0, TOP_DOMAINS);
    this.logger.warn(
      {
        count: this.count,
        perDomain: this.byLimit.perDomain,
        total: this.byLimit.total,
        topDomains: Object.fromEntries(top),
        domains: this.byDomain.size,
        ...(this.otherDomains > 0 ? { fromFurtherDomains: this.otherDomains } : {}),
      },
      `${this.count} more subscription requests over the rate limit in the last ${Math.round(this.intervalMs / 1000)} s`,
    );
    this.count = 0;
    this.byLimit = { perDomain: 0, total: 0 };
    this.byDomain.clear();
    this.otherDomains = 0;
  }
}
