import { describe, expect, it } from "vitest";
import type { GroupChange, RosterItemInput } from "../api.ts";
import { RosterError } from "../errors.ts";
import { cleanGroups, DEFAULT_LIMITS, type RosterItem } from "../item.ts";
import { applyPlan, type ApplyTarget } from "./applier.ts";

/** A roster that behaves like the server: set replaces name and groups, keeps subscription state. */
function fakeRoster(initial: RosterItem[] = [], preApproval = true) {
  const items = new Map(initial.map((i) => [i.jid, i]));
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const failures = new Map<string, RosterError[]>();
  const step = async (call: string, jid: string) => {
    calls.push(call);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
    const f = failures.get(jid)?.shift();
    if (f) throw f;
  };
  const target: ApplyTarget = {
    features: { versioning: true, preApproval },
    get: (jid) => items.get(jid),
    async set(input: RosterItemInput) {
      await step(`set ${input.jid} ${[...(input.groups ?? [])].join(",")}${input.name ? ` "${input.name}"` : ""}`, input.jid);
      const before = items.get(input.jid);
      const item: RosterItem = { jid: input.jid, ...(input.name ? { name: input.name } : {}), groups: cleanGroups(input.groups ?? []), subscription: before?.subscription ?? "none", ...(before?.ask ? { ask: before.ask } : {}), approved: false };
      items.set(input.jid, item);
      return item;
    },
    async remove(jid) {
      await step(`remove ${jid}`, jid);
      if (!items.delete(jid)) throw new RosterError("item-not-found", jid, "remove");
    },
    async subscribe(jid) {
      await step(`subscribe ${jid}`, jid);
      items.set(jid, { ...items.get(jid)!, ask: "subscribe" });
    },
    async preApprove(jid) {
      await step(`preApprove ${jid}`, jid);
    },
  };
  return { target, items, calls, failures, maxInFlight: () => maxInFlight };
}

const item = (jid: string, groups: string[] = [], extra: Partial<RosterItem> = {}): RosterItem => ({ jid, groups, subscription: "none", approved: false, ...extra });
const update = (jid: string, before: string[], after: string[], extra: Partial<GroupChange> = {}): GroupChange => ({
  jid,
  op: "update",
  groups: { before, after },
  name: { before: undefined, after: undefined },
  ...extra,
});
const opts = { by: "group-sync", limits: DEFAULT_LIMITS, sleep: async () => {} };

describe("applyPlan", () => {
  it("sends set, subscribe and pre-approval in the contact's spelling, looking it up by its normal form", async () => {
    const { target, calls } = fakeRoster();
    const add: GroupChange = { jid: "a@bücher.test", op: "add", groups: { before: [], after: ["Desk"] }, name: { before: undefined, after: undefined }, subscribe: true };
    const out = await applyPlan([add], target, { ...opts, wantsMutual: () => true, addressOf: (jid) => jid.replace("bücher", "xn--bcher-kva") });
    expect(out.failed).toEqual([]);
    expect(calls).toEqual(["set a@xn--bcher-kva.test Desk", "subscribe a@xn--bcher-kva.test", "preApprove a@xn--bcher-kva.test"]);
  });

  it("sends one full-item set per change, with bounded concurrency", async () => {
    const initial = Array.from({ length: 40 }, (_, i) => item(`u${i}@x.test`, ["Golf"]));
    const { target, calls, maxInFlight } = fakeRoster(initial);
    const changes = initial.map((i) => update(i.jid, ["Golf"], ["Golf", "Staff"]));
    const out = await applyPlan(changes, target, { ...opts, concurrency: 4 });
    expect(out.failed).toEqual([]);
    expect(out.applied.map((a) => a.change)).toEqual(changes);
    expect(calls).toHaveLength(40);
    expect(calls[0]).toBe("set u0@x.test Golf,Staff");
    expect(maxInFlight()).toBe(4);
  });

  it("retries transient errors, reports permanent ones per item, and goes on with the rest", async () => {
    const { target, calls, failures } = fakeRoster([item("a@x.test"), item("b@x.test"), item("c@x.test")]);
    failures.set("a@x.test", [new RosterError("timeout", "a@x.test", "set"), new RosterError("resource-constraint", "a@x.test", "set")]);
    failures.set("b@x.test", [new RosterError("not-acceptable", "b@x.test", "set")]);
    const delays: number[] = [];
    const out = await applyPlan([update("a@x.test", [], ["S"]), update("b@x.test", [], ["S"]), update("c@x.test", [], ["S"])], target, {
      ...opts,
      backoffMs: 100,
      sleep: async (ms) => void delays.push(ms),
    });
    expect(out.applied.map((a) => a.change.jid)).toEqual(["a@x.test", "c@x.test"]);
    expect(out.failed).toEqual([{ change: expect.objectContaining({ jid: "b@x.test" }), error: "roster set b@x.test failed: not-acceptable" }]);
    expect(calls.filter((c) => c.startsWith("set a@"))).toHaveLength(3);
    expect(calls.filter((c) => c.startsWith("set b@"))).toHaveLength(1);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(50);
    expect(delays[1]).toBeGreaterThanOrEqual(100);
  });

  it("gives up on a transient error after the retries", async () => {
    const { target, failures } = fakeRoster([item("a@x.test")]);
    failures.set("a@x.test", Array.from({ length: 5 }, () => new RosterError("offline", "a@x.test", "set")));
    const out = await applyPlan([update("a@x.test", [], ["S"])], target, { ...opts, retries: 2 });
    expect(out.failed).toHaveLength(1);
    expect(failures.get("a@x.test")).toHaveLength(2);
  });

  it("treats removing a contact that is already gone as done", async () => {
    const { target } = fakeRoster([item("a@x.test")]);
    const remove = (jid: string): GroupChange => ({ jid, op: "remove", groups: { before: [], after: [] }, name: { before: undefined, after: undefined } });
    const out = await applyPlan([remove("a@x.test"), remove("gone@x.test")], target, opts);
    expect(out.failed).toEqual([]);
    expect(out.applied.map((a) => [a.change.jid, a.sent])).toEqual([
      ["a@x.test", true],
      ["gone@x.test", false],
    ]);
  });

  it("skips the set when the copy already shows the item", async () => {
    const { target, calls } = fakeRoster([item("a@x.test", ["S"])]);
    const out = await applyPlan([update("a@x.test", ["S"], ["S"])], target, opts);
    expect(calls).toEqual([]);
    expect(out.applied[0]!.sent).toBe(false);
  });

  it("a declared contact with subscribe: set, then subscribe and pre-approve; asked is recorded", async () => {
    const { target, calls } = fakeRoster();
    const asked: string[] = [];
    const add: GroupChange = { jid: "ops@x.test", op: "add", groups: { before: [], after: ["Staff"] }, name: { before: undefined, after: "Ops" }, subscribe: true };
    await applyPlan([add], target, { ...opts, wantsMutual: (j) => j === "ops@x.test", onSubscribed: (j) => void asked.push(j) });
    expect(calls).toEqual(['set ops@x.test Staff "Ops"', "subscribe ops@x.test", "preApprove ops@x.test"]);
    expect(asked).toEqual(["ops@x.test"]);
  });

  it("pre-approves again after a later set, but never when subscribed or unsupported", async () => {
    const mutual = { ...opts, wantsMutual: () => true };
    const a = fakeRoster([item("a@x.test", [], { subscription: "to" })]);
    await applyPlan([update("a@x.test", [], ["S"])], a.target, mutual);
    expect(a.calls).toEqual(["set a@x.test S", "preApprove a@x.test"]);

    const b = fakeRoster([item("b@x.test", [], { subscription: "both" })]);
    await applyPlan([update("b@x.test", [], ["S"], { subscribe: true })], b.target, mutual);
    expect(b.calls).toEqual(["set b@x.test S"]);

    const c = fakeRoster([item("c@x.test")], false);
    await applyPlan([update("c@x.test", [], ["S"], { subscribe: true })], c.target, mutual);
    expect(c.calls).toEqual(["set c@x.test S", "subscribe c@x.test"]);
  });

  it("a failed subscribe fails the change", async () => {
    const { target, failures } = fakeRoster([item("a@x.test")]);
    failures.set("a@x.test", [new RosterError("forbidden", "a@x.test", "subscribe")]);
    const out = await applyPlan([update("a@x.test", [], [], { subscribe: true })], target, { ...opts, wantsMutual: () => true });
    expect(out.failed.map((f) => f.error)).toEqual(["roster subscribe a@x.test failed: forbidden"]);
  });
});
