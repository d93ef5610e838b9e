/** Human-friendly units used across the config: durations ("10m") and rates ("20/min"). */
import { z } from "zod";

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

export const duration = () =>
  z
    .union([
      z.number().nonnegative(),
      z.string().regex(DURATION, { message: 'expected a duration like "30s", "10m" or "2h"' }),
    ])
    .transform((v) => (typeof v === "number" ? v : parseDuration(v)!))
    .describe('Milliseconds, or a duration such as "500ms", "30s", "10m", "2h"');

const RATE = /^(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour)$/;
const PER_MS: Record<string, number> = {
  s: 1_000, sec: 1_000, second: 1_000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000,
};

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
    .describe('A rate such as "20/min", "5/s" or "100/hour"');
