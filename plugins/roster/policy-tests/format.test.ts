/** The text report: each failing case, its mismatches, the words of `explain`, then the summary. */
import { describe, expect, it } from "vitest";
import type { PolicyTestReport } from "../api.ts";
import { formatPolicyTestReport } from "./format.ts";

const failure = {
  at: "policy.test.yaml:4:3",
  name: "partners get in",
  jid: "bob@partner.test",
  mismatches: ["expected accept, the rules gave reject", 'expected rule "partners" to decide, rule "spam" did'],
  explanation: { jid: "bob@partner.test", action: "reject", decidedBy: "rules", rule: "spam", reason: 'domain partner.test matches rule "spam"', needsRoster: [] },
} satisfies PolicyTestReport["failed"][number];

describe("formatPolicyTestReport", () => {
  it("all passed: the summary alone", () => {
    expect(formatPolicyTestReport({ files: ["a.yaml"], total: 12, passed: 12, failed: [] })).toBe("12 cases: 12 passed, 0 failed\n");
    expect(formatPolicyTestReport({ files: ["a.yaml"], total: 1, passed: 1, failed: [] })).toBe("1 case: 1 passed, 0 failed\n");
  });

  it("a failure: where, name and JID, each mismatch, the explanation indented", () => {
    const text = formatPolicyTestReport({ files: ["policy.test.yaml"], total: 12, passed: 11, failed: [failure] });
    expect(text).toBe(
      [
        "FAIL policy.test.yaml:4:3 partners get in (bob@partner.test)",
        "  expected accept, the rules gave reject",
        '  expected rule "partners" to decide, rule "spam" did',
        "  bob@partner.test: reject",
        '    decided by rule "spam": domain partner.test matches rule "spam"',
        "    (plugins tapping the decision hook and rate limits can change this at run time)",
        "",
        "12 cases: 11 passed, 1 failed",
        "",
      ].join("\n"),
    );
  });

  it("a case without a name is shown by its JID once", () => {
    const text = formatPolicyTestReport({ files: [], total: 1, passed: 0, failed: [{ ...failure, name: failure.jid }] });
    expect(text.split("\n")[0]).toBe("FAIL policy.test.yaml:4:3 bob@partner.test");
  });
});
