import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { xml } from "./xmpp.ts";
import type { XmlElement } from "./xmpp.ts";
import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from "vitest";
import { z } from "zod";
import { fakeShared } from "../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../test/helpers/tmp.ts";
import { PluginContext } from "./context.ts";
import { DecideHook, NotifyHook, TransformHook } from "./hooks.ts";
import { definePlugin } from "./plugin.ts";
import { StanzaRouter } from "./router.ts";

declare module "./plugin.ts" {
  interface Services {
    "test-clock": { now(): number };
  }
}

const message = (body: string) => xml("message", { from: "a@x.org/r", type: "chat" }, xml("body", {}, body));

describe("PluginContext", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  beforeEach(() => {
    tmp = tempDir("context-");
    env = fakeShared(tmp.dir);
  });
  afterEach(() => {
    vi.useRealTimers();
    tmp.remove();
  });

  const newCtx = (name = "p") => new PluginContext(name, env.logger.child({ plugin: name }), env.shared);

  it("hands onReload the new config typed by the plugin's own schema", async () => {
    const seen: number[] = [];
    const plugin = definePlugin({
      name: "typed",
      config: z.object({ every: z.number() }),
      apply(ctx) {
        ctx.onReload((next) => {
          expectTypeOf(next).toEqualTypeOf<{ every: number }>();
          seen.push(next.every);
        });
      },
    });
    await plugin.apply(env.context("typed"), { every: 1 });
    for (const { fn } of env.shared.reloaders) await fn({ every: 2 });
    expect(seen).toEqual([2]);
  });

  it("exposes the bot, the session and a per-plugin data folder", () => {
    const ctx = newCtx("my/plugin");
    expect(ctx.bot).toEqual({ id: "b", jid: "bot@x.org", dataDir: tmp.dir, configDir: tmp.dir });
    expect(ctx.jid).toBe("bot@x.org/res");
    expect(ctx.isOnline).toBe(true);
    const dir = ctx.dataDir;
    expect(dir).toBe(path.join(tmp.dir, "plugins", "my_plugin"));
    expect(existsSync(dir)).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700); // owner-only, like everything the bot writes
    expect(statSync(path.dirname(dir)).mode & 0o777).toBe(0o700);
  });

  it("sends stanzas and iq requests through the connection", async () => {
    env.connection.request = async (s: XmlElement) => {
      env.requests.push(s);
      const payload = s.getChildElements()[0]!;
      return xml("iq", { type: "result", id: s.attrs.id }, xml(payload.name, { xmlns: payload.attrs.xmlns }, xml("answer")));
    };
    const ctx = newCtx();
    await ctx.send(message("hi"));
    expect(env.sent.map(String)).toEqual([message("hi").toString()]);
    const answer = await ctx.iqGet(xml("query", { xmlns: "urn:x" }), "server.x.org");
    expect(answer?.getChild("answer")).toBeDefined();
    expect(env.requests[0]!.attrs).toMatchObject({ type: "get", to: "server.x.org" });
    await ctx.iqSet(xml("query", { xmlns: "urn:x" }));
    expect(env.requests[1]!.attrs.type).toBe("set");
  });

  it("routes stanzas to its handlers until disposed", async () => {
    const ctx = newCtx();
    const got: string[] = [];
    ctx.on("message", (s) => {
      got.push(s.getChildText("body")!);
    });
    await env.router.routeStanza(message("one"));
    await ctx.dispose();
    await env.router.routeStanza(message("two"));
    expect(got).toEqual(["one"]);
  });

  it("removes everything it registered on dispose, newest first", async () => {
    const ctx = newCtx("p");
    const notify = new NotifyHook<void>("n", env.logger);
    const decide = new DecideHook<void, string>("d", env.logger);
    const transform = new TransformHook<number>("t", env.logger);
    let timeoutFired = false;
    let intervalFired = 0;

    // What is still registered, observed by onDispose steps placed between registrations.
    const state = () => ({
      message: countHandlers(env.router, "message"),
      presence: countHandlers(env.router, "presence"),
      iq: countIq(env.router),
      service: env.shared.services.has("test-clock"),
      lifecycle: env.shared.lifecycle.length + env.shared.reloaders.length,
      taps: notify.tapNames.length + decide.tapNames.length + transform.tapNames.length,
    });
    const seen: { step: string; state: ReturnType<typeof state> }[] = [];
    const mark = (step: string) => ctx.onDispose(() => void seen.push({ step, state: state() }));

    mark("first");
    ctx.on("message", () => {});
    ctx.on("presence", () => {});
    mark("after-listeners");
    ctx.onIq("get", "urn:x", "query", () => true);
    mark("after-iq");
    ctx.provide("test-clock", { now: () => 1 });
    mark("after-service");
    ctx.onSession(() => {});
    ctx.onResumed(() => {});
    ctx.onOffline(() => {});
    ctx.onReload(() => {});
    mark("after-lifecycle");
    ctx.tap(notify, () => {});
    ctx.tap(decide, () => "x");
    ctx.tap(transform, (n) => n + 1);
    mark("after-taps");
    ctx.setTimeout(() => {
      timeoutFired = true;
    }, 20);
    ctx.setInterval(() => {
      intervalFired++;
    }, 5);
    mark("last");

    expect(state()).toEqual({ message: 1, presence: 1, iq: 1, service: true, lifecycle: 4, taps: 3 });
    await ctx.dispose();

    // A step placed after a registration runs before that registration is undone (newest first):
    // each step sees exactly what was registered before it.
    const all = { message: 1, presence: 1, iq: 1, service: true, lifecycle: 4, taps: 3 };
    const none = { message: 0, presence: 0, iq: 0, service: false, lifecycle: 0, taps: 0 };
    expect(seen).toEqual([
      { step: "last", state: all },
      { step: "after-taps", state: all },
      { step: "after-lifecycle", state: { ...all, taps: 0 } },
      { step: "after-service", state: { ...all, taps: 0, lifecycle: 0 } },
      { step: "after-iq", state: { ...none, message: 1, presence: 1, iq: 1 } },
      { step: "after-listeners", state: { ...none, message: 1, presence: 1 } },
      { step: "first", state: none },
    ]);
    expect(state()).toEqual(none);

    // Timers were cleared: nothing fires after dispose.
    const firedAtDispose = intervalFired;
    await new Promise((r) => setTimeout(r, 40));
    expect(timeoutFired).toBe(false);
    expect(intervalFired).toBe(firedAtDispose);
  });

  it("removes a single registration early through the returned function, and dispose stays clean", async () => {
    const ctx = newCtx();
    const hook = new NotifyHook<void>("n", env.logger);
    const off = ctx.on("message", () => {});
    const untap = ctx.tap(hook, () => {}, { name: "custom", order: 3 });
    expect(hook.tapNames).toEqual(["custom"]);
    off();
    untap();
    expect(countHandlers(env.router, "message")).toBe(0);
    expect(hook.tapNames).toEqual([]);
    await ctx.dispose();
    expect(env.logs.lines.filter((l) => l.level === 50)).toEqual([]);
  });

  it("names taps after the plugin unless told otherwise", () => {
    const ctx = newCtx("policy");
    const hook = new DecideHook<void, string>("d", env.logger);
    ctx.tap(hook, () => undefined);
    ctx.tap(hook, () => undefined, { name: "policy/fallback", order: 99 });
    expect(hook.tapNames).toEqual(["policy", "policy/fallback"]);
  });

  it("logs a failing dispose step and still runs the others", async () => {
    const ctx = newCtx("flaky");
    const ran: string[] = [];
    ctx.onDispose(() => void ran.push("a"));
    ctx.on("message", () => {});
    ctx.onDispose(() => {
      throw new Error("sync dispose failure");
    });
    ctx.onDispose(async () => {
      ran.push("c");
      throw new Error("async dispose failure");
    });
    ctx.onDispose(() => void ran.push("d"));
    await expect(ctx.dispose()).resolves.toBeUndefined();
    expect(ran).toEqual(["d", "c", "a"]);
    expect(countHandlers(env.router, "message")).toBe(0);
    const errors = env.logs.lines.filter((l) => l.level === 50);
    expect(errors.map((l) => [l.plugin, l.msg, (l.err as { message: string }).message])).toEqual([
      ["flaky", "dispose step failed", "async dispose failure"],
      ["flaky", "dispose step failed", "sync dispose failure"],
    ]);
  });

  it("disposes once, and refuses registrations afterwards", async () => {
    const ctx = newCtx("gone");
    let n = 0;
    ctx.onDispose(() => void n++);
    await ctx.dispose();
    await ctx.dispose();
    expect(n).toBe(1);
    expect(() => ctx.on("message", () => {})).toThrow('plugin "gone" is already disposed');
    expect(() => ctx.onDispose(() => {})).toThrow(/already disposed/);
  });

  it("shares services between plugins and refuses a second provider", async () => {
    const a = newCtx("clock");
    const b = newCtx("user");
    expect(b.has("test-clock")).toBe(false);
    expect(() => b.use("test-clock")).toThrow('plugin "user" uses service "test-clock", which no loaded plugin provides');
    a.provide("test-clock", { now: () => 42 });
    expect(b.has("test-clock")).toBe(true);
    expect(b.use("test-clock").now()).toBe(42);
    expect(() => b.provide("test-clock", { now: () => 0 })).toThrow('service "test-clock" is already provided by plugin "clock"');
    await a.dispose();
    expect(b.has("test-clock")).toBe(false);
    // After the provider is gone, another plugin may provide it.
    b.provide("test-clock", { now: () => 7 });
    expect(b.use("test-clock").now()).toBe(7);
  });

  it("refuses a second handler for the same iq payload, naming the owner", () => {
    newCtx("first").onIq("get", "urn:x", "query", () => true);
    expect(() => newCtx("second").onIq("get", "urn:x", "query", () => true)).toThrow(
      'iq get <query xmlns="urn:x"/> is already handled by plugin "first"',
    );
    // A different type or name is a different handler.
    newCtx("third").onIq("set", "urn:x", "query", () => true);
  });

  it("registers lifecycle handlers under the plugin's name, in order", () => {
    const a = newCtx("a");
    const b = newCtx("b");
    a.onSession(() => {});
    b.onSession(() => {});
    a.onOffline(() => {});
    const unReopen = b.onReopenFiles(() => {});
    expect(env.shared.lifecycle.map((e) => `${e.kind}:${e.owner}`)).toEqual(["session:a", "session:b", "offline:a", "reopen-files:b"]);
    unReopen();
    expect(env.shared.lifecycle.map((e) => e.kind)).not.toContain("reopen-files");
  });

  it("logs a timer callback that throws or rejects, and keeps the interval going", async () => {
    const ctx = newCtx("timers");
    let ticks = 0;
    ctx.setInterval(() => {
      ticks++;
      throw new Error("tick failed");
    }, 5);
    ctx.setTimeout(async () => {
      throw new Error("async timeout failed");
    }, 1);
    const messages = () => env.logs.lines.filter((l) => l.msg === "timer callback failed").map((l) => (l.err as { message: string }).message);
    const deadline = Date.now() + 5_000;
    while ((ticks < 2 || !messages().includes("async timeout failed")) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await ctx.dispose();
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(messages()).toContain("tick failed");
    expect(messages()).toContain("async timeout failed");
  });

  it("ctx.disco: what a plugin adds is in disco#info and the caps ver until the plugin stops", async () => {
    const entity = env.shared.entity;
    const hostVer = entity.ver;
    const ctx = newCtx("discoverer");
    ctx.disco.addFeature("urn:example:plugin");
    ctx.disco.addIdentity({ category: "automation", type: "command-list", name: "commands" });
    expect(entity.featureList()).toContain("urn:example:plugin");
    expect(entity.identityList()).toContainEqual(expect.objectContaining({ category: "automation", type: "command-list" }));
    expect(entity.ver).not.toBe(hostVer);
    await ctx.dispose();
    expect(entity.featureList()).not.toContain("urn:example:plugin");
    expect(entity.identityList()).toHaveLength(1);
    expect(entity.ver).toBe(hostVer);
  });

  it("refuses a timer delay Node would run after 1 ms instead (beyond about 24.8 days), and registers nothing", () => {
    const ctx = newCtx("long");
    const thirtyDays = 30 * 86_400_000;
    let fired = 0;
    expect(() => ctx.setInterval(() => fired++, thirtyDays)).toThrow(/plugin "long": setInterval: 2592000000 ms is not a delay from 0 to 2147483647 ms/);
    expect(() => ctx.setTimeout(() => fired++, thirtyDays)).toThrow(RangeError);
    expect(() => ctx.setTimeout(() => fired++, Number.NaN)).toThrow(RangeError);
    expect(fired).toBe(0);
    // The longest delay a timer honours is accepted.
    ctx.setTimeout(() => fired++, 2 ** 31 - 1)();
  });
});

function countHandlers(router: StanzaRouter, kind: "message" | "presence"): number {
  return (router as unknown as Record<string, unknown[]>)[kind]!.length;
}

function countIq(router: StanzaRouter): number {
  return (router as unknown as { iq: Map<string, unknown> }).iq.size;
}
