/** The allowlist plugin in front of the real roster plugin, without a network (fakeShared). */
import { renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { xml } from "roster-bot";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SubscriptionDecision } from "../../plugins/roster/api.ts";
import { rosterConfigSchema } from "../../plugins/roster/config.ts";
import roster from "../../plugins/roster/index.ts";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { waitForLog } from "../../test/helpers/logger.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import allowlist, { allowlistConfigSchema } from "./index.ts";

describe("allowlist plugin", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let contexts: ReturnType<typeof env.context>[];
  let decisions: SubscriptionDecision[];

  async function setup(config: unknown = { file: "allow.json" }) {
    const rosterCtx = env.context("roster");
    const rules = { default: "reject", rules: [{ name: "no-partners", match: { domain: "partner.test" }, action: "reject" }] };
    await roster.apply(rosterCtx, rosterConfigSchema.parse({ cache: false, subscriptions: rules }));
    contexts = [rosterCtx];
    const service = env.shared.services.get("roster")!.value as import("../../plugins/roster/api.ts").RosterService;
    decisions = [];
    service.hooks.subscriptionDecided.tap("test", (d) => void decisions.push(d));
    const ctx = env.context("allowlist");
    contexts.push(ctx);
    await allowlist.apply(ctx, allowlistConfigSchema.parse(config));
  }

  const request = (from: string) => env.router.routeStanza(xml("presence", { from, type: "subscribe" }));
  const last = () => decisions.at(-1)!;
  const loads = () => env.logs.lines.filter((l) => l.msg === "allowlist loaded").length;
  async function nextLoad(before: number) {
    await waitForLog(env.logs, () => loads() > before);
  }

  beforeEach(() => {
    tmp = tempDir("allowlist-");
    env = fakeShared(tmp.dir); // configDir = tmp.dir
    tmp.write("allow.json", JSON.stringify({ jids: ["vip@elsewhere.test"], domains: ["partner.test"] }));
  });
  afterEach(async () => {
    for (const c of contexts.reverse()) await c.dispose();
    tmp.remove();
  });

  it("accepts listed JIDs and domains before the rules; passes everyone else on", async () => {
    await setup();
    await request("vip@elsewhere.test/x");
    expect(last()).toMatchObject({ jid: "vip@elsewhere.test", action: "accept", decidedBy: "allowlist", reason: "listed in allow.json" });
    await request("carl@partner.test"); // a rule would reject partner.test: the list answers first
    expect(last()).toMatchObject({ action: "accept", decidedBy: "allowlist" });
    await request("nobody@elsewhere.test");
    expect(last()).toMatchObject({ action: "reject", decidedBy: "default" });
    expect(env.sent.map((s) => `${s.attrs.to} ${s.attrs.type}`)).toEqual([
      "vip@elsewhere.test subscribed",
      "carl@partner.test subscribed",
      "nobody@elsewhere.test unsubscribed",
    ]);
  });

  it("can answer mutual", async () => {
    await setup({ file: "allow.json", action: "mutual" });
    await request("vip@elsewhere.test");
    expect(last()).toMatchObject({ action: "mutual", sent: ["subscribe", "subscribed"] });
  });

  it("re-reads the file when it changes (also when replaced) and keeps the old list when it is broken", async () => {
    await setup();
    let n = loads();
    tmp.write("allow.json", JSON.stringify({ jids: ["new@elsewhere.test"] }));
    await nextLoad(n);
    await request("new@elsewhere.test");
    expect(last()).toMatchObject({ action: "accept", decidedBy: "allowlist" });
    await request("vip@elsewhere.test");
    expect(last()).toMatchObject({ action: "reject" });

    tmp.write("allow.json", "{ broken");
    await waitForLog(env.logs, (l) => l.msg === "allowlist not reloaded; keeping the previous list");
    await request("new@elsewhere.test");
    expect(last()).toMatchObject({ action: "accept", decidedBy: "allowlist" });

    n = loads();
    writeFileSync(path.join(tmp.dir, "allow.json.tmp"), JSON.stringify({ domains: ["elsewhere.test"] }));
    renameSync(path.join(tmp.dir, "allow.json.tmp"), path.join(tmp.dir, "allow.json"));
    await nextLoad(n);
    await request("someone@elsewhere.test");
    expect(last()).toMatchObject({ action: "accept", decidedBy: "allowlist" });
  });

  it("reload switches to another file; a broken one is refused and the old list kept", async () => {
    await setup();
    tmp.write("other.json", JSON.stringify({ jids: ["other@elsewhere.test"] }));
    const reload = env.shared.reloaders.find((r) => r.owner === "allowlist")!;
    await reload.fn(allowlistConfigSchema.parse({ file: "other.json", order: -5 }));
    await request("other@elsewhere.test");
    expect(last()).toMatchObject({ action: "accept", decidedBy: "allowlist" });
    await request("vip@elsewhere.test");
    expect(last()).toMatchObject({ action: "reject" });

    tmp.write("broken.json", "[]");
    expect(() => reload.fn(allowlistConfigSchema.parse({ file: "broken.json" }))).toThrow(/file: /);
    await request("other2@elsewhere.test");
    await request("other@elsewhere.test");
    expect(last()).toMatchObject({ action: "accept" });
  });

  it("check reports a missing or broken file at the `file` key", () => {
    const check = (file: string) => allowlist.check!(allowlistConfigSchema.parse({ file }), { configDir: tmp.dir });
    expect(check("allow.json")).toEqual([]);
    expect(check("missing.json")).toEqual([{ path: ["file"], message: expect.stringMatching(/missing\.json: ENOENT/) }]);
    tmp.write("bad.json", '{ "jids": ["x"] }');
    expect(check("bad.json")).toEqual([{ path: ["file"], message: expect.stringContaining('jids: "x" is not a bare JID') }]);
  });

  it("refuses a non-negative order", () => {
    expect(allowlistConfigSchema.safeParse({ file: "a.json", order: 0 }).success).toBe(false);
  });
});
