/** Commands against a stand-in for the roster service (only the public contract is used). */
import { describe, expect, it } from "vitest";
import type { GrantResult, GroupSyncApi, PendingRequest, RosterItem, RosterService, SubscriptionDecision, SubscriptionsApi } from "../roster/api.ts";
import { parseCommand, type Command } from "./commands.ts";
import { runCommand } from "./run-command.ts";
import { DecisionCounter } from "./stats.ts";

const item = (jid: string, over: Partial<RosterItem> = {}): RosterItem => ({ jid, groups: [], subscription: "none", approved: false, ...over });

function fakeRoster(over: { groups?: GroupSyncApi; loaded?: boolean; items?: RosterItem[]; pending?: string[]; grant?: Partial<GrantResult> } = {}) {
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
    list: () => items,
    inGroup: (g: string) => items.filter((i) => i.groups.includes(g)),
    get: (jid: string) => items.find((i) => i.jid === jid),
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
  const run = (roster: RosterService, text: string) => runCommand(cmd(text), { roster, counter, admin: "boss@b.test" });

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
    expect((await run(roster, "plan")).reply).toBe('Group sync would make 1 change:\n+ n@b.test [Team]\nSend "sync" to apply.');
    expect((await run(roster, "sync")).reply).toBe("Group sync: applied 1 of 1.");
    expect(triggers).toEqual(["manual"]);
  });
});
