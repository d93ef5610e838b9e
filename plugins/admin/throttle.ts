/**
 * At most one reply per key (a sender) per interval. Keeps refusals from turning the bot into a
 * message reflector, or into one half of a loop with another bot that answers everything.
 */
export class ReplyThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    /** Keys remembered at most (oldest forgotten first), so a flood of senders cannot grow memory. */
    private readonly maxKeys = 10_000,
  ) {}

  /** True when a reply to `key` is allowed now (and records it). */
  allow(key: string, now = Date.now()): boolean {
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    this.last.delete(key);
    this.last.set(key, now);
    if (this.last.size > this.maxKeys) this.last.delete(this.last.keys().next().value!);
    return true;
  }
}
