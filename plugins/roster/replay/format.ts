/** The text of a replay report (`roster-bot replay` without --json). */
import type { ReplayFlipGroup, ReplayReport } from "../api.ts";
import { ACTIONS } from "../policy/match-schema.ts";

const count = (n: number) => n.toLocaleString("en-US");
const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

export function formatReplayReport(report: ReplayReport, options: { limit?: number } = {}): string {
  const out: string[] = [];
  out.push(report.files.length === 1 ? `audit log: ${report.files[0]}` : `audit logs, oldest first:\n${report.files.map((f) => `  ${f}`).join("\n")}`);
  if (report.files.length === 0) out.push("  (no audit file: nothing was recorded yet)");
  if (report.since !== undefined) out.push(`since: ${report.since}`);
  out.push(`lines: ${count(report.lines)} read, ${count(report.malformed)} malformed (skipped)`);
  out.push(`decisions: ${count(report.decisions)}; decided again with the rules: ${count(report.replayed)}; would change: ${count(report.changed)}`);
  if (report.replayed > 0) out.push("", "old action -> new action:", ...matrixLines(report.matrix));
  if (report.flips.length > 0) {
    out.push("", "what would change:");
    for (const flip of report.flips) out.push(`  ${flipLine(flip, options.limit)}`);
  } else if (report.replayed > 0) {
    out.push("", "no recorded decision of the rules or the default would change");
  }
  out.push("", ...apartLines(report.apart));
  if (report.withoutRosterFacts > 0) {
    out.push(
      "",
      `note: for ${plural(report.withoutRosterFacts, "replayed decision")} the answer depends on roster state the line did not record (a contact not in the` +
        ` roster, or a line written before decision lines carried it): rules that need it were evaluated as "not in the roster"`,
    );
  }
  return out.join("\n") + "\n";
}

/** `rule "partners" now gives accept: 120 decisions (reject → 120), e.g. a@x.example, …, and more` */
export function flipLine(flip: ReplayFlipGroup, limit?: number): string {
  const who = flip.rule === undefined ? "the default" : `rule "${flip.rule}"`;
  const from = Object.entries(flip.from)
    .sort(([, a], [, b]) => b! - a!)
    .map(([old, n]) => `${old} → ${count(n!)}`)
    .join(", ");
  const shown = flip.jids.slice(0, limit ?? flip.jids.length);
  const more = flip.more || shown.length < flip.jids.length;
  const jids = shown.length ? `, e.g. ${shown.join(", ")}${more ? ", and more" : ""}` : "";
  return `${who} now gives ${flip.action}: ${plural(flip.count, "decision")} (${from})${jids}`;
}

/** Actions in their usual order, then any other recorded action (an older version's, say). */
function ordered(actions: Iterable<string>): string[] {
  const known = ACTIONS as readonly string[];
  const rank = (a: string) => (known.includes(a) ? known.indexOf(a) : known.length);
  return [...new Set(actions)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function matrixLines(matrix: ReplayReport["matrix"]): string[] {
  const rows = ordered(Object.keys(matrix));
  const columns = ordered(Object.values(matrix).flatMap((row) => Object.keys(row ?? {})));
  const cells = rows.map((old) => columns.map((now) => count(matrix[old]?.[now] ?? 0)));
  const head = ["was \\ now", ...columns];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r, j) => (i === 0 ? r.length : cells[j]![i - 1]!.length))));
  const line = (first: string, rest: string[]) => "  " + [first.padEnd(widths[0]!), ...rest.map((c, i) => c.padStart(widths[i + 1]!))].join("  ");
  return [line(head[0]!, columns), ...rows.map((old, j) => line(old, cells[j]!))];
}

function apartLines(apart: ReplayReport["apart"]): string[] {
  const total = apart.plugin + apart.admin + apart.rateLimit + apart.other;
  if (total === 0) return ["not decided again: none (no decision of a plugin, an admin or the rate limit)"];
  return [
    `not decided again: ${plural(total, "decision")} (the rules alone cannot say what these would do)`,
    `  by a plugin: ${count(apart.plugin)}`,
    `  by an admin: ${count(apart.admin)}`,
    `  by the rate limit: ${count(apart.rateLimit)}`,
    `  other: ${count(apart.other)} (held requests seen again, contacts already subscribed, unreadable roster items)`,
  ];
}
