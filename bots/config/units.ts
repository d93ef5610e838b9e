/**
 * Human-friendly units used across the config: durations ("10m") and rates ("20/min"). Every
 * duration and rate setting, the host's and each plugin's, is built from these two, so each bound
 * below holds for a setting added later too.
 */
import { z } from "zod";

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest delay a Node timer honours (2^31-1 ms, about 24.8 days): setTimeout and setInterval
 * run a longer one after 1 ms instead, so `interval: 30d` would fire at once, and forever.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The longest duration a config may give: a round number of days below MAX_TIMER_MS. */
export const MAX_DURATION_MS = 24 * UNIT_MS.d!;
export const MAX_DURATION_TEXT = "24d";
const TOO_LONG = `at most ${MAX_DURATION_TEXT} (${MAX_DURATION_MS} ms): a timer cannot wait longer than about 24.8 days`;

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** Milliseconds, or a duration string; at most MAX_DURATION_MS either way. */
export const duration = () =>
  z
    .union([
      z.number().nonnegative().max(MAX_DURATION_MS, { message: TOO_LONG }),
      z.string().regex(DURATION, { message: 'expected a duration like "30s", "10m" or "2h"' }),
    ])
    .transform((v) => (typeof v === "number" ? v : parseDuration(v)!))
    .pipe(z.number().max(MAX_DURATION_MS, { message: TOO_LONG }))
    .describe(`Milliseconds, or a duration such as "500ms", "30s", "10m", "2h"; at most ${MAX_DURATION_TEXT}`);

const LONG_DURATION = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/;

/** The longest long duration (ten years of days): far beyond any block an operator means. */
export const MAX_LONG_DURATION_MS = 3650 * UNIT_MS.d!;
export const MAX_LONG_DURATION_TEXT = "3650d";
const LONG_TOO_LONG = `at most ${MAX_LONG_DURATION_TEXT} (ten years)`;
const NOT_POSITIVE = "a duration of 0 would end at once: give a positive duration, or leave it out";

/**
 * A span that no single timer waits for (how long a block lasts): seconds to days, up to
 * MAX_LONG_DURATION_MS. Whoever acts on it re-arms a timer capped at MAX_TIMER_MS instead.
 */
export const longDuration = () =>
  z
    .union([
      z.number().max(MAX_LONG_DURATION_MS, { message: LONG_TOO_LONG }),
      z.string().regex(LONG_DURATION, { message: 'expected a duration like "90m", "12h" or "7d"' }),
    ])
    .transform((v) => (typeof v === "number" ? v : parseDuration(v)!))
    .pipe(z.number().positive({ message: NOT_POSITIVE }).max(MAX_LONG_DURATION_MS, { message: LONG_TOO_LONG }))
    .describe(`Milliseconds, or a duration such as "30s", "90m", "12h", "7d"; at most ${MAX_LONG_DURATION_TEXT}`);

/** A duration in the largest unit that states it exactly ("7d", "90m", "1500ms"), as a config would write it. */
export function formatDuration(ms: number): string {
  for (const unit of ["d", "h", "m", "s"] as const) {
    const size = UNIT_MS[unit]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Throws a RangeError for a delay a timer would not honour. For delays that come from code rather
 * than the config (a plugin's own numbers), where Node would only warn and run the timer at once.
 */
export function checkTimerDelay(ms: number, what: string): void {
  if (!(ms >= 0 && ms <= MAX_TIMER_MS)) throw new RangeError(`${what}: ${ms} ms is not a delay from 0 to ${MAX_TIMER_MS} ms (about 24.8 days)`);
}

const RATE = /^(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)$/;
const PER_MS: Record<string, number> = {
  s: 1_000, sec: 1_000, second: 1_000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000,
};

/**
 * Most events a rate allows in its window (a second to an hour). Far beyond any real limit, and it
 * keeps the token bucket's integer arithmetic (count × window in ms) exact.
 */
export const MAX_RATE_COUNT = 1_000_000;

export interface Rate {
  count: number;
  perMs: number;
}

export function parseRate(text: string): Rate | undefined {
  const m = RATE.exec(text.trim());
  if (!m) return undefined;
  return { count: Number(m[1]), perMs: PER_MS[m[2]!]! };
}

export const rate = () =>
  z
    .string()
    .regex(RATE, { message: 'expected a rate like "20/min", "5/s" or "100/hour"' })
    .transform((v) => parseRate(v)!)
    .refine((r) => r.count > 0, { message: "a rate of 0 lets nothing through: leave the limit out, or reject by a rule" })
    .refine((r) => r.count <= MAX_RATE_COUNT, { message: `at most ${MAX_RATE_COUNT} per second, minute or hour` })
    .describe(`A rate such as "20/min", "5/s" or "100/hour" (1 to ${MAX_RATE_COUNT} per window)`);
