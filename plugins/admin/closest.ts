/**
 * The pending JIDs closest to a mistyped one (pure), for the reply to an `approve` of a JID that
 * has no held request. Distance: edits (insert, delete, substitute, swap two neighbours) between
 * the two bare JIDs. Only JIDs within a few edits count; each comparison skips what the two share
 * at either end and gives up as soon as it passes the limit, and one search computes at most
 * WORK_LIMIT table cells (then it answers with what it found so far), so a flood of pending
 * requests cannot stall the bot.
 */

/** At most this many edits, and at most a third of the typed JID's length. */
export const MAX_EDITS = 4;
export const MAX_SUGGESTIONS = 3;
/** Table cells one search may compute: about 50 ms; 10,000 ordinary JIDs take a tenth of it. */
export const WORK_LIMIT = 2_000_000;

/** Cells computed so far, shared by the comparisons of one search. */
export interface Work {
  cells: number;
}

/** Edits allowed for a typed JID: typos scale with length, but "a@b.c" is not close to "x@y.z". */
export function editLimit(typed: string): number {
  return Math.max(1, Math.min(MAX_EDITS, Math.floor(typed.length / 3)));
}

/**
 * Edit distance of a and b (optimal string alignment), or undefined when it is over `limit`. Only
 * cells within `limit` of the diagonal are computed, and a row whose every cell is over the limit
 * ends the comparison: O(limit × length) per pair at worst.
 */
export function boundedDistance(a: string, b: string, limit: number, work: Work = { cells: 0 }): number | undefined {
  if (Math.abs(a.length - b.length) > limit) return undefined;
  if (a === b) return 0;
  // What both share at the start and at the end costs no edit (a swap is never split: it needs two
  // differing characters, and the shared part ends before the first difference).
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  a = a.slice(start, a.length - end);
  b = b.slice(start, b.length - end);
  const over = limit + 1;
  const width = b.length + 1;
  // Three rows suffice: the transposition looks two rows back.
  let prev2 = new Array<number>(width).fill(over);
  let prev = new Array<number>(width).fill(over);
  let row = new Array<number>(width).fill(over);
  for (let j = 0; j <= Math.min(b.length, limit); j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const from = Math.max(1, i - limit);
    const to = Math.min(b.length, i + limit);
    // Only the band is computed; the cells just outside it read as "over the limit".
    row[from - 1] = i <= limit ? i : over;
    if (to < b.length) row[to + 1] = over;
    let best = row[from - 1]!;
    for (let j = from; j <= to; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row[j] = Math.min(d, over);
      work.cells++;
      if (row[j]! < best) best = row[j]!;
    }
    if (best > limit) return undefined;
    [prev2, prev, row] = [prev, row, prev2];
  }
  const d = prev[b.length]!;
  return d <= limit ? d : undefined;
}

/** Up to `max` of `candidates` within the edit limit of `typed`, closest first (ties by JID). */
export function closestJids(typed: string, candidates: Iterable<string>, max = MAX_SUGGESTIONS, workLimit = WORK_LIMIT): string[] {
  const limit = editLimit(typed);
  const found: { jid: string; d: number }[] = [];
  const work: Work = { cells: 0 };
  for (const jid of candidates) {
    if (work.cells > workLimit) break;
    if (jid === typed) continue;
    const d = boundedDistance(typed, jid, limit, work);
    if (d !== undefined) found.push({ jid, d });
  }
  found.sort((x, y) => x.d - y.d || (x.jid < y.jid ? -1 : x.jid > y.jid ? 1 : 0));
  return found.slice(0, max).map((f) => f.jid);
}
