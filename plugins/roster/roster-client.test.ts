/**
 * RosterClient on a fake connection, for what only shows at size: a large load asks for the heap
 * to be compacted (a small one does not), an "unchanged" answer does not rewrite the cache, and
 * parsed items share their group lists.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import { RosterCache } from "./cache.ts";
import { DEFAULT_LIMITS } from "./item.ts";
import { RosterClient } from "./roster-client.ts";
import type { GroupChange } from "./api.ts";
import { applyPlan } from "./group-sync/applier.ts";

const NS = "jabber:iq:roster";
const BOT = "bot@x.org";

let tmp: TempDir;
beforeEach(() => {
  tmp = tempDir("roster-client-");
});
afterEach(() => tmp.remove());

function rosterResult(count: number, ver: string) {
  return (s: XmlElement) =>
    Promise.resolve(
      xml(
        "iq",
        { type: "result", id: s.attrs.id },
        xml("query", { xmlns: NS, ver }, ...Array.from({ length: count }, (_, i) => xml("item", { jid: `c${i}@b.test`, subscription: "both" }, xml("group", {}, i % 2 ? "Odd" : "Even")))),
      ),
    );
}

async function login(env: ReturnType<typeof fakeShared>): Promise<void> {
  for (const entry of env.shared.lifecycle.filter((e) => e.kind === "session")) await entry.fn();
}

function client(env: ReturnType<typeof fakeShared>, heap = { request: vi.fn() }) {
  const cache = new RosterCache(path.join(tmp.dir, "roster.json"), BOT, env.logger, 0);
  const ctx = env.context("roster");
  const roster = new RosterClient(ctx, { limits: DEFAULT_LIMITS, cache, pushWaitMs: 10, audit: { write: () => {} }, heap });
  return { roster, heap, cache, ctx };
}

const resultOf =
  (...items: XmlElement[]) =>
  (s: XmlElement) =>
    Promise.resolve(xml("iq", { type: "result", id: s.attrs.id }, xml("query", { xmlns: NS, ver: "1" }, ...items)));

function push(env: ReturnType<typeof fakeShared>, el: XmlElement) {
  const query = xml("query", { xmlns: NS }, el);
  return env.router.routeIq(xml("iq", { type: "set", id: "p" }, query), query);
}

/** A session that loads `items` and saves the cache, then a new one whose server reports the roster unchanged. */
async function warmStart(...items: XmlElement[]) {
  const env = fakeShared(tmp.dir, BOT);
  env.connection.request = resultOf(...items);
  const first = client(env);
  await login(env);
  await first.ctx.dispose();

  const env2 = fakeShared(tmp.dir, BOT);
  env2.connection.features = xml("features", {}, xml("ver", { xmlns: "urn:xmpp:features:rosterver" }));
  env2.connection.request = (s: XmlElement) => Promise.resolve(xml("iq", { type: "result", id: s.attrs.id }));
  const second = client(env2);
  await login(env2);
  return { env: env2, ...second };
}

describe("large loads", () => {
  it("a full result of 10,000 items asks for one compaction; 9,999 items do not", async () => {
    for (const [count, asks] of [
      [10_000, 1],
      [9_999, 0],
    ] as const) {
      const env = fakeShared(path.join(tmp.dir, String(count)), BOT);
      env.connection.request = rosterResult(count, "1");
      const { roster, heap, ctx } = client(env);
      await login(env);
      expect(roster.list()).toHaveLength(count);
      expect(heap.request).toHaveBeenCalledTimes(asks);
      await ctx.dispose();
    }
  });

  it("a warm start from a large cache asks once; the 'unchanged' answer leaves the cache file alone", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = rosterResult(10_000, "1");
    const first = client(env);
    await login(env);
    await first.ctx.dispose(); // flushes the cache
    const file = path.join(tmp.dir, "roster.json");
    const written = statSync(file).mtimeMs;

    const env2 = fakeShared(tmp.dir, BOT);
    env2.connection.features = xml("features", {}, xml("ver", { xmlns: "urn:xmpp:features:rosterver" }));
    env2.connection.request = (s: XmlElement) => Promise.resolve(xml("iq", { type: "result", id: s.attrs.id })); // "your copy is current"
    const second = client(env2);
    await login(env2);
    expect(second.roster.list()).toHaveLength(10_000);
    expect(second.heap.request).toHaveBeenCalledTimes(1);
    await second.ctx.dispose();
    expect(statSync(file).mtimeMs).toBe(written);
  });

  it("parsed items with equal groups share one frozen list", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = rosterResult(4, "1");
    const { roster, ctx } = client(env);
    await login(env);
    const [a, b, c] = ["c0@b.test", "c1@b.test", "c2@b.test"].map((j) => roster.get(j)!);
    expect(a!.groups).toEqual(["Even"]);
    expect(a!.groups).toBe(c!.groups);
    expect(a!.groups).not.toBe(b!.groups);
    expect(Object.isFrozen(a!.groups)).toBe(true);
    await ctx.dispose();
  });
});

describe("internationalized domains", () => {
  it("set, remove and presence go out in the caller's spelling of the domain; the copy is keyed by the normal form", async () => {
    const env = fakeShared(path.join(tmp.dir, "idna"), BOT);
    env.connection.request = rosterResult(0, "1");
    const { roster, ctx } = client(env);
    await login(env);
    const sets: string[] = [];
    env.connection.request = async (s) => {
      const item = s.getChild("query")!.getChild("item")!;
      sets.push(`${item.attrs.jid} ${item.attrs.subscription ?? "set"}`);
      const q = xml("query", { xmlns: NS }, xml("item", { jid: item.attrs.jid, subscription: item.attrs.subscription ?? "none" }));
      await env.router.routeIq(xml("iq", { type: "set", id: "push" }, q), q);
      return xml("iq", { type: "result", id: s.attrs.id });
    };
    expect(await roster.set({ jid: "A@XN--BCHER-KVA.test" })).toMatchObject({ jid: "a@bücher.test" });
    expect(roster.get("a@xn--bcher-kva.test")?.jid).toBe("a@bücher.test");
    await roster.subscribe("a@xn--bcher-kva.test");
    await roster.subscribe("b@bücher.test");
    await roster.remove("a@xn--bcher-kva.test");
    expect(sets).toEqual(["a@xn--bcher-kva.test set", "a@xn--bcher-kva.test remove"]);
    expect(env.sent.map((s) => s.attrs.to)).toEqual(["a@xn--bcher-kva.test", "b@bücher.test"]);
    expect(roster.get("a@bücher.test")).toBeUndefined();
    await ctx.dispose();
  });
});

describe("items the bot cannot read exactly", () => {
  const WARN_LOAD = "roster items the bot cannot read exactly: left unchanged, for a person to mend";
  const WARN_PUSH = "roster push brings an item the bot cannot read exactly: left unchanged, for a person to mend";
  const result = resultOf;
  const item = (jid: string, attrs: Record<string, string> = {}) => xml("item", { jid, subscription: "none", ...attrs });
  const warned = (env: ReturnType<typeof fakeShared>, msg: string) => env.logs.lines.filter((l) => l.msg === msg);

  it("a reconnect finding the same items names none again; one finding others names them", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = result(item("Mixed@x.org"), item("ok@x.org"));
    const { roster, ctx } = client(env);
    await login(env);
    await login(env);
    expect(warned(env, WARN_LOAD)).toHaveLength(1);
    expect(warned(env, WARN_LOAD)[0]).toMatchObject({ count: 1, items: ["Mixed@x.org (not in canonical form (mixed@x.org))"] });
    env.connection.request = result(item("Mixed@x.org"), item("Other@x.org"));
    await login(env);
    expect(warned(env, WARN_LOAD)).toHaveLength(2);
    expect(roster.list().map((i) => i.jid)).toEqual([]);
    await ctx.dispose();
  });

  it("a push of a non-canonical twin takes the readable item out of the copy; both are named once and refused to set and remove", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = result(item("dup@x.org", { name: "Hand" }));
    const { roster, ctx } = client(env);
    await login(env);
    expect(roster.get("dup@x.org")?.name).toBe("Hand");
    expect(await push(env, item("Dup@x.org"))).toBe(true);
    expect(await push(env, item("Dup@x.org", { name: "again" }))).toBe(true);
    expect(roster.get("dup@x.org")).toBeUndefined();
    expect(roster.unreadable().map((u) => u.raw)).toEqual(["dup@x.org", "Dup@x.org"]);
    expect(warned(env, WARN_PUSH)).toHaveLength(2); // one line per item, not per push
    await expect(roster.set({ jid: "DUP@x.org", name: "x" })).rejects.toMatchObject({ condition: "conflict" });
    await expect(roster.remove("dup@x.org")).rejects.toMatchObject({ condition: "conflict" });
    expect(env.sent.filter((s) => s.name === "iq" && s.attrs.type === "set")).toEqual([]);
    // The server removes the non-canonical one: the exact one stays unreadable until the next load reads it.
    await push(env, item("Dup@x.org", { subscription: "remove" }));
    expect(roster.unreadable().map((u) => u.raw)).toEqual(["dup@x.org"]);
    expect(roster.isUnreadable("dup@x.org")).toBe(true);
    await ctx.dispose();
  });

  it("a push with an invalid JID is refused (bad-request), named once, and forgotten on its removal", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = result();
    const { roster, ctx } = client(env);
    await login(env);
    for (let i = 0; i < 2; i++) {
      const reply = (await push(env, item("a b@x.org"))) as XmlElement;
      expect(reply.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    }
    expect(warned(env, WARN_PUSH)).toHaveLength(1);
    expect(roster.unreadable().map((u) => u.raw)).toEqual(["a b@x.org"]);
    await push(env, item("a b@x.org", { subscription: "remove" }));
    expect(roster.unreadable()).toEqual([]);
    await ctx.dispose();
  });

  it("a warm start whose roster the server reports unchanged still knows them (from the cache)", async () => {
    const second = await warmStart(item("Mixed@x.org"), item("ok@x.org"));
    const env2 = second.env;
    expect(second.roster.list().map((i) => i.jid)).toEqual(["ok@x.org"]);
    expect(second.roster.isUnreadable("mixed@x.org")).toBe(true);
    expect(warned(env2, WARN_LOAD)).toHaveLength(1);
    await second.ctx.dispose();
  });
});

describe("items the server holds in the A-label spelling of their domain", () => {
  const A = "a@xn--bcher-kva.test";
  const U = "a@bücher.test";
  const item = (jid: string, attrs: Record<string, string> = {}, ...groups: XmlElement[]) => xml("item", { jid, subscription: "both", ...attrs }, ...groups);
  const result = resultOf;
  /** A server that stores each set under the JID exactly as sent and pushes it back so; records what was sent. */
  function echoingServer(env: ReturnType<typeof fakeShared>): string[] {
    const sets: string[] = [];
    env.connection.request = async (s) => {
      const el = s.getChild("query")!.getChild("item")!;
      const groups = el.getChildren("group").map((g) => g.getText());
      sets.push(`${el.attrs.jid} ${el.attrs.subscription ?? groups.join(",")}`);
      await push(env, item(el.attrs.jid!, { subscription: el.attrs.subscription ?? "none" }, ...groups.map((g) => xml("group", {}, g))));
      return xml("iq", { type: "result", id: s.attrs.id });
    };
    return sets;
  }

  it("is in the copy under its normal form; set and remove in either spelling go out in the server's", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = result(item(A, { name: "Hand" }));
    const { roster, ctx } = client(env);
    await login(env);
    expect(roster.get(A)).toMatchObject({ jid: U, name: "Hand" });
    expect(roster.unreadable()).toEqual([]);
    const sets = echoingServer(env);
    await roster.set({ jid: U, groups: ["Team"] });
    expect(roster.get(U)?.groups).toEqual(["Team"]);
    await roster.remove(U);
    expect(roster.get(U)).toBeUndefined();
    // No item any more: a new one is created in the caller's spelling.
    await roster.set({ jid: U, groups: ["New"] });
    await roster.remove(A);
    expect(sets).toEqual([`${A} Team`, `${A} remove`, `${U} New`, `${U} remove`]);
    expect(roster.unreadable()).toEqual([]);
    await ctx.dispose();
  });

  it("a push adds, changes and removes it in A-labels; a U-label twin then makes both unreadable", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = result();
    const { roster, ctx } = client(env);
    await login(env);
    await push(env, item(A));
    await push(env, item(A, { name: "Changed" }));
    expect(roster.get(U)?.name).toBe("Changed");
    await push(env, item(A, { subscription: "remove" }));
    expect(roster.get(U)).toBeUndefined();
    await push(env, item(A));
    await push(env, item(U, { name: "Twin" }));
    expect(roster.get(U)).toBeUndefined();
    expect(roster.unreadable().map((u) => u.raw)).toEqual([A, U]);
    await expect(roster.set({ jid: A })).rejects.toMatchObject({ condition: "conflict" });
    await ctx.dispose();
  });

  it("an A-label push while the copy holds the U-label item makes both unreadable; an A-label remove leaves the U-label item", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.request = result(item(U, { name: "Hand" }));
    const { roster, ctx } = client(env);
    await login(env);
    await push(env, item(A, { subscription: "remove" }));
    expect(roster.get(U)?.name).toBe("Hand");
    const sets = echoingServer(env);
    await roster.set({ jid: A, name: "Hand 2" }); // the server's item is the U-label one
    expect(sets).toEqual([`${U} `]);
    await push(env, item(A));
    expect(roster.get(U)).toBeUndefined();
    expect(roster.unreadable().map((u) => u.raw).sort()).toEqual([U, A].sort());
    await ctx.dispose();
  });

  it("a warm start whose roster the server reports unchanged still sends in the server's spelling (from the cache)", async () => {
    const second = await warmStart(item(A), item("ok@x.org"));
    expect(second.roster.get(U)?.jid).toBe(U);
    const sets = echoingServer(second.env);
    await second.roster.set({ jid: U, groups: ["Team"] });
    expect(sets).toEqual([`${A} Team`]);
    await second.ctx.dispose();
  });

  it("a group-sync update of the item goes out in A-labels, its subscription presences too, whatever spelling the group config uses", async () => {
    const env = fakeShared(tmp.dir, BOT);
    env.connection.features = xml("features", {}, xml("sub", { xmlns: "urn:xmpp:features:pre-approval" }));
    env.connection.request = result(item(A, { subscription: "none" }, xml("group", {}, "Old")));
    const { roster, ctx } = client(env);
    await login(env);
    const sets = echoingServer(env);
    const change: GroupChange = { jid: U, op: "update", groups: { before: ["Old"], after: ["Team"] }, name: { before: undefined, after: undefined }, subscribe: true };
    const outcome = await applyPlan([change], roster, { by: "group-sync", limits: DEFAULT_LIMITS, addressOf: () => U, wantsMutual: () => true });
    expect(outcome.failed).toEqual([]);
    expect(sets).toEqual([`${A} Team`]);
    expect(roster.get(U)?.groups).toEqual(["Team"]);
    // In U-labels, a subscription presence would make the server add a twin item.
    expect(env.sent.filter((s) => s.name === "presence").map((s) => `${s.attrs.to} ${s.attrs.type}`)).toEqual([`${A} subscribe`, `${A} subscribed`]);
    await ctx.dispose();
  });
});
