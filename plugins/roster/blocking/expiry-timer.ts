/**
 * One timer for the blocklist's next expiry. A Node timer waits at most about 24.8 days, while a
 * block may last years: a later time is reached in steps, each checking the clock again.
 */
import { MAX_TIMER_MS } from "../../../bots/config/units.ts";

export class ExpiryTimer {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onDue: () => void) {}

  /** Calls `onDue` at `at` (ms since the epoch; at once when past); undefined: no timer. Replaces any earlier time. */
  arm(at: number | undefined): void {
    this.stop();
    if (at === undefined) return;
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (Date.now() >= at) this.onDue();
      else this.arm(at);
    }, delay);
    this.timer.unref?.();
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
