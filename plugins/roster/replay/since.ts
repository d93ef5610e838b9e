/** The `--since` of `roster-bot replay`: an ISO 8601 date or time, or a span back from now ("7d"). */
import { parseDuration } from "../../../bots/config/units.ts";

const ISO_DATE = /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)?$/;

/** The time `text` names, or undefined when it is neither form. A date alone is midnight UTC. */
export function parseSince(text: string, now: number = Date.now()): Date | undefined {
  const trimmed = text.trim();
  const span = parseDuration(trimmed);
  if (span !== undefined) return new Date(now - span);
  if (!ISO_DATE.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
