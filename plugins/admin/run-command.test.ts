/** Commands against a stand-in for the roster service (only the public contract is used). */
import { describe, expect, it } from "vitest";
import {
  RosterError,
  type BlockEntry,
  type BlockingApi,
  type BlockOutcome,
  type GrantResult,
  type GroupSyncApi,
  type PendingRequest,
  type PolicyApi,
  type ReplayReport,
  type RosterItem,
  type RosterService,
  type SubscriptionDecision,
  type SubscriptionsApi,
} from "../roster/api.ts";
import { parseCommand, type Command } from "./commands.ts";
import { runCommand } from "./run-command.ts";
import { DecisionCounter } from "./stats.ts";

const item = (jid: string, over: Partial<RosterItem> = {}): RosterItem => ({ jid, groups: [], subscription: "none", approved: false, ...over });

/** A blocklist stand-in: `entries` is the server's list; calls are recorded as text. */
function fakeBlocking(calls: string[], entries: BlockEntry[], over: { supported?: boolean; fail?: Error } = {}): BlockingApi {
  const domainOf = (jid: string) => jid.slice(jid.lastIndexOf("@") + 1);
  return {
    supported: over.supported ?? true,
    list: () => entries.slice(),
    blockedBy: (jid) => entries.find((e) => e.jid === jid) ?? entries.find((e) => e.jid === domainOf(jid)),
    block: async (jid, o = {}) => {
      calls.push(`block ${jid} by=${o.by} for=${o.forMs}`);
      if (over.fail) throw over.fail;
      const key = jid.toLowerCase();
      const scope = key.includes("@") ? "bare" : "domain";
      if (!(over.supported ?? true)) return { jid: key, scope, outcome: "unsupported" } satisfies BlockOutcome;
      if (entries.some((e) => e.jid === key)) return { jid: key, scope, outcome: "already" } satisfies BlockOutcome;
      const expires = o.forMs === undefined ? undefined : new Date(Date.now() + o.forMs).toISOString();
      entries.push({ jid: key, owned: true, by: o.by, since: new Date().toISOString(), ...(expires ? { expires } : {}) });
      return { jid: key, scope, outcome: "blocked", ...(expires ? { expires } : {}) } satisfies BlockOutcome;
    },
    unblock: async (jid, o = {}) => {
      calls.push(`unblock ${jid} by=${o.by}`);
      if (over.fail) throw over.fail;
      const i = entries.findIndex((e) => e.jid === jid.toLowerCase());
      if (i === -1) return { jid, outcome: "not-blocked" };
      entries.splice(i, 1);
      return { jid, outcome: "unblocked" };
    },
    plan: () => ({ supported: over.supported ?? true, lift: [], forget: [] }),
  };
}

function fakeRoster(
  over: { groups?: GroupSyncApi; policy?: PolicyApi; loaded?: boolean; items?: RosterItem[]; pending?: string[]; grant?: Partial<GrantResult>; blocklist?: BlockEntry[]; blocking?: { supported?: boolean; fail?: Error } } = {},
) {
  const pending: PendingRequest[] = (over.pending ?? ["held@a.test"]).map((jid) => ({ jid, since: new Date().toISOString(), decidedBy: "rules", rule: "held", reason: "r" }));
  const calls: string[] = [];
  const decision = (jid: string, action: SubscriptionDecision["action"], by: string, sent: string[]): SubscriptionDecision => ({ jid, action, decidedBy: by, rule: undefined, reason: "", sent });
  const subscriptions: SubscriptionsApi = {
    pending: () => pending.slice(),
    approve: async (jid, o = {}) => {
      calls.push(`approve ${jid} by=${o.by} mutual=${o.mutual}`);
      pending.splice(pending.findIndex((p) => p.jid === jid) >>> 0, 1);
      return decision(jid, o.mutual ? "mutual" : "accept", o.by ?? "admin", o.mutual ? ["subscribe", "subscribed"] : ["subscribed"]);
    },
    deny: async (jid, o = {}) => {
      if (jid === "boom@a.test") throw new Error("roster deny boom@a.test failed: offline");
      calls.push(`deny ${jid} by=${o.by}`);
      return decision(jid, "reject", o.by ?? "admin", ["unsubscribed"]);
    },
    grant: async (jid, o = {}) => {
      calls.push(`grant ${jid} by=${o.by}`);
      return { jid, outcome: "sent", sent: ["subscribed"], before: undefined, after: { subscription: "none", approved: false }, pushed: true, preApproval: true, ...over.grant };
    },
    explain: (jid) => ({ jid, action: "reject", decidedBy: "default", rule: undefined, reason: "no rule matches", needsRoster: [] }),
  };
  const items = over.items ?? [item("a@b.test", { subscription: "both", groups: ["Team"] }), item("c@d.test")];
  const roster = {
    account: "bot@a.test",
    loaded: over.loaded ?? true,
    subscriptions,
    groups: over.groups,
    policy: over.policy,
    list: () => items,
    inGroup: (g: string) => items.filter((i) => i.groups.includes(g)),
    get: (jid: string) => items.find((i) => i.jid === jid),
    blocking: fakeBlocking(calls, over.blocklist ?? [], over.blocking),
  } as unknown as RosterService;
  return { roster, calls };
}

const cmd = (text: string): Command => {
  const r = parseCommand(text);
  if (!r.ok) throw new Error(r.message);
  return r.command;
};

describe("runCommand", () => {
  const counter = new DecisionCounter();
  const run = (roster: RosterService, text: string) => runCommand(cmd(text), { roster, counter, admin: "boss@b.test", admins: new Set(["boss@b.test", "ops@ops.test"]) });

  it("approve and deny go through subscriptions with the admin as the decider", async () => {
    const { roster, calls } = fakeRoster({ pending: ["held@a.test", "x@a.test"] });
    expect(await run(roster, "approve held@a.test")).toEqual({ reply: "Approved held@a.test: sent subscribed.", result: "ok" });
    expect((await run(roster, "approve x@a.test mutual")).reply).toBe("Approved x@a.test: sent subscribe + subscribed.");
    expect((await run(roster, "deny y@a.test")).reply).toBe("Denied y@a.test (it was not pending): sent unsubscribed.");
    expect(calls).toEqual(["approve held@a.test by=boss@b.test mutual=false", "approve x@a.test by=boss@b.test mutual=true", "deny y@a.test by=boss@b.test"]);
  });

  it("approve of a JID with no held request calls nothing and names the closest held ones", async () => {
    const { roster, calls } = fakeRoster({ pending: ["held1@c.test", "held2@c.test", "alice@example.org"] });
    expect(await run(roster, "approve held3@c.test")).toEqual({
      reply: 'No request from held3@c.test is held; nothing sent.\nDid you mean held1@c.test or held2@c.test?\nTo give held3@c.test the bot\'s presence without a request, send "grant held3@c.test".',
      result: "not pending",
    });
    expect((await run(roster, "approve nobody@x.test mutual")).reply.split("\n").slice(0, 2)).toEqual([
      "No request from nobody@x.test is held; nothing sent.",
      '3 pending; send "pending" for the list.',
    ]);
    expect((await run(fakeRoster({ pending: [] }).roster, "approve nobody@x.test")).reply.split("\n")[1]).toBe("Nothing is pending.");
    expect(calls).toEqual([]);
  });

  it("grant calls grant with the admin and says what was sent", async () => {
    const { roster, calls } = fakeRoster();
    expect(await run(roster, "grant New@x.test")).toEqual({
      reply:
        "Granted new@x.test without a request: sent subscribed.\nThe server keeps them pre-approved (RFC 6121 §3.4): when they ask, it accepts without asking the bot.\nIt added them to the roster (subscription none).",
      result: "ok",
    });
    expect(calls).toEqual(["grant new@x.test by=boss@b.test"]);
    expect((await run(fakeRoster({ grant: { outcome: "approved" } }).roster, "grant held@a.test")).reply).toBe("held@a.test had a held request, so it was approved: sent subscribed.");
    expect((await run(roster, "grant bot@a.test")).reply).toBe("That is the bot's own account.");
  });

  it("does not approve or deny the bot's own account", async () => {
    const { roster, calls } = fakeRoster();
    expect((await run(roster, "deny Bot@A.test")).reply).toBe("That is the bot's own account.");
    expect(calls).toEqual([]);
  });

  it("a failing call becomes a reply and an error result, never a throw", async () => {
    const { roster } = fakeRoster();
    expect(await run(roster, "deny boom@a.test")).toEqual({
      reply: "deny failed: roster deny boom@a.test failed: offline",
      result: "error: roster deny boom@a.test failed: offline",
    });
  });

  it("roster, explain, pending, stats and help read the service", async () => {
    const { roster } = fakeRoster();
    expect((await run(roster, "roster")).reply).toBe('2 contacts:\na@b.test both [Team]\nc@d.test none');
    expect((await run(roster, "roster Team")).reply).toBe('1 contact in group "Team":\na@b.test both [Team]');
    expect((await run(roster, "explain a@b.test")).reply).toContain("a@b.test: reject\ndefault (no rule matches)\nin roster: both [Team]");
    expect((await run(roster, "pending")).reply).toMatch(/^1 pending:\nheld@a\.test - \d+s ago \(rule held\)/);
    expect((await run(roster, "stats")).reply).toMatch(/^Contacts: 2 \(both 1, from 0, to 0, none 1\)\nPending: 1\n/);
    expect((await run(roster, "help")).reply).toMatch(/^Commands:\n/);
  });

  it("says so when the roster is not loaded yet", async () => {
    const { roster } = fakeRoster({ loaded: false });
    expect((await run(roster, "roster")).reply).toMatch(/not loaded yet/);
  });

  it("plan and sync use the group sync API", async () => {
    const change = { jid: "n@b.test", op: "add" as const, groups: { before: [], after: ["Team"] }, name: { before: undefined, after: undefined } };
    const triggers: (string | undefined)[] = [];
    const groups: GroupSyncApi = {
      plan: () => ({ changes: [change], heldBack: 0 }),
      sync: async (trigger) => {
        triggers.push(trigger);
        return { plan: { changes: [change], heldBack: 0 }, applied: [change], failed: [], trigger: trigger ?? "manual" };
      },
    };
    const { roster } = fakeRoster({ groups });
    expect((await run(roster, "plan")).reply).toBe('Group sync would make 1 change:\n+ n@b.test [Team]\nSend "sync" to apply.\nBlocklist: nothing to change.');
    expect((await run(roster, "sync")).reply).toBe("Group sync: applied 1 of 1.");
    expect(triggers).toEqual(["manual"]);
  });

  describe("blocking", () => {
    it("block goes to roster.blocking with the admin as who, and the duration", async () => {
      const { roster, calls } = fakeRoster();
      const out = await run(roster, "block Spam.Example 7d");
      expect(out.result).toBe("ok");
      expect(out.reply).toMatch(/^Blocked spam\.example \(domain\) at the server until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(7d\)\.$/);
      expect(await run(roster, "block xmpp:s@x.test/bot")).toEqual({ reply: 'Blocked s@x.test at the server, with no expiry: "unblock s@x.test" lifts it.', result: "ok" });
      expect(calls).toEqual(["block spam.example by=admin:boss@b.test for=604800000", "block s@x.test by=admin:boss@b.test for=undefined"]);
    });

    it("block sends the spelling typed when it differs by more than case (A-labels)", async () => {
      const { roster, calls } = fakeRoster();
      await run(roster, "block a@xn--bcher-kva.example");
      expect(calls).toEqual(["block a@xn--bcher-kva.example by=admin:boss@b.test for=undefined"]);
    });

    it("block of a person's entry says so and leaves it", async () => {
      const { roster } = fakeRoster({ blocklist: [{ jid: "troll@x.test", owned: false }] });
      expect(await run(roster, "block troll@x.test 1d")).toEqual({ reply: "troll@x.test is already blocked, by a person (not the bot): left as it is.", result: "already" });
    });

    it("refuses to block the bot, its server, the sender or another admin, and calls nothing", async () => {
      const { roster, calls } = fakeRoster();
      expect(await run(roster, "block bot@a.test")).toEqual({ reply: "That would block the bot's own account (or its server); nothing blocked.", result: "refused" });
      expect((await run(roster, "block A.test")).result).toBe("refused");
      expect((await run(roster, "block b.test")).reply).toBe("That would block your own messages to the bot; nothing blocked.");
      expect((await run(roster, "block ops@ops.test")).reply).toBe("That would stop admin ops@ops.test's commands reaching the bot; nothing blocked.");
      expect((await run(roster, "block ops.test 1h")).result).toBe("refused");
      expect(calls).toEqual([]);
    });

    it("no server support, offline and a server refusal become plain replies", async () => {
      expect(await run(fakeRoster({ blocking: { supported: false } }).roster, "block a@x.test")).toEqual({
        reply: "Nothing blocked: the server does not support blocking (no XEP-0191).",
        result: "unsupported",
      });
      const offline = fakeRoster({ blocking: { fail: new RosterError("offline", "a@x.test", "get") } }).roster;
      expect((await run(offline, "block a@x.test")).reply).toBe("The bot is not connected to its server; nothing blocked. Try again when it is online.");
      expect((await run(offline, "unblock a@x.test")).result).toMatch(/^error: /);
      const refused = fakeRoster({ blocking: { fail: new RosterError("forbidden", "a@x.test", "get") } }).roster;
      expect((await run(refused, "unblock a@x.test")).reply).toBe("The server refused to unblock a@x.test (forbidden); nothing lifted.");
    });

    it("unblock lifts any entry, says whose it was, and points at a domain entry that still blocks", async () => {
      const blocklist: BlockEntry[] = [
        { jid: "spam.example", owned: true, by: "rules", rule: "flooders" },
        { jid: "t@x.test/phone", owned: false },
      ];
      const { roster, calls } = fakeRoster({ blocklist });
      expect(await run(roster, "unblock a@spam.example")).toEqual({
        reply: 'a@spam.example is not blocked; nothing to lift.\nIt is blocked by the entry spam.example (domain): send "unblock spam.example" to lift that.',
        result: "not blocked",
      });
      expect((await run(roster, "unblock T@X.test/phone")).reply).toBe("Unblocked t@x.test/phone. It was a person's entry (not the bot's).");
      expect((await run(roster, "unblock spam.example")).reply).toBe("Unblocked spam.example (domain). It was added by rule flooders.");
      expect(calls).toEqual(["unblock a@spam.example by=admin:boss@b.test", "unblock t@x.test/phone by=admin:boss@b.test", "unblock spam.example by=admin:boss@b.test"]);
    });

    it("blocked lists the entries once the roster is loaded; explain shows a block in force", async () => {
      const blocklist: BlockEntry[] = [{ jid: "spam.example", owned: true, by: "admin:boss@b.test", since: new Date().toISOString() }];
      const { roster } = fakeRoster({ blocklist });
      expect((await run(roster, "blocked")).reply).toMatch(/^1 entry blocked \(1 by the bot, 0 not the bot\):\nspam\.example \(domain\) - admin:boss@b\.test, \d+s ago, no expiry$/);
      expect((await run(roster, "explain a@spam.example")).reply).toContain("\nblocked at the server: spam.example (domain) - admin:boss@b.test");
      expect((await run(fakeRoster({ loaded: false }).roster, "blocked")).reply).toMatch(/not loaded yet/);
    });
  });

  describe("policy", () => {
    const failed = (name: string) => ({
      at: "policy.test.yaml:3:3",
      name,
      jid: "alice@partner.test",
      mismatches: ["expected accept, the rules gave reject"],
      explanation: { jid: "alice@partner.test", action: "reject" as const, decidedBy: "rules" as const, rule: "strangers", reason: "not a partner", needsRoster: [] },
    });
    const replayed: ReplayReport = {
      files: ["/data/audit.log"],
      since: "2025-01-01T00:00:00.000Z",
      lines: 3,
      malformed: 0,
      decisions: 3,
      replayed: 3,
      changed: 1,
      matrix: { accept: { reject: 1 }, reject: { reject: 2 } },
      flips: [{ rule: "strangers", action: "reject", count: 1, from: { accept: 1 }, jids: ["bob@x.test"], more: false }],
      apart: { plugin: 0, admin: 0, rateLimit: 0, other: 0 },
      withoutRosterFacts: 0,
    };
    /** A policy stand-in: `test` gives `report` (or throws `fail`), `replay` records its `since`. */
    function fakePolicy(over: { failed?: string[]; fail?: Error; replayFail?: Error } = {}) {
      const since: (Date | undefined)[] = [];
      const policy: PolicyApi = {
        test: async () => {
          if (over.fail) throw over.fail;
          const failures = (over.failed ?? []).map(failed);
          return { files: ["policy.test.yaml"], total: 12, passed: 12 - failures.length, failed: failures };
        },
        replay: async (o = {}) => {
          since.push(o.since);
          if (over.replayFail) throw over.replayFail;
          return replayed;
        },
      };
      return { policy, since };
    }
    const now = Date.parse("2025-01-08T00:00:00Z");
    const runAt = (policy: PolicyApi, text: string) => runCommand(cmd(text), { roster: fakeRoster({ policy }).roster, counter, admin: "boss@b.test", now: () => now });

    it("test replies with the report; failing cases are in the audit result", async () => {
      expect(await runAt(fakePolicy().policy, "test")).toEqual({ reply: "Policy tests: 12 cases, all passed.", result: "ok" });
      const out = await runAt(fakePolicy({ failed: ["partners are let in", "second"] }).policy, "test");
      expect(out.result).toBe("2 of 12 cases failed");
      expect(out.reply.split("\n").slice(0, 4)).toEqual([
        "Policy tests: 2 of 12 cases failed:",
        "✗ partners are let in (alice@partner.test) at policy.test.yaml:3:3",
        "  expected accept, the rules gave reject",
        "  rule strangers: not a partner",
      ]);
    });

    it("a case file that cannot be read becomes a reply with its problems, at most 10 lines", async () => {
      const issues = Array.from({ length: 12 }, (_, i) => `policy.test.yaml:${i + 1}:3: expect: must be one of accept, reject`);
      const out = await runAt(fakePolicy({ fail: new Error(issues.join("\n")) }).policy, "test");
      expect(out.result).toBe("error: policy.test.yaml:1:3: expect: must be one of accept, reject");
      const lines = out.reply.split("\n");
      expect(lines[0]).toBe("The policy test cases could not be run:");
      expect(lines.slice(1, 11)).toEqual(issues.slice(0, 10));
      expect(lines.at(-1)).toBe("… and 2 more");
    });

    it("replay asks for the last N days (7 by default) and replies with what would change", async () => {
      const { policy, since } = fakePolicy();
      const out = await runAt(policy, "replay");
      expect(out.result).toBe("ok");
      expect(out.reply.split("\n").slice(0, 4)).toEqual([
        "Replay of the last 7 days (since 2025-01-01 00:00 UTC) against the running rules:",
        "3 decisions, 3 of them by the rules (replayed): 1 would change.",
        "accept -> reject: 1",
        "now reject by rule strangers: 1 (was accept 1)",
      ]);
      await runAt(policy, "replay 30");
      expect(since.map((d) => d?.toISOString())).toEqual(["2025-01-01T00:00:00.000Z", "2024-12-09T00:00:00.000Z"]);
    });

    it("a failing replay becomes a reply and an error result", async () => {
      const out = await runAt(fakePolicy({ replayFail: new Error("EACCES: permission denied, open '/data/audit.log'") }).policy, "replay 2");
      expect(out).toEqual({ reply: "replay failed: EACCES: permission denied, open '/data/audit.log'", result: "error: EACCES: permission denied, open '/data/audit.log'" });
    });
  });
});
