/** `roster-bot test` output: each failing case with its mismatches and the words of `explain`, then a summary. */
import type { PolicyTestReport } from "../api.ts";
import { formatExplanation } from "../explain.ts";

const indent = (text: string, by: string) =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => by + l)
    .join("\n");

export function formatPolicyTestReport(report: PolicyTestReport): string {
  const blocks = report.failed.map((f) =>
    [`FAIL ${f.at} ${f.name === f.jid ? f.jid : `${f.name} (${f.jid})`}`, ...f.mismatches.map((m) => `  ${m}`), indent(formatExplanation(f.explanation), "  ")].join("\n"),
  );
  const failed = report.failed.length;
  const summary = `${report.total} case${report.total === 1 ? "" : "s"}: ${report.total - failed} passed, ${failed} failed`;
  return [...blocks, summary].join("\n\n") + "\n";
}
