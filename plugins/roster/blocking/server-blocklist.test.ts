import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { xml, type XmlElement } from "../../../bots/xmpp.ts";
import { fakeShared } from "../../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../../test/helpers/tmp.ts";
import type { BlockedEvent, UnblockedEvent } from "../api.ts";
import { AuditLog } from "../audit.ts";
import { blockingMetrics } from "./metrics.ts";
import { OwnedBlocks } from "./owned-blocks.ts";
import { ServerBlocklist, UNSUPPORTED_WARNING } from "./server-blocklist.ts";
import { NS_BLOCKING, NS_DISCO_INFO } from "./wire.ts";

const BOT = "bot@x.org";
const HOUR = 3_600_000;

/** A server's blocklist behind the fake connection: answers disco#info, get, block and unblock. */
function fakeServer(env: ReturnType<typeof fakeShared>, o: { supported?: boolean; list?: string[] } = {}) {
  const list = new Set(o.list ?? []);
  const sets: XmlElement[] = [];
  let gate: Promise<void> | undefined;
  env.connection.request = async (iq: XmlElement) => {
    env.requests.push(iq);
    const result = (...children: XmlElement[]) => xml("iq", { type: "result", id: iq.attrs.id }, ...children);
    const disco = iq.getChild("query", NS_DISCO_INFO);
    if (disco) return result(xml("query", { xmlns: NS_DISCO_INFO }, ...(o.supported === false ? [] : [xml("feature", { var: NS_BLOCKING })])));
    if (iq.getChild("blocklist", NS_BLOCKING)) return result(xml("blocklist", { xmlns: NS_BLOCKING }, ...[...list].map((jid) => xml("item", { jid }))));
    const op = iq.getChild("block", NS_BLOCKING) ?? iq.getChild("unblock", NS_BLOCKING);
    if (op) {
      sets.push(iq);
      await gate;
      const jids = op.getChildren("item").map((i) => i.attrs.jid as string);
      if (op.name === "block") for (const j of jids) list.add(j);
      else if (jids.length === 0) list.clear();
      else for (const j of jids) list.delete(j);
      return result();
    }
    throw Object.assign(new Error("service-unavailable"), { condition: "service-unavailable" });
  };
  return {
    list,
    sets,
    /** Holds block/unblock answers until the returned function is called. */
    hold(): () => void {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

describe("ServerBlocklist", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let audit: AuditLog;

  beforeEach(() => {
    tmp = tempDir("blocking-");
    env = fakeShared(tmp.dir, BOT);
    audit = new AuditLog(path.join(tmp.dir, "audit.log"), "b", env.logger);
  });
  afterEach(() => {
    vi.useRealTimers();
    audit.close();
    tmp.remove();
  });

  function make(auto = true) {
    const ctx = env.context("roster");
    const owned = new OwnedBlocks(ownedFile(), env.logger);
    const blocking = new ServerBlocklist(ctx, { owned, audit, metrics: blockingMetrics(ctx.metrics), config: { auto } });
    const blocked: BlockedEvent[] = [];
    const unblocked: UnblockedEvent[] = [];
    ctx.tap(blocking.hooks.blocked, (e) => void blocked.push(e));
    ctx.tap(blocking.hooks.unblocked, (e) => void unblocked.push(e));
    return { ctx, blocking, blocked, unblocked };
  }

  /** blocks.json in the plugin's data folder (created on first use). */
  const ownedFile = () => path.join(env.context("roster").dataDir, "blocks.json");

  async function session(b: ServerBlocklist): Promise<void> {
    for (const entry of env.shared.lifecycle.filter((e) => e.kind === "session")) await entry.fn();
    await b.sessionReady();
  }

  const auditLines = () => {
    audit.close();
    return readFileSync(path.join(tmp.dir, "audit.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  const push = (op: "block" | "unblock", from: string | undefined, ...jids: string[]) => {
    const payload = xml(op, { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid })));
    return env.router.routeIq(xml("iq", { type: "set", id: "push", from }, payload), payload);
  };

  it("at session start asks the server's disco#info, then fetches the list: a person's entries are listed as not the bot's", async () => {
    fakeServer(env, { list: ["Spam@B.test", "xn--bcher-kva.example"] });
    const { blocking } = make();
    expect(blocking.supported).toBe(false);
    await session(blocking);
    expect(env.requests.map((r) => [r.attrs.to, r.children.map((c) => (c as XmlElement).name)])).toEqual([
      ["x.org", ["query"]],
      [undefined, ["blocklist"]],
    ]);
    expect(blocking.supported).toBe(true);
    expect(blocking.list()).toEqual([
      { jid: "bücher.example", owned: false },
      { jid: "spam@b.test", owned: false },
    ]);
    expect(blocking.blockedBy("anyone@xn--bcher-kva.example")?.jid).toBe("bücher.example");
    expect(blocking.blockedBy("SPAM@b.test/phone")?.jid).toBe("spam@b.test");
    expect(blocking.blockedBy("other@b.test")).toBeUndefined();
  });

  it("a block sends one iq in the caller's spelling, keys the entry in normal form, and owns it", async () => {
    const server = fakeServer(env);
    const { blocking, blocked } = make();
    await session(blocking);
    const outcome = await blocking.block("mallory@xn--bcher-kva.example", { scope: "domain", forMs: 7 * 24 * HOUR, by: "rules", rule: "flood", reason: "too many" });
    expect(outcome).toMatchObject({ jid: "bücher.example", scope: "domain", outcome: "blocked" });
    expect(server.sets.map((s) => s.toString())).toEqual([expect.stringContaining('<block xmlns="urn:xmpp:blocking"><item jid="xn--bcher-kva.example"/></block>')]);
    expect(blocking.list()).toEqual([{ jid: "bücher.example", owned: true, by: "rules", rule: "flood", reason: "too many", since: expect.any(String), expires: outcome.expires }]);
    expect(blocked).toEqual([{ entry: blocking.list()[0], origin: "bot" }]);
    const file = JSON.parse(readFileSync(ownedFile(), "utf8"));
    expect(file.blocks).toEqual([expect.objectContaining({ jid: "bücher.example", address: "xn--bcher-kva.example", expires: outcome.expires })]);
    expect(auditLines().filter((l) => l.kind === "block")).toEqual([
      expect.objectContaining({ jid: "bücher.example", scope: "domain", by: "rules", rule: "flood", reason: "too many", expires: outcome.expires, result: "blocked" }),
    ]);
  });

  it("concurrent blocks of one entry send one iq; the others answer already (a flood from one domain)", async () => {
    const server = fakeServer(env);
    const { blocking, blocked } = make();
    await session(blocking);
    const open = server.hold();
    const outcomes = Promise.all(Array.from({ length: 50 }, (_, i) => blocking.block(`s${i}@spam.test`, { scope: "domain", by: "rate-limit" })));
    await new Promise((r) => setImmediate(r));
    open();
    const results = await outcomes;
    expect(server.sets).toHaveLength(1);
    expect(results.filter((o) => o.outcome === "blocked")).toHaveLength(1);
    expect(results.filter((o) => o.outcome === "already")).toHaveLength(49);
    expect(blocked).toHaveLength(1);
    // Afterwards too: the domain entry covers its JIDs, and a person's entry is not taken over.
    expect(await blocking.block("late@spam.test")).toMatchObject({ jid: "spam.test", scope: "domain", outcome: "already" });
    expect(server.sets).toHaveLength(1);
  });

  it("a person's entry stays theirs: block() answers already and takes no ownership", async () => {
    const server = fakeServer(env, { list: ["manual@b.test"] });
    const { blocking } = make();
    await session(blocking);
    expect(await blocking.block("manual@b.test", { forMs: HOUR })).toMatchObject({ outcome: "already" });
    expect(server.sets).toEqual([]);
    expect(blocking.list()).toEqual([{ jid: "manual@b.test", owned: false }]);
  });

  it("a push from another account is refused with an error, changes nothing, and is logged as security", async () => {
    fakeServer(env);
    const { blocking, blocked, unblocked } = make();
    await session(blocking);
    await blocking.block("x@b.test");
    const reply = (await push("unblock", "mallory@b.test", "x@b.test")) as XmlElement;
    expect(reply.name).toBe("error");
    expect(reply.getChild("service-unavailable")).toBeDefined();
    const reply2 = (await push("block", "x.org", "friend@b.test")) as XmlElement;
    expect(reply2.name).toBe("error");
    expect(blocking.list().map((e) => e.jid)).toEqual(["x@b.test"]);
    expect(blocked.filter((e) => e.origin === "push")).toEqual([]);
    expect(unblocked).toEqual([]);
    expect(env.logs.lines.filter((l) => l.msg === "spoofed blocklist push rejected")).toEqual([
      expect.objectContaining({ security: true, from: "mallory@b.test" }),
      expect.objectContaining({ security: true, from: "x.org" }),
    ]);
  });

  it("pushes from the account: another client's entries are listed; a person's removal of a bot entry is respected", async () => {
    fakeServer(env);
    const { blocking, blocked, unblocked } = make();
    await session(blocking);
    await blocking.block("bot-entry@b.test", { by: "rules" });
    expect(await push("block", undefined, "person@b.test")).toBe(true);
    expect(blocked.at(-1)).toEqual({ entry: { jid: "person@b.test", owned: false }, origin: "push" });
    expect(await push("unblock", BOT, "bot-entry@b.test")).toBe(true);
    expect(unblocked).toEqual([{ entry: expect.objectContaining({ jid: "bot-entry@b.test", owned: true, by: "rules" }), by: "account", origin: "push" }]);
    expect(blocking.list()).toEqual([{ jid: "person@b.test", owned: false }]);
    expect(new OwnedBlocks(ownedFile(), env.logger).list()).toEqual([]);
    expect(auditLines().filter((l) => l.kind === "unblock")).toEqual([expect.objectContaining({ jid: "bot-entry@b.test", by: "account", result: "forgotten" })]);
    // <unblock/> without items: everything went.
    await push("unblock", undefined);
    expect(blocking.list()).toEqual([]);
    expect(unblocked.at(-1)).toEqual({ entry: { jid: "person@b.test", owned: false }, by: "account", origin: "push" });
  });

  it("the push of the bot's own block, even before its result (ejabberd), fires no second event", async () => {
    const server = fakeServer(env);
    const { blocking, blocked } = make();
    await session(blocking);
    const open = server.hold();
    const outcome = blocking.block("x@b.test");
    await new Promise((r) => setImmediate(r));
    await push("block", BOT, "x@b.test");
    open();
    expect(await outcome).toMatchObject({ outcome: "blocked" });
    expect(blocked).toEqual([{ entry: expect.objectContaining({ jid: "x@b.test", owned: true }), origin: "bot" }]);
    expect(blocking.list()).toEqual([expect.objectContaining({ jid: "x@b.test", owned: true })]);
  });

  it("lifts a block when its time is up, at that time, with an unblock in the server's spelling", async () => {
    vi.useFakeTimers({ now: Date.parse("2026-01-01T00:00:00Z"), toFake: ["setTimeout", "clearTimeout", "Date"] });
    const server = fakeServer(env);
    const { blocking, unblocked } = make();
    await session(blocking);
    await blocking.block("Mallory@B.test", { forMs: HOUR, by: "rules" });
    await vi.advanceTimersByTimeAsync(HOUR - 1);
    expect(server.sets).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(server.sets.map((s) => s.getChild("unblock", NS_BLOCKING)?.toString())).toEqual([undefined, '<unblock xmlns="urn:xmpp:blocking"><item jid="mallory@b.test"/></unblock>']);
    expect(unblocked).toEqual([{ entry: expect.objectContaining({ jid: "mallory@b.test", owned: true }), by: "expired", origin: "bot" }]);
    expect(blocking.list()).toEqual([]);
    expect(auditLines().filter((l) => l.kind === "unblock")).toEqual([expect.objectContaining({ jid: "mallory@b.test", by: "expired", result: "unblocked" })]);
  });

  it("at session start: lifts what fell due while the bot was down, forgets what a person removed, keeps a person's entries", async () => {
    const since = new Date(Date.now() - 2 * HOUR).toISOString();
    const owned = new OwnedBlocks(ownedFile(), env.logger);
    owned.add({ jid: "due@b.test", by: "rules", since, expires: new Date(Date.now() - HOUR).toISOString() });
    owned.add({ jid: "removed@b.test", by: "rules", since });
    owned.add({ jid: "kept@b.test", by: "rules", since, expires: new Date(Date.now() + HOUR).toISOString() });
    const server = fakeServer(env, { list: ["due@b.test", "kept@b.test", "person@b.test"] });
    const { blocking, unblocked } = make();
    await session(blocking);
    expect(unblocked).toEqual([
      { entry: expect.objectContaining({ jid: "removed@b.test", owned: true }), by: "account", origin: "reload" },
      { entry: expect.objectContaining({ jid: "due@b.test", owned: true }), by: "expired", origin: "bot" },
    ]);
    expect(server.sets.map((s) => s.getChild("unblock", NS_BLOCKING)?.getChildren("item").map((i) => i.attrs.jid))).toEqual([["due@b.test"]]);
    expect(blocking.list()).toEqual([expect.objectContaining({ jid: "kept@b.test", owned: true }), { jid: "person@b.test", owned: false }]);
    expect(blocking.plan()).toEqual({ supported: true, lift: [], forget: [] });
    expect(auditLines().filter((l) => l.kind === "unblock").map((l) => [l.jid, l.by, l.result])).toEqual([
      ["removed@b.test", "account", "forgotten"],
      ["due@b.test", "expired", "unblocked"],
    ]);
  });

  it("a reconnect tells what another client changed while the bot was offline (origin reload)", async () => {
    const server = fakeServer(env, { list: ["gone@b.test", "stays@b.test"] });
    const { blocking, blocked, unblocked } = make();
    await session(blocking);
    expect([blocked, unblocked]).toEqual([[], []]); // the first session of a process has nothing to compare with
    server.list.delete("gone@b.test");
    server.list.add("new@b.test");
    await session(blocking);
    expect(blocked).toEqual([{ entry: { jid: "new@b.test", owned: false }, origin: "reload" }]);
    expect(unblocked).toEqual([{ entry: { jid: "gone@b.test", owned: false }, by: "account", origin: "reload" }]);
  });

  it("with auto off (plan) sends nothing and tells what a session start would do", async () => {
    const owned = new OwnedBlocks(ownedFile(), env.logger);
    const since = new Date(Date.now() - 2 * HOUR).toISOString();
    owned.add({ jid: "due@b.test", by: "rules", since, expires: new Date(Date.now() - HOUR).toISOString() });
    owned.add({ jid: "removed@b.test", by: "rules", since });
    const server = fakeServer(env, { list: ["due@b.test"] });
    const { blocking } = make(false);
    await session(blocking);
    expect(server.sets).toEqual([]);
    const plan = blocking.plan();
    expect(plan.supported).toBe(true);
    expect(plan.lift.map((e) => e.jid)).toEqual(["due@b.test"]);
    expect(plan.forget.map((e) => e.jid)).toEqual(["removed@b.test"]);
    expect(blocking.list()).toEqual([expect.objectContaining({ jid: "due@b.test", owned: true })]);
  });

  it("without the feature: supported false, block() unsupported with one warning per session, unblock() not-supported", async () => {
    const server = fakeServer(env, { supported: false });
    const { blocking } = make();
    await session(blocking);
    expect(env.requests).toHaveLength(1); // disco#info only: no blocklist get
    expect(blocking.supported).toBe(false);
    expect(await blocking.block("a@b.test")).toEqual({ jid: "a@b.test", scope: "bare", outcome: "unsupported" });
    expect(await blocking.block("c@d.test", { scope: "domain" })).toEqual({ jid: "d.test", scope: "domain", outcome: "unsupported" });
    await expect(blocking.unblock("a@b.test")).rejects.toMatchObject({ condition: "not-supported" });
    expect(blocking.plan()).toEqual({ supported: false, lift: [], forget: [] });
    expect(server.sets).toEqual([]);
    const warnings = () => env.logs.lines.filter((l) => l.msg === UNSUPPORTED_WARNING);
    expect(warnings()).toHaveLength(1);
    await session(blocking);
    await blocking.block("a@b.test");
    await blocking.block("a@b.test");
    expect(warnings()).toHaveLength(2); // one more for the new session
  });

  it("a refused block is audited as failed, leaves no ownership, and throws the server's condition", async () => {
    fakeServer(env);
    const { blocking } = make();
    await session(blocking);
    env.connection.request = async () => {
      throw Object.assign(new Error("not-allowed"), { condition: "not-allowed" });
    };
    await expect(blocking.block("x@b.test", { by: "rules" })).rejects.toMatchObject({ name: "RosterError", condition: "not-allowed", operation: "block" });
    expect(blocking.list()).toEqual([]);
    expect(new OwnedBlocks(ownedFile(), env.logger).list()).toEqual([]);
    expect(auditLines().filter((l) => l.kind === "block")).toEqual([expect.objectContaining({ jid: "x@b.test", result: "failed", error: "not-allowed" })]);
  });

  it("refuses an entry that covers the bot's own account or domain, sending nothing (a rule at domain scope gone wrong)", async () => {
    const server = fakeServer(env);
    const { blocking } = make();
    await session(blocking);
    await expect(blocking.block("someone@x.org", { scope: "domain", by: "rules" })).rejects.toMatchObject({ condition: "not-allowed" });
    await expect(blocking.block("x.org")).rejects.toMatchObject({ condition: "not-allowed" });
    await expect(blocking.block(BOT)).rejects.toMatchObject({ condition: "not-allowed" });
    expect(server.sets).toEqual([]);
    await expect(blocking.block("someone@x.org")).resolves.toMatchObject({ outcome: "blocked" }); // a user of its domain is fine
  });

  it("offline: block and unblock throw RosterError offline", async () => {
    fakeServer(env);
    const { blocking } = make();
    await session(blocking);
    env.connection.isOnline = false;
    await expect(blocking.block("x@b.test")).rejects.toMatchObject({ condition: "offline" });
    await expect(blocking.unblock("x@b.test")).rejects.toMatchObject({ condition: "offline" });
  });

  it("counts blocks by asker kind and result, unblocks by who, and the entries by ownership; no JID in a label", async () => {
    const server = fakeServer(env, { list: ["person@b.test"] });
    const { blocking } = make();
    await session(blocking);
    await blocking.block("x@b.test", { by: "admin:op@x.org" });
    await blocking.block("x@b.test", { by: "rules" });
    await blocking.block("y@b.test", { by: "rules", forMs: HOUR });
    await blocking.unblock("y@b.test", { by: "admin:op@x.org" });
    await push("unblock", undefined, "x@b.test");
    expect(server.sets).toHaveLength(3);
    const text = await env.shared.metrics.scrape();
    const value = (series: string) => Number(text.split("\n").find((l) => l.startsWith(series + " "))?.split(" ")[1]);
    expect(value('roster_bot_blocks_total{bot="b",by="admin",result="blocked"}')).toBe(1);
    expect(value('roster_bot_blocks_total{bot="b",by="rules",result="already"}')).toBe(1);
    expect(value('roster_bot_blocks_total{bot="b",by="rules",result="blocked"}')).toBe(1);
    expect(value('roster_bot_unblocks_total{bot="b",by="admin"}')).toBe(1);
    expect(value('roster_bot_unblocks_total{bot="b",by="account"}')).toBe(1);
    expect(value('roster_bot_blocklist_entries{bot="b",owned="true"}')).toBe(0);
    expect(value('roster_bot_blocklist_entries{bot="b",owned="false"}')).toBe(1);
    expect(text).not.toContain("op@x.org");
  });
});
