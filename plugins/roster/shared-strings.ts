/**
 * Memory for large rosters. A roster result is parsed from one long text, and V8 keeps a substring
 * (an attribute value, a group name) as a view of the text it came from: one kept name keeps its
 * whole 64 kB chunk of the stanza alive. Items therefore hold copies. And a big roster has a few
 * group combinations (its departments) shared by thousands of contacts, so items with equal groups
 * share one frozen list instead of each holding its own array and strings.
 */

/** A copy of `s` that shares no memory with the string it was cut from. */
export function ownString(s: string): string {
  // V8 makes a view for substrings of 13 or more characters; join() always builds a new string.
  return s.length < 13 ? s : [s.slice(0, 1), s.slice(1)].join("");
}

const EMPTY: readonly string[] = Object.freeze([]);
const SEPARATOR = "\u0000"; // XML cannot carry it, so no server's group name holds it
/** Distinct lists kept; past it the table starts over (sharing is an optimization, not a promise). */
const MAX_LISTS = 10_000;
const lists = new Map<string, readonly string[]>();

/** The shared frozen list equal to `groups` (already cleaned: sorted and unique). */
export function sharedGroups(groups: readonly string[]): readonly string[] {
  if (groups.length === 0) return EMPTY;
  if (groups.some((g) => g.includes(SEPARATOR))) return Object.freeze(groups.map(ownString));
  const key = groups.length === 1 ? groups[0]! : groups.join(SEPARATOR);
  let list = lists.get(key);
  if (list === undefined) {
    if (lists.size >= MAX_LISTS) lists.clear();
    list = Object.freeze(groups.map(ownString));
    lists.set(groups.length === 1 ? list[0]! : key, list);
  }
  return list;
}
