/** Durations typed in commands ("30m", "7d") and shown in replies (pure). */
import { formatDuration, MAX_LONG_DURATION_MS, parseDuration } from "../../index.ts";

export { formatDuration };

const DAY_MS = 86_400_000;
/** The longest block an admin may give: the same ten years a rule's `block.for` allows. */
export const MAX_BLOCK_MS = MAX_LONG_DURATION_MS;
/** Shorter than this is a typo (a block the bot would lift before the admin read the reply). */
export const MIN_BLOCK_MS = 1_000;

/** A block duration in ms, or why the text is not one. */
export function parseBlockDuration(text: string): { ms: number } | { error: string } {
  const ms = parseDuration(text);
  if (ms === undefined) return { error: `"${text.slice(0, 20)}" is not a duration like 30m, 12h or 7d` };
  if (ms < MIN_BLOCK_MS) return { error: "a block lasts at least 1s" };
  if (ms > MAX_BLOCK_MS) return { error: "a block lasts at most 3650d" };
  return { ms };
}

const UNITS: [string, number][] = [
  ["d", DAY_MS],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/**
 * A time span in its two largest units: "6d 23h", "3h 5m", "45s". Rounded to the second first (so
 * a 7d block shown a few ms after it was made reads "7d"), then down.
 */
export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000) * 1000);
  const i = UNITS.findIndex(([, size]) => s >= size);
  if (i === -1) return "0s";
  const [unit, size] = UNITS[i]!;
  const text = `${Math.floor(s / size)}${unit}`;
  const next = UNITS[i + 1];
  const rest = next ? Math.floor((s % size) / next[1]) : 0;
  return rest ? `${text} ${rest}${next![0]}` : text;
}
