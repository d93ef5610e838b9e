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

describe("a plan with the blocklist", () => {
  const none = { changes: [], heldBack: 0 };
  const lift = { jid: "spam.example", owned: true, by: "rules", rule: "flooders", since: "2026-11-01T00:00:00.000Z", expires: "2026-11-08T00:00:00.000Z" };
  const forget = { jid: "x@y.test", owned: true, by: "admin:boss@x.org", since: "2026-11-02T00:00:00.000Z" };

  it("the text names blocks to lift and to forget, with who added them", () => {
    const text = formatPlan(none, [], { supported: true, lift: [lift], forget: [forget] });
    expect(text.split("\n").slice(1)).toEqual([
      "blocklist: 1 block(s) whose time is up would be lifted:",
      '  spam.example  expired 2026-11-08T00:00:00.000Z  added by rule "flooders" at 2026-11-01T00:00:00.000Z',
      "blocklist: 1 block(s) a person removed at the server would be forgotten (never re-added until the sender offends again):",
      "  x@y.test  added by admin:boss@x.org at 2026-11-02T00:00:00.000Z",
      "",
    ]);
  });

  it("says so when nothing would change, and when the server has no XEP-0191", () => {
    expect(formatPlan(none, [], { supported: true, lift: [], forget: [] })).toContain("\nblocklist: no changes\n");
    expect(formatPlan(none, [], { supported: false, lift: [], forget: [] })).toContain("\nblocklist: the server does not support blocking (XEP-0191): rules with block only reject\n");
  });

  it("--json gains blocklist { supported, lift, forget }", () => {
    expect(planJson(none, [], { supported: true, lift: [lift], forget: [forget] }).blocklist).toEqual({
      supported: true,
      lift: [{ jid: "spam.example", by: "rules", rule: "flooders", since: "2026-11-01T00:00:00.000Z", expires: "2026-11-08T00:00:00.000Z" }],
      forget: [{ jid: "x@y.test", by: "admin:boss@x.org", rule: null, since: "2026-11-02T00:00:00.000Z", expires: null }],
    });
  });
});
