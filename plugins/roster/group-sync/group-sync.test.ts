/** GroupSync without a network: triggers, one sync at a time, hooks, reload and the loop guards. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotifyHook } from "../../../bots/hooks.ts";
import { fakeShared } from "../../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../../test/helpers/tmp.ts";
import type { RosterItemInput, SyncResult } from "../api.ts";
import { cleanGroups, cleanName, DEFAULT_LIMITS, type RosterItem } from "../item.ts";
import type { RosterChange } from "../copy.ts";
import { groupsSchema } from "./config.ts";
import { GroupSync, type GroupSyncParts } from "./group-sync.ts";
import { pause, until } from "../../../test/helpers/wait.ts";

/** A roster copy that answers sets like a server would (optionally altering what it stores). */
function fakeRoster(items: RosterItem[], logger: ReturnType<typeof fakeShared>["logger"]) {
  const copy = new Map(items.map((i) => [i.jid, i]));
  const listeners = new Set<(c: RosterChange) => void>();
  const sets: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const state = { loaded: true, alter: undefined as ((groups: string[]) => string[]) | undefined, delayMs: 5 };
  const push = (jid: string, after: RosterItem | undefined) => {
    const before = copy.get(jid);
    if (after) copy.set(jid, after);
    else copy.delete(jid);
    for (const l of listeners) l({ jid, before, after });
  };
  const hooks = { loaded: new NotifyHook("loaded", logger) };
  const service = {
    account: "bot@x.test",
    hooks,
    features: { versioning: true, preApproval: false },
    get loaded() {
      return state.loaded;
    },
    whenLoaded: async () => {},
    get: (jid: string) => copy.get(jid),
    list: () => [...copy.values()],
    unreadable: () => [],
    isUnreadable: () => false,
    snapshotAndListen(l: (c: RosterChange) => void) {
      listeners.add(l);
      return { items: [...copy.values()], stop: () => void listeners.delete(l) };
    },
    async set(input: RosterItemInput) {
      const groups = cleanGroups(input.groups ?? []);
      sets.push(`${input.jid} ${groups.join(",")}`);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, state.delayMs));
      inFlight--;
      const before = copy.get(input.jid);
      const name = cleanName(input.name);
      push(input.jid, { jid: input.jid, ...(name ? { name } : {}), groups: cleanGroups(state.alter ? state.alter(groups) : groups), subscription: before?.subscription ?? "none", approved: false });
      return copy.get(input.jid);
    },
    async remove(jid: string) {
      sets.push(`remove ${jid}`);
      push(jid, undefined);
    },
    async subscribe() {},
    async preApprove() {},
  } as unknown as GroupSyncParts["roster"];
  return { service, sets, push, state, maxInFlight: () => maxInFlight };
}

const item = (jid: string, groups: string[] = []): RosterItem => ({ jid, groups, subscription: "both", approved: false });

describe("GroupSync", () => {
  let tmp: TempDir;
  beforeEach(() => {
    tmp = tempDir("group-sync-");
  });
  afterEach(() => tmp.remove());

  function setup(items: RosterItem[], groups: unknown) {
    const shared = fakeShared(tmp.dir, "bot@x.test");
    const ctx = shared.context("roster");
    const roster = fakeRoster(items, shared.logger);
    const results: SyncResult[] = [];
    const sync = new GroupSync(ctx, { roster: roster.service, pending: new Set() }, groupsSchema.parse(groups), { limits: DEFAULT_LIMITS, debounceMs: 20 });
    sync.hooks.afterGroupSync.tap("test", (r) => void results.push(r));
    return { ...roster, ctx, sync, results, logs: shared.logs };
  }

  const STAFF = { managed: ["Staff"], assign: [{ group: "Staff", match: { domain: "x.test" } }] };

  it("runs one sync at a time; calls during a sync share one more run after it", async () => {
    const t = setup([item("a@x.test"), item("b@x.test")], { ...STAFF, auto: false });
    const first = t.sync.sync();
    const second = t.sync.sync("manual");
    const third = t.sync.sync("manual");
    expect(second).toBe(third);
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.applied).toHaveLength(2);
    expect(r2.applied).toHaveLength(0); // the second run found the work done
    expect(t.sets).toEqual(["a@x.test Staff", "b@x.test Staff"]);
    await t.ctx.dispose();
  });

  it("auto: the loaded hook and a push that needs a change trigger a sync; an echo does not", async () => {
    const t = setup([item("a@x.test")], STAFF);
    await t.service.hooks.loaded.emit({ items: [], version: "1", kind: "full", fromCache: false, changes: [] });
    await until(() => t.results.length === 1);
    expect(t.results[0]!.trigger).toBe("loaded");
    // A person adds a contact by hand: one push, one sync.
    t.push("new@x.test", item("new@x.test", ["Golf"]));
    await until(() => t.results.length === 2);
    expect(t.results[1]!.trigger).toBe("push");
    await pause(60);
    expect(t.sets).toEqual(["a@x.test Staff", "new@x.test Golf,Staff"]);
    expect(t.results).toHaveLength(2);
    // A push that needs nothing starts nothing.
    t.push("other@y.test", item("other@y.test", ["Golf"]));
    await pause(60);
    expect(t.results).toHaveLength(2);
    await t.ctx.dispose();
  });

  it("auto: false: nothing runs by itself", async () => {
    const t = setup([item("a@x.test")], { ...STAFF, auto: false });
    await t.service.hooks.loaded.emit({ items: [], version: "1", kind: "full", fromCache: false, changes: [] });
    t.push("new@x.test", item("new@x.test"));
    await pause(60);
    expect(t.sets).toEqual([]);
    expect(t.sync.plan().changes).toHaveLength(2);
    await t.ctx.dispose();
  });

  it("a burst of pushes is gathered into one sync", async () => {
    const t = setup([], STAFF);
    for (let i = 0; i < 30; i++) t.push(`u${i}@x.test`, item(`u${i}@x.test`));
    await until(() => t.sets.length === 30);
    await pause(60);
    expect(t.results).toHaveLength(1);
    expect(t.maxInFlight()).toBe(16);
    await t.ctx.dispose();
  });

  it("does not fight a server that stores something else than what was set", async () => {
    const t = setup([item("a@x.test")], STAFF);
    t.state.alter = (groups) => groups.map((g) => g.toUpperCase());
    await t.sync.sync();
    expect(t.service.get("a@x.test")!.groups).toEqual(["STAFF"]);
    expect(t.logs.messages()).toContain("group sync: the server kept a different item than the one set; leaving this contact alone while it stays so");
    expect(t.sync.plan().changes).toEqual([]);
    await pause(60); // the altered echo push started nothing
    await t.sync.sync();
    expect(t.sets).toEqual(["a@x.test Staff"]);
    // When the contact changes again, the guard lets go.
    t.state.alter = undefined;
    t.push("a@x.test", item("a@x.test", ["Golf"]));
    await until(() => t.service.get("a@x.test")!.groups.join() === "Golf,Staff");
    expect(t.sets).toEqual(["a@x.test Staff", "a@x.test Golf,Staff"]);
    await t.ctx.dispose();
  });

  it("the pushes of its own sets are echoes, never triggers, whatever the server stored", async () => {
    const t = setup([item("a@x.test"), item("b@x.test")], STAFF);
    t.state.alter = (groups) => groups.map((g) => g.toUpperCase());
    await t.sync.sync();
    const triggered = () => t.logs.messages().filter((m) => m.startsWith("group sync: a roster push"));
    await pause(60);
    expect(triggered()).toEqual([]);
    // A person's change to another contact during a sync still triggers one.
    t.state.alter = undefined;
    t.state.delayMs = 30;
    const running = t.sync.sync();
    t.push("c@x.test", item("c@x.test"));
    await running;
    await until(() => t.sets.includes("c@x.test Staff"));
    expect(triggered()).toHaveLength(1);
    await t.ctx.dispose();
  });

  it("reload: a config that does not compile is refused before anything changes; a good one syncs", async () => {
    const t = setup([item("a@y.test")], STAFF);
    expect(() => t.sync.prepare(groupsSchema.parse({ assign: [{ group: "G", match: { list: "./missing.txt" } }] }))).toThrow(/cannot read list file/);
    expect(t.sync.plan().changes).toEqual([]);
    t.sync.reload(groupsSchema.parse({ managed: ["Staff"], assign: [{ group: "Staff", match: { domain: "y.test" } }] }));
    await until(() => t.results.length === 1);
    expect(t.results[0]!.trigger).toBe("reload");
    expect(t.sets).toEqual(["a@y.test Staff"]);
    await t.ctx.dispose();
  });

  it("a tap that returns something that is not a plan aborts the sync: nothing is applied", async () => {
    const t = setup([item("a@x.test")], { ...STAFF, auto: false });
    t.sync.hooks.beforeGroupSync.tap("bad", () => ({ changes: [{ jid: "a@x.test", op: "update" }] }) as never);
    await expect(t.sync.sync()).rejects.toThrow("beforeGroupSync produced an invalid change at changes[0]");
    expect(t.sets).toEqual([]);
    expect(t.results).toEqual([]);
    await t.ctx.dispose();
  });

  it("a declaration of the bot's own account is ignored with a warning, not a failure", async () => {
    const t = setup([], { contacts: [{ jid: "bot@x.test", groups: ["Self"] }, { jid: "ops@x.test" }], auto: false });
    expect(t.logs.messages()).toContain("group sync: the bot's own account is declared as a contact; ignored");
    expect(t.sync.plan().changes.map((c) => c.jid)).toEqual(["ops@x.test"]);
    await t.ctx.dispose();
  });

  it("automatic triggers skip while the roster is not loaded", async () => {
    const t = setup([item("a@x.test")], STAFF);
    t.state.loaded = false;
    t.push("b@x.test", item("b@x.test"));
    await pause(60);
    expect(t.sets).toEqual([]);
    await t.ctx.dispose();
  });
});
