/** The text and JSON forms of a plan: skipped items (the ones the bot cannot read exactly). */
import { describe, expect, it } from "vitest";
import { formatPlan, planJson } from "./format.ts";

describe("a plan with skipped items", () => {
  const skipped = [
    { jid: "Mixed@Example.ORG", reason: "not in canonical form (mixed@example.org)" },
    { jid: "y".repeat(80) + "@example.org", reason: "roster item with invalid jid: local part of JID is over 1023 octets" },
  ];

  it("the text lists each with its reason, the JID cut to 64 characters", () => {
    const text = formatPlan({ changes: [], heldBack: 0, skipped }, []);
    expect(text).toBe(
      [
        "no changes: the roster matches the group sync config",
        "2 roster item(s) skipped: the bot cannot read them exactly, a person must mend them:",
        "  Mixed@Example.ORG  not in canonical form (mixed@example.org)",
        `  ${"y".repeat(64)}…  roster item with invalid jid: local part of JID is over 1023 octets`,
        "",
      ].join("\n"),
    );
  });

  it("past 50 the text counts the rest; --json lists all", () => {
    const many = Array.from({ length: 53 }, (_, i) => ({ jid: `U${i}@x.org`, reason: "r" }));
    const text = formatPlan({ changes: [], heldBack: 0, skipped: many }, []);
    expect(text).toContain("  and 3 more (plan --json lists all)");
    expect(text.split("\n").filter((l) => l.startsWith("  U"))).toHaveLength(50);
    expect(planJson({ changes: [], heldBack: 0, skipped: many }, []).skipped).toHaveLength(53);
    expect(planJson({ changes: [], heldBack: 0 }, []).skipped).toEqual([]);
  });
});
