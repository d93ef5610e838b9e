import { describe, expect, it } from "vitest";
import {
  RosterError,
  type BlockEntry,
  type GrantResult,
  type PolicyCaseFailure,
  type PolicyTestReport,
  type ReplayFlipGroup,
  type ReplayReport,
  type RosterItem,
  type SubscriptionAction,
} from "../roster/api.ts";
import {
  age,
  blockedReply,
  blockingErrorReply,
  blockReply,
  capped,
  explainReply,
  grantReply,
  MAX_LIST_LINES,
  NO_POLICY_TESTS,
  notifyAsk,
  pendingReply,
  planReply,
  policyTestReply,
  replayReply,
  rosterReply,
  statsReply,
  syncReply,
  unblockReply,
} from "./replies.ts";

const NOW = Date.parse("2025-01-01T12:00:00Z");
const item = (jid: string, over: Partial<RosterItem> = {}): RosterItem => ({ jid, groups: [], subscription: "none", approved: false, ...over });

describe("reply texts", () => {
  it("caps lists with a count of the rest", () => {
    const lines = Array.from({ length: 45 }, (_, i) => `l${i}`);
    expect(capped(lines)).toHaveLength(MAX_LIST_LINES + 1);
    expect(capped(lines).at(-1)).toBe("… and 15 more");
    expect(capped(lines.slice(0, 30))).toHaveLength(30);
  });

  it("ages", () => {
    expect(age("2025-01-01T11:59:15Z", NOW)).toBe("45s");
    expect(age("2025-01-01T11:48:00Z", NOW)).toBe("12m");
    expect(age("2025-01-01T09:00:00Z", NOW)).toBe("3h");
    expect(age("2024-12-30T12:00:00Z", NOW)).toBe("2d");
    expect(age("garbage", NOW)).toBe("?");
  });

  it("tells admins who asks and how to answer", () => {
    const text = notifyAsk({ jid: "x@y.test", action: "ask", decidedBy: "rules", rule: "held", reason: "unknown domain", sent: [] });
    expect(text).toContain("x@y.test asks");
    expect(text).toContain('"approve x@y.test"');
    expect(text).toContain('"deny x@y.test"');
  });

  it("grant says what was sent and what the server's roster showed", () => {
    const g = (over: Partial<GrantResult>): GrantResult => ({ jid: "x@y.test", outcome: "sent", sent: ["subscribed"], before: undefined, after: undefined, pushed: false, preApproval: true, ...over });
    const none = { subscription: "none" as const, approved: false };
    expect(grantReply(g({ outcome: "already", sent: [], before: { subscription: "both", approved: false } }))).toBe("x@y.test already receives the bot's presence (subscription both); nothing sent.");
    expect(grantReply(g({ outcome: "approved" }))).toBe("x@y.test had a held request, so it was approved: sent subscribed.");
    expect(grantReply(g({ sent: [] }))).toMatch(/^Granted nothing: .*could not be sent/);
    expect(grantReply(g({ after: none, pushed: true })).split("\n")).toEqual([
      "Granted x@y.test without a request: sent subscribed.",
      "The server keeps them pre-approved (RFC 6121 §3.4): when they ask, it accepts without asking the bot.",
      "It added them to the roster (subscription none).",
    ]);
    expect(grantReply(g({ before: none, after: { subscription: "from", approved: false }, pushed: true })).split("\n")[1]).toBe(
      "The server held a request from them: they now receive the bot's presence (subscription from).",
    );
    expect(grantReply(g({ before: { subscription: "to", approved: false }, after: { subscription: "to", approved: false }, pushed: true })).split("\n")).toHaveLength(2);
    expect(grantReply(g({ preApproval: false })).split("\n").slice(1)).toEqual([
      "The server does not advertise pre-approval, so it keeps nothing: they must ask first, then be approved.",
      "The server sent no roster change.",
    ]);
  });

  it("pending", () => {
    expect(pendingReply([], NOW)).toBe("No pending requests.");
    const text = pendingReply([{ jid: "a@b.test", since: "2025-01-01T11:55:00Z", decidedBy: "rules", rule: "held", reason: "r" }], NOW);
    expect(text).toBe('1 pending:\na@b.test - 5m ago (rule held)\nAnswer with "approve JID" or "deny JID".');
  });

  it("explain", () => {
    const text = explainReply(
      { jid: "a@b.test", action: "ask", decidedBy: "rules", rule: "held", reason: "jid a@b.test matches rule \"held\"", needsRoster: [] },
      item("a@b.test", { subscription: "to", groups: ["Team"] }),
      { jid: "a@b.test", since: "2025-01-01T11:00:00Z", decidedBy: "rules", reason: "r" },
      NOW,
    );
    expect(text.split("\n")).toEqual([
      "a@b.test: ask",
      'rule held: jid a@b.test matches rule "held"',
      "in roster: to [Team]",
      "pending for 1h",
      "(rules only: plugins and rate limits may answer otherwise)",
    ]);
    expect(explainReply({ jid: "a@bücher.test", input: "a@xn--bcher-kva.test", action: "reject", decidedBy: "default", rule: undefined, reason: "no rule matches", needsRoster: [] }, undefined, undefined, NOW)).toMatch(
      /^a@bücher\.test \(given as a@xn--bcher-kva\.test\): reject\n/,
    );
    expect(explainReply({ jid: "z@z.test", action: "reject", decidedBy: "default", rule: undefined, reason: "no rule matches", needsRoster: [] }, undefined, undefined, NOW)).toContain(
      "default (no rule matches)\nnot in roster",
    );
  });

  it("roster: sorted, at most 30 contacts then a count", () => {
    expect(rosterReply([], undefined)).toBe("No contacts.");
    expect(rosterReply([], "Team")).toBe('No contacts in group "Team".');
    const items = Array.from({ length: 42 }, (_, i) => item(`u${String(i).padStart(2, "0")}@b.test`, { subscription: "both" }));
    const lines = rosterReply(items.reverse(), undefined).split("\n");
    expect(lines[0]).toBe("42 contacts:");
    expect(lines[1]).toBe("u00@b.test both");
    expect(lines).toHaveLength(1 + 30 + 1);
    expect(lines.at(-1)).toBe("… and 12 more");
    expect(rosterReply([item("a@b.test", { name: "Ann", subscription: "to", ask: "subscribe", groups: ["A", "B"] })], "A")).toBe(
      '1 contact in group "A":\na@b.test "Ann" to (asked) [A, B]',
    );
  });

  it("stats", () => {
    const decisions = new Map<SubscriptionAction, number>([["accept", 2], ["ask", 1]]);
    const text = statsReply({ items: [item("a@b", { subscription: "both" }), item("c@d", { subscription: "both" }), item("e@f")], pending: 1, decisions, since: NOW - 600_000, now: NOW });
    expect(text.split("\n")).toEqual(["Contacts: 3 (both 2, from 0, to 0, none 1)", "Pending: 1", "Decisions since start (10m ago): 3 (accept 2, ask 1)"]);
    expect(statsReply({ items: [], pending: 0, decisions: new Map(), since: NOW, now: NOW })).toContain("Decisions since start (0s ago): 0");
  });

  it("plan and sync", () => {
    expect(planReply({ changes: [], heldBack: 0 })).toBe("Group sync: nothing to change.");
    expect(planReply({ changes: [], heldBack: 0, skipped: [{ jid: "Mixed@Example.ORG", reason: "not in canonical form (mixed@example.org)" }] }).split("\n")).toEqual([
      "Group sync: nothing to change.",
      "Skipped 1 roster item I cannot read exactly (a person must mend them):",
      "Mixed@Example.ORG: not in canonical form (mixed@example.org)",
    ]);
    const plan = {
      changes: [
        { jid: "n@b.test", op: "add" as const, groups: { before: [], after: ["Team"] }, name: { before: undefined, after: "New" }, subscribe: true },
        { jid: "u@b.test", op: "update" as const, groups: { before: ["A"], after: ["B"] }, name: { before: "x", after: "x" } },
        { jid: "r@b.test", op: "remove" as const, groups: { before: ["A"], after: [] }, name: { before: undefined, after: undefined } },
      ],
      heldBack: 2,
    };
    expect(planReply(plan).split("\n")).toEqual([
      "Group sync would make 3 changes:",
      '+ n@b.test [Team] "New" +subscribe',
      "~ u@b.test [A] -> [B]",
      "- r@b.test",
      "2 removals held back by maxPerRun.",
      'Send "sync" to apply.',
    ]);
    expect(syncReply({ plan, applied: plan.changes.slice(0, 2), failed: [{ change: plan.changes[2]!, error: "forbidden" }], trigger: "manual" }).split("\n")).toEqual([
      "Group sync: applied 2 of 3, 1 failed.",
      "failed r@b.test: forbidden",
      "2 removals held back by maxPerRun.",
    ]);
    expect(syncReply({ plan: { changes: [], heldBack: 0 }, applied: [], failed: [], trigger: "manual" })).toBe("Group sync: nothing to change.");
  });

  describe("blocking", () => {
    const DAY = 86_400_000;
    const inDays = (d: number) => new Date(NOW + d * DAY).toISOString();
    const mine: BlockEntry = { jid: "spam.example", owned: true, by: "admin:boss@b.test", since: "2025-01-01T10:00:00Z", expires: inDays(7) };
    const persons: BlockEntry = { jid: "troll@x.test", owned: false };

    it("block says what the server now holds and when the bot lifts it", () => {
      expect(blockReply({ jid: "spam.example", scope: "domain", outcome: "blocked", expires: inDays(7) }, undefined, NOW)).toBe(
        "Blocked spam.example (domain) at the server until 2025-01-08 12:00 UTC (7d).",
      );
      expect(blockReply({ jid: "a@b.test", scope: "bare", outcome: "blocked" }, undefined, NOW)).toBe('Blocked a@b.test at the server, with no expiry: "unblock a@b.test" lifts it.');
    });

    it("block of an entry already held says whose it is and leaves it", () => {
      expect(blockReply({ jid: "troll@x.test", scope: "bare", outcome: "already" }, persons, NOW)).toBe("troll@x.test is already blocked, by a person (not the bot): left as it is.");
      expect(blockReply({ jid: "spam.example", scope: "domain", outcome: "already" }, mine, NOW).split("\n")).toEqual([
        "spam.example (domain) is already blocked: admin:boss@b.test, 2h ago, expires in 7d.",
        'Left as it is; to change its expiry, "unblock spam.example" then block again.',
      ]);
      // The outcome names the domain entry that covers the JID asked for.
      expect(blockReply({ jid: "spam.example", scope: "domain", outcome: "already" }, mine, NOW, "a@spam.example")).toMatch(/^a@spam\.example is already blocked \(entry spam\.example \(domain\)\): admin:boss/);
      expect(blockReply({ jid: "a@b.test", scope: "bare", outcome: "already" }, undefined, NOW)).toBe("a@b.test is already being blocked; nothing more sent.");
    });

    it("block without server support, or refused, says nothing was blocked", () => {
      expect(blockReply({ jid: "a@b.test", scope: "bare", outcome: "unsupported" }, undefined, NOW)).toBe("Nothing blocked: the server does not support blocking (no XEP-0191).");
      expect(blockReply({ jid: "a@b.test", scope: "bare", outcome: "failed", error: "forbidden" }, undefined, NOW)).toBe("Blocking a@b.test failed: forbidden; nothing blocked.");
    });

    it("a thrown error reads as offline, unsupported, no answer or the server's refusal", () => {
      expect(blockingErrorReply("block", "a@b.test", new RosterError("offline", "a@b.test", "get"))).toBe(
        "The bot is not connected to its server; nothing blocked. Try again when it is online.",
      );
      expect(blockingErrorReply("unblock", "a@b.test", new RosterError("not-supported", "a@b.test", "get"))).toBe("The server does not support blocking (no XEP-0191); nothing lifted.");
      expect(blockingErrorReply("unblock", "spam.example", new RosterError("timeout", "spam.example", "get"))).toBe(
        'The server did not answer the unblock of spam.example (domain); nothing lifted for sure. Send "blocked" to see the list.',
      );
      expect(blockingErrorReply("block", "a@b.test", new RosterError("not-acceptable", "a@b.test", "get"))).toBe("The server refused to block a@b.test (not-acceptable); nothing blocked.");
      expect(blockingErrorReply("block", "a@b.test", new Error("boom"))).toBe("block a@b.test failed: boom");
    });

    it("unblock says whose entry it was, or which entry still blocks the JID", () => {
      expect(unblockReply({ jid: "spam.example", outcome: "unblocked" }, mine, undefined)).toBe("Unblocked spam.example (domain). It was added by admin:boss@b.test.");
      expect(unblockReply({ jid: "troll@x.test", outcome: "unblocked" }, persons, undefined)).toBe("Unblocked troll@x.test. It was a person's entry (not the bot's).");
      expect(unblockReply({ jid: "a@spam.example", outcome: "not-blocked" }, undefined, mine).split("\n")).toEqual([
        "a@spam.example is not blocked; nothing to lift.",
        'It is blocked by the entry spam.example (domain): send "unblock spam.example" to lift that.',
      ]);
      expect(unblockReply({ jid: "a@b.test", outcome: "not-blocked" }, undefined, undefined)).toBe("a@b.test is not blocked; nothing to lift.");
    });

    it("blocked lists every entry: who added it (not the bot for a person's), since, expiry; cut at 30", () => {
      const rule: BlockEntry = { jid: "s@spam.example", owned: true, by: "rules", rule: "spammers", since: "2025-01-01T11:59:00Z" };
      const due: BlockEntry = { jid: "late@x.test", owned: true, by: "rate-limit", since: "2024-12-31T12:00:00Z", expires: "2025-01-01T11:00:00Z" };
      expect(blockedReply([rule, mine, persons, due], true, NOW).split("\n")).toEqual([
        "4 entries blocked (3 by the bot, 1 not the bot):",
        "s@spam.example - rule spammers, 1m ago, no expiry",
        "spam.example (domain) - admin:boss@b.test, 2h ago, expires in 7d",
        "troll@x.test - not the bot",
        "late@x.test - rate-limit, 1d ago, expired, to be lifted",
      ]);
      const many = Array.from({ length: 40 }, (_, i): BlockEntry => ({ jid: `u${i}@x.test`, owned: false }));
      const lines = blockedReply(many, true, NOW).split("\n");
      expect(lines).toHaveLength(1 + MAX_LIST_LINES + 1);
      expect(lines.at(-1)).toBe("… and 10 more");
      expect(blockedReply([], true, NOW)).toBe("The blocklist is empty.");
      expect(blockedReply([], false, NOW)).toBe("No blocklist: the server does not support blocking (no XEP-0191).");
      expect(blockedReply([persons], false, NOW)).toBe("1 entry blocked (0 by the bot, 1 not the bot):\ntroll@x.test - not the bot");
    });

    it("explain names a rule's block, the fallback without server support, and a block in force", () => {
      const e = { jid: "a@spam.example", action: "reject" as const, decidedBy: "rules" as const, rule: "flooders", reason: "domain matches", needsRoster: [] };
      expect(explainReply({ ...e, block: { scope: "domain", forMs: 7 * DAY }, blockingSupported: true }, undefined, undefined, NOW, mine).split("\n")).toEqual([
        "a@spam.example: reject, then block spam.example (domain) for 7d",
        "rule flooders: domain matches",
        "not in roster",
        "blocked at the server: spam.example (domain) - admin:boss@b.test, 2h ago, expires in 7d",
        "(rules only: plugins and rate limits may answer otherwise)",
      ]);
      expect(explainReply({ ...e, block: { scope: "bare" }, blockingSupported: false }, undefined, undefined, NOW).split("\n").slice(0, 3)).toEqual([
        "a@spam.example: reject, then block a@spam.example until unblocked",
        "rule flooders: domain matches",
        "the server does not support blocking (no XEP-0191): this rule rejects only",
      ]);
      expect(explainReply({ ...e, blockingSupported: false }, undefined, undefined, NOW)).not.toContain("XEP-0191");
    });

    it("plan adds what a session start would change in the blocklist", () => {
      const group = { changes: [], heldBack: 0 };
      expect(planReply(group, { supported: true, lift: [], forget: [] }, NOW)).toBe("Group sync: nothing to change.\nBlocklist: nothing to change.");
      expect(planReply(group, { supported: false, lift: [], forget: [] }, NOW).split("\n")[1]).toBe(
        "Blocklist: the server does not support blocking (no XEP-0191); rules with block reject only.",
      );
      const expired: BlockEntry = { ...mine, jid: "old.example", expires: "2025-01-01T09:00:00Z" };
      const removed: BlockEntry = { jid: "a@b.test", owned: true, by: "rules", rule: "spammers" };
      expect(planReply(group, { supported: true, lift: [expired], forget: [removed] }, NOW).split("\n")).toEqual([
        "Group sync: nothing to change.",
        "Blocklist: would lift 1 expired entry and forget 1 entry a person removed:",
        "lift old.example (domain) - admin:boss@b.test, expired 3h ago",
        "forget a@b.test - rule spammers (not re-added)",
      ]);
    });
  });
});

describe("policy replies", () => {
  const failure = (i: number, over: Partial<PolicyCaseFailure> = {}): PolicyCaseFailure => ({
    at: `policy.test.yaml:${3 + 5 * i}:3`,
    name: `case ${i}`,
    jid: `c${i}@x.test`,
    mismatches: ["expected accept, the rules gave reject"],
    explanation: { jid: `c${i}@x.test`, action: "reject", decidedBy: "rules", rule: "strangers", reason: "not a partner", needsRoster: [] },
    ...over,
  });
  const report = (failed: PolicyCaseFailure[], total = 12): PolicyTestReport => ({ files: ["policy.test.yaml"], total, passed: total - failed.length, failed });

  describe("test", () => {
    it("says all passed in one line", () => {
      expect(policyTestReply(report([]))).toBe("Policy tests: 12 cases, all passed.");
      expect(policyTestReply(report([], 1))).toBe("Policy tests: 1 case, all passed.");
    });

    it("with none configured, names the subscriptions.tests key", () => {
      expect(policyTestReply({ files: [], total: 0, passed: 0, failed: [] })).toBe(NO_POLICY_TESTS);
      expect(NO_POLICY_TESTS).toContain("subscriptions.tests");
      expect(policyTestReply({ files: ["empty.yaml"], total: 0, passed: 0, failed: [] })).toBe("Policy tests: no cases in empty.yaml.");
    });

    it("gives each failing case: name, JID, where, expected vs got, and the deciding rule and its reason", () => {
      const groups = failure(1, {
        name: "g@x.test",
        jid: "g@x.test",
        mismatches: ["expected groups [Staff], group sync gives [Friends]"],
        explanation: { jid: "g@x.test", action: "accept", decidedBy: "default", rule: undefined, reason: "no rule matches", needsRoster: [] },
        groups: { expected: ["Staff"], actual: ["Friends"] },
      });
      expect(policyTestReply(report([failure(0), groups])).split("\n")).toEqual([
        "Policy tests: 2 of 12 cases failed:",
        "✗ case 0 (c0@x.test) at policy.test.yaml:3:3",
        "  expected accept, the rules gave reject",
        "  rule strangers: not a partner",
        "✗ g@x.test at policy.test.yaml:8:3",
        "  expected groups [Staff], group sync gives [Friends]",
        "  default (no rule matches)",
      ]);
    });

    it("shows at most 10 failing cases, then counts the rest", () => {
      const lines = policyTestReply(report(Array.from({ length: 14 }, (_, i) => failure(i)), 20)).split("\n");
      expect(lines[0]).toBe("Policy tests: 14 of 20 cases failed:");
      expect(lines.filter((l) => l.startsWith("✗ "))).toHaveLength(10);
      expect(lines.at(-1)).toBe("… and 4 more failing");
    });
  });

  describe("replay", () => {
    const base: ReplayReport = {
      files: ["/data/audit.log"],
      since: "2024-12-25T12:00:00.000Z",
      lines: 60,
      malformed: 0,
      decisions: 50,
      replayed: 40,
      changed: 0,
      matrix: { accept: { accept: 20 }, reject: { reject: 20 } },
      flips: [],
      apart: { plugin: 0, admin: 0, rateLimit: 0, other: 0 },
      withoutRosterFacts: 0,
    };
    const flip = (rule: string | undefined, n: number, over: Partial<ReplayFlipGroup> = {}): ReplayFlipGroup => ({
      rule,
      action: "reject",
      count: n,
      from: { accept: n },
      jids: Array.from({ length: Math.min(n, 8) }, (_, i) => `${rule ?? "d"}${i}@x.test`),
      more: false,
      ...over,
    });

    it("nothing changes: one verdict line", () => {
      expect(replayReply(base, 7).split("\n")).toEqual([
        "Replay of the last 7 days (since 2024-12-25 12:00 UTC) against the running rules:",
        "50 decisions, 40 of them by the rules (replayed): none would change.",
      ]);
    });

    it("gives the old -> new counts, the flip groups with a few JIDs each, and the decisions set apart", () => {
      const r: ReplayReport = {
        ...base,
        changed: 5,
        matrix: { accept: { accept: 17, reject: 3 }, reject: { reject: 18, accept: 2 } },
        flips: [flip("spammers", 3), flip(undefined, 2, { action: "accept", from: { reject: 2 } })],
        apart: { plugin: 4, admin: 1, rateLimit: 0, other: 5 },
        withoutRosterFacts: 2,
        malformed: 1,
      };
      expect(replayReply(r, 1).split("\n")).toEqual([
        "Replay of the last 1 day (since 2024-12-25 12:00 UTC) against the running rules:",
        "50 decisions, 40 of them by the rules (replayed): 5 would change.",
        "accept -> reject: 3",
        "reject -> accept: 2",
        "now reject by rule spammers: 3 (was accept 3)",
        "  spammers0@x.test, spammers1@x.test, spammers2@x.test",
        "now accept by the default: 2 (was reject 2)",
        "  d0@x.test, d1@x.test",
        "Not replayed (the rules alone cannot say): plugin 4, admin 1, other 5.",
        '2 replayed as "not in the roster" (their audit lines have no roster state).',
        "1 malformed line skipped.",
      ]);
    });

    it("is bounded: 5 JIDs per group, 5 groups, the rest counted", () => {
      const flips = [flip("a", 40, { more: true }), flip("b", 6), flip("c", 5, { from: { accept: 3, ask: 2 } }), flip("d", 4, { more: true }), flip("e", 3), flip("f", 2), flip("g", 1)];
      const lines = replayReply({ ...base, changed: 61, flips }, 30).split("\n");
      expect(lines).toContain("  a0@x.test, a1@x.test, a2@x.test, a3@x.test, a4@x.test, …");
      expect(lines).toContain("  b0@x.test, b1@x.test, b2@x.test, b3@x.test, b4@x.test, …");
      expect(lines).toContain("now reject by rule c: 5 (was accept 3, ask 2)");
      expect(lines).toContain("  c0@x.test, c1@x.test, c2@x.test, c3@x.test, c4@x.test");
      expect(lines).toContain("  d0@x.test, d1@x.test, d2@x.test, d3@x.test, …");
      expect(lines.filter((l) => l.startsWith("now "))).toHaveLength(5);
      expect(lines.at(-1)).toBe("… and 2 more groups (3 decisions)");
    });

    it("says when no request was decided in range (no audit log, or none written in those days)", () => {
      const none = { ...base, files: [], lines: 0, decisions: 0, replayed: 0, matrix: {} };
      expect(replayReply(none, 7).split("\n")).toEqual(["Replay of the last 7 days (since 2024-12-25 12:00 UTC) against the running rules:", "no subscription requests were decided."]);
      expect(replayReply({ ...base, decisions: 0, replayed: 0, matrix: {}, malformed: 3 }, 7).split("\n").slice(1)).toEqual(["no subscription requests were decided.", "3 malformed lines skipped."]);
    });
  });
});
