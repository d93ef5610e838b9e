/**
 * The hook kinds plugins tap (tapable's parallel, series bail and series waterfall), with each tap
 * isolated for a long-running bot: a tap that throws or hangs never takes its caller down.
 */
import type { Logger } from "pino";
import { checkTimerDelay } from "./config/units.ts";

export const DEFAULT_TAP_TIMEOUT_MS = 5_000;

export interface TapOptions {
  /** Who tapped: shows up in logs and in a decision's `decidedBy`. */
  name: string;
  /** Lower runs first; equal orders keep registration order. Default 0. */
  order?: number;
  /** Milliseconds before the tap is given up on. Default 5000. */
  timeoutMs?: number;
}

interface Tap<F> {
  readonly name: string;
  readonly order: number;
  readonly timeoutMs: number;
  readonly fn: F;
}

export class TapTimeoutError extends Error {
  constructor(readonly tap: string, readonly timeoutMs: number) {
    super(`tap "${tap}" did not finish within ${timeoutMs} ms`);
    this.name = "TapTimeoutError";
  }
}

/** Thrown by TransformHook when a tap fails; `tap` names it, `cause` is what it threw. */
export class TransformAbortedError extends Error {
  constructor(readonly hook: string, readonly tap: string, cause: unknown) {
    super(`hook "${hook}": tap "${tap}" failed, transform aborted: ${errorMessage(cause)}`, { cause });
    this.name = "TransformAbortedError";
  }
}

/** A tap that threw or timed out, as the host's metrics count it. */
export interface TapFailure {
  hook: string;
  tap: string;
  reason: "timeout" | "error";
  /** The bot whose plugin made the hook (from its logger's `bot` binding). */
  bot: string | undefined;
}

const tapFailureListeners = new Set<(failure: TapFailure) => void>();

/** Calls `listener` for every tap failure in this process; returns a function that stops it. */
export function onTapFailure(listener: (failure: TapFailure) => void): () => void {
  tapFailureListeners.add(listener);
  return () => tapFailureListeners.delete(listener);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one tap, turning a hang into TapTimeoutError. Sync results skip the timer entirely. */
function runTap<A, R>(tap: Tap<(arg: A) => R | Promise<R>>, arg: A): R | Promise<R> {
  const result = tap.fn(arg);
  if (!(result instanceof Promise)) return result;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TapTimeoutError(tap.name, tap.timeoutMs)), tap.timeoutMs);
    timer.unref?.();
  });
  return Promise.race([result, timeout]).finally(() => clearTimeout(timer));
}

abstract class Hook<A, R> {
  protected taps: Tap<(arg: A) => R | Promise<R>>[] = [];

  constructor(
    readonly name: string,
    protected readonly logger: Logger,
    /** Timeout for taps that do not set their own. */
    private readonly defaultTimeoutMs = DEFAULT_TAP_TIMEOUT_MS,
  ) {
    checkTimerDelay(defaultTimeoutMs, `hook "${name}": default tap timeout`);
  }

  /** Adds a tap; returns a function that removes it. */
  tap(options: TapOptions | string, fn: (arg: A) => R | Promise<R>): () => void {
    const opts = typeof options === "string" ? { name: options } : options;
    if (opts.timeoutMs !== undefined) checkTimerDelay(opts.timeoutMs, `hook "${this.name}": tap "${opts.name}" timeout`);
    const tap: Tap<(arg: A) => R | Promise<R>> = {
      name: opts.name,
      order: opts.order ?? 0,
      timeoutMs: opts.timeoutMs ?? this.defaultTimeoutMs,
      fn,
    };
    // Stable insert: after every tap of the same or lower order.
    const at = this.taps.findIndex((t) => t.order > tap.order);
    if (at === -1) this.taps.push(tap);
    else this.taps.splice(at, 0, tap);
    return () => {
      this.taps = this.taps.filter((t) => t !== tap);
    };
  }

  get tapNames(): string[] {
    return this.taps.map((t) => t.name);
  }

  get isUsed(): boolean {
    return this.taps.length > 0;
  }

  protected logTapFailure(tap: string, err: unknown, outcome: string): void {
    this.logger.error({ hook: this.name, tap, err }, `hook "${this.name}": tap "${tap}" failed (${outcome})`);
    if (tapFailureListeners.size === 0) return;
    const bot = (this.logger.bindings?.() as { bot?: string } | undefined)?.bot;
    const failure: TapFailure = { hook: this.name, tap, reason: err instanceof TapTimeoutError ? "timeout" : "error", bot };
    for (const listener of tapFailureListeners) listener(failure);
  }
}

export class NotifyHook<A> extends Hook<A, void> {
  /** Runs every tap in parallel and waits for all; failures are logged, never thrown. */
  async emit(arg: A): Promise<void> {
    const taps = this.taps;
    if (taps.length === 0) return;
    await Promise.all(
      taps.map(async (tap) => {
        try {
          await runTap(tap, arg);
        } catch (err) {
          this.logTapFailure(tap.name, err, "ignored");
        }
      }),
    );
  }
}

export interface Answer<R> {
  value: R;
  /** Name of the tap that answered. */
  by: string;
}

export class DecideHook<A, R> extends Hook<A, R | undefined> {
  /**
   * Asks taps in order; the first defined answer wins (undefined when none answers). A tap that
   * throws or times out counts as no answer.
   */
  async decide(arg: A): Promise<Answer<R> | undefined> {
    for (const tap of this.taps) {
      try {
        const value = await runTap(tap, arg);
        if (value !== undefined) return { value, by: tap.name };
      } catch (err) {
        this.logTapFailure(tap.name, err, "treated as no answer");
      }
    }
    return undefined;
  }
}

export class TransformHook<T> extends Hook<T, T | undefined> {
  /**
   * Passes the value through every tap; each defined result replaces it. A tap that throws or times
   * out aborts the whole transform (TransformAbortedError), so nothing half-transformed is used.
   */
  async transform(value: T): Promise<T> {
    let current = value;
    for (const tap of this.taps) {
      try {
        const next = await runTap(tap, current);
        if (next !== undefined) current = next;
      } catch (err) {
        this.logTapFailure(tap.name, err, "transform aborted");
        throw new TransformAbortedError(this.name, tap.name, err);
      }
    }
    return current;
  }
}
