/** The admin plugin wired to the real roster plugin, without a network (fakeShared). */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { xml } from "../../bots/xmpp.ts";
import type { XmlElement } from "../../bots/xmpp.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { waitForLog } from "../../test/helpers/logger.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { RosterService } from "../roster/api.ts";
import { rosterConfigSchema } from "../roster/config.ts";
import roster from "../roster/index.ts";
import { adminConfigSchema } from "./config.ts";
import admin from "./index.ts";
import { REFUSED } from "./replies.ts";

describe("admin plugin wiring", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let contexts: ReturnType<typeof env.context>[];
  let service: RosterService;

  beforeEach(async () => {
    tmp = tempDir("admin-");
    env = fakeShared(tmp.dir, "bot@x.org");
    const rosterCtx = env.context("roster");
    const subscriptions = { default: "reject", rules: [{ name: "held", match: { domain: "held.test" }, action: "ask" }] };
    await roster.apply(rosterCtx, rosterConfigSchema.parse({ cache: false, subscriptions }));
    service = env.shared.services.get("roster")!.value as RosterService;
    const adminCtx = env.context("admin");
    await admin.apply(adminCtx, adminConfigSchema.parse({ admins: ["Boss@X.org", "ops@y.org"] }));
    contexts = [rosterCtx, adminCtx];
  });
  afterEach(async () => {
    for (const c of contexts.reverse()) await c.dispose();
    tmp.remove();
  });

  const message = (from: string | undefined, body: string | undefined, attrs: Record<string, string> = { type: "chat" }, ...extra: XmlElement[]) =>
    env.router.routeStanza(xml("message", { from, to: "bot@x.org/res", ...attrs }, ...(body === undefined ? [] : [xml("body", {}, body)]), ...extra));
  const chats = () => env.sent.filter((s) => s.name === "message").map((s) => ({ to: s.attrs.to as string, type: s.attrs.type as string, body: s.getChildText("body") ?? "" }));
  /** The admin audit lines, once at least `count` are on disk (they are written through a stream). */
  async function auditLines(count: number): Promise<Record<string, unknown>[]> {
    const file = path.join(tmp.dir, "audit.log");
    const deadline = Date.now() + 3_000;
    for (;;) {
      const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}") && l.includes('"kind":"admin"')) : [];
      if (lines.length >= count || Date.now() > deadline) return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  const settle = () => new Promise((r) => setTimeout(r, 50));

  it("answers an admin (any case of the JID) at the sender's full JID, with type chat", async () => {
    await message("boss@x.org/phone", "pending");
    await message("BOSS@x.org/laptop", "help", {}); // type "normal" (absent) is a command too
    expect(chats()).toEqual([
      { to: "boss@x.org/phone", type: "chat", body: "No pending requests." },
      { to: "BOSS@x.org/laptop", type: "chat", body: expect.stringMatching(/^Commands:/) },
    ]);
  });

  it("echoes the thread of the conversation", async () => {
    await message("boss@x.org/phone", "stats", { type: "chat" }, xml("thread", {}, "t-42"));
    expect(env.sent.at(-1)!.getChildText("thread")).toBe("t-42");
  });

  it("gives an unknown command a hint and a usage error its usage", async () => {
    await message("boss@x.org/phone", "hello");
    await message("boss@x.org/phone", "approve");
    expect(chats().map((c) => c.body)).toEqual(['Unknown command. Send "help" for the list.', "a JID is needed. Usage: approve JID [mutual]"]);
    expect((await auditLines(2)).map((l) => [l.command, l.allowed, l.result])).toEqual([
      ["hello", true, "unknown"],
      ["approve", true, "usage"],
    ]);
  });

  it("ignores errors, groupchat, headlines, bodiless messages, itself, and domain senders", async () => {
    await message("boss@x.org/phone", "help", { type: "error" });
    await message("room@muc.x.org/boss", "help", { type: "groupchat" });
    await message("boss@x.org/phone", "help", { type: "headline" });
    await message("boss@x.org/phone", undefined);
    await message("boss@x.org/phone", "   ");
    await message("bot@x.org/other", "help");
    await message("Bot@X.org/res", "help");
    await message("x.org", "Server going down for maintenance");
    await message(undefined, "help");
    await message("not a jid@@", "help");
    expect(env.sent).toEqual([]);
  });

  it("refuses a non-admin politely, approves nothing, audits and logs a security line; one refusal a minute", async () => {
    await env.router.routeStanza(xml("presence", { from: "held@held.test/x", type: "subscribe" }));
    expect(service.subscriptions.pending().map((p) => p.jid)).toEqual(["held@held.test"]);
    env.sent.length = 0;

    await message("eve@evil.test/x", "approve held@held.test");
    await message("eve@evil.test/y", "approve held@held.test");
    expect(chats()).toEqual([{ to: "eve@evil.test/x", type: "chat", body: REFUSED }]);
    expect(env.sent.filter((s) => s.name === "presence")).toEqual([]);
    expect(service.subscriptions.pending().map((p) => p.jid)).toEqual(["held@held.test"]);
    const line = await waitForLog(env.logs, (l) => l.security === true);
    expect(line).toMatchObject({ from: "eve@evil.test/x", command: "approve held@held.test", level: 40 });
    expect(await auditLines(2)).toEqual([
      expect.objectContaining({ bot: "b", from: "eve@evil.test", command: "approve held@held.test", allowed: false, result: "refused" }),
      expect.objectContaining({ from: "eve@evil.test", allowed: false, result: "refused" }),
    ]);
  });

  it("notifies every admin of a held request, and an admin's approve answers it", async () => {
    await env.router.routeStanza(xml("presence", { from: "held@held.test/x", type: "subscribe" }));
    await settle();
    const notes = chats();
    expect(notes.map((n) => n.to).sort()).toEqual(["boss@x.org", "ops@y.org"]);
    expect(notes[0]!.body).toContain('Reply "approve held@held.test" or "deny held@held.test".');

    env.sent.length = 0;
    await message("ops@y.org/phone", "approve held@held.test");
    expect(env.sent.filter((s) => s.name === "presence").map((s) => `${s.attrs.to} ${s.attrs.type}`)).toEqual(["held@held.test subscribed"]);
    expect(chats()).toEqual([{ to: "ops@y.org/phone", type: "chat", body: "Approved held@held.test: sent subscribed." }]);
    expect(service.subscriptions.pending()).toEqual([]);
    expect((await auditLines(1)).at(-1)).toMatchObject({ from: "ops@y.org", command: "approve held@held.test", allowed: true, result: "ok" });
  });

  it("refuses an approve of a JID with no held request: names the held one, sends no presence, audits 'not pending'", async () => {
    await env.router.routeStanza(xml("presence", { from: "held@held.test/x", type: "subscribe" }));
    await settle();
    env.sent.length = 0;
    await message("boss@x.org/phone", "approve helt@held.test");
    expect(env.sent.filter((s) => s.name === "presence")).toEqual([]);
    expect(chats()[0]!.body.split("\n").slice(0, 2)).toEqual(["No request from helt@held.test is held; nothing sent.", "Did you mean held@held.test?"]);
    expect(service.subscriptions.pending().map((p) => p.jid)).toEqual(["held@held.test"]);
    expect((await auditLines(1)).at(-1)).toMatchObject({ from: "boss@x.org", command: "approve helt@held.test", allowed: true, result: "not pending" });
  });

  it("does not notify when notifyOnAsk is off, and picks up new admins on reload", async () => {
    const reload = env.shared.reloaders.find((r) => r.owner === "admin")!;
    await reload.fn({ admins: ["new@x.org"], notifyOnAsk: false });
    await env.router.routeStanza(xml("presence", { from: "held@held.test/x", type: "subscribe" }));
    await settle();
    expect(chats()).toEqual([]);
    await message("boss@x.org/phone", "pending");
    await message("new@x.org/phone", "pending");
    expect(chats().map((c) => `${c.to}: ${c.body.split("\n")[0]}`)).toEqual([`boss@x.org/phone: ${REFUSED}`, "new@x.org/phone: 1 pending:"]);
  });

  it("refuses a block that would stop another admin's commands (every configured admin is checked), sending nothing", async () => {
    await message("boss@x.org/phone", "block y.org 1d");
    expect(chats()).toEqual([{ to: "boss@x.org/phone", type: "chat", body: "That would stop admin ops@y.org's commands reaching the bot; nothing blocked." }]);
    expect(env.sent.filter((s) => s.name === "iq")).toEqual([]);
    expect((await auditLines(1)).at(-1)).toMatchObject({ from: "boss@x.org", command: "block y.org 1d", allowed: true, result: "refused" });
  });

  it("counts decisions for stats", async () => {
    await env.router.routeStanza(xml("presence", { from: "a@elsewhere.test", type: "subscribe" }));
    await env.router.routeStanza(xml("presence", { from: "held@held.test", type: "subscribe" }));
    await settle();
    env.sent.length = 0;
    await message("boss@x.org/phone", "stats");
    expect(chats()[0]!.body).toMatch(/Pending: 1\nDecisions since start \(\d+s ago\): 2 \(reject 1, ask 1\)$/);
  });
});

describe("admin config", () => {
  it("needs at least one admin, each a bare JID", () => {
    expect(adminConfigSchema.safeParse({}).success).toBe(false);
    expect(adminConfigSchema.safeParse({ admins: [] }).success).toBe(false);
    expect(adminConfigSchema.safeParse({ admins: ["a@b/res"] }).success).toBe(false);
    expect(adminConfigSchema.safeParse({ admins: ["b.org"] }).success).toBe(false);
    expect(adminConfigSchema.safeParse({ admins: ["a@b"], colour: 1 }).success).toBe(false);
    expect(adminConfigSchema.parse({ admins: ["a@b"] })).toEqual({ admins: ["a@b"], notifyOnAsk: true });
  });
});
