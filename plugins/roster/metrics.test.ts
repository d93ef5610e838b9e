/** The roster plugin's metrics without a network: what each decision path counts, and disposal. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { xml } from "../../bots/xmpp.ts";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeShared } from "../../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import { rosterConfigSchema } from "./config.ts";
import roster from "./index.ts";

describe("the roster plugin's metrics", () => {
  let tmp: TempDir;
  let env: ReturnType<typeof fakeShared>;
  let ctx: ReturnType<typeof env.context>;

  beforeEach(() => {
    tmp = tempDir("roster-metrics-");
    env = fakeShared(tmp.dir);
  });
  afterEach(async () => {
    await ctx?.dispose();
    tmp.remove();
  });

  async function setup(subscriptions: unknown) {
    ctx = env.context("roster");
    await roster.apply(ctx, rosterConfigSchema.parse({ cache: false, subscriptions }));
    return env.shared.services.get("roster")!.value as import("./api.ts").RosterService;
  }
  const request = (from: string) => env.router.routeStanza(xml("presence", { from, type: "subscribe" }));
  async function value(line: string): Promise<number | undefined> {
    const found = (await env.shared.metrics.scrape()).split("\n").find((l) => l.startsWith(line + " "));
    return found === undefined ? undefined : Number(found.slice(line.length + 1));
  }

  it("counts each decision by action, decider and rule, and times the answered ones", async () => {
    const service = await setup({
      default: "reject",
      rateLimit: { perDomain: "2/hour", over: "ignore" },
      rules: [
        { name: "staff", match: { domain: "example.org" }, action: "accept" },
        { name: "guests", match: { domain: "guest.net" }, action: "ask" },
      ],
    });
    await request("alice@example.org");
    await request("bob@example.org");
    await request("carol@example.org"); // third from the domain within the hour: over the limit
    await request("x@elsewhere.net");
    await request("g@guest.net");
    await request("g@guest.net"); // still held: counted, not answered again
    await service.subscriptions.approve("g@guest.net");

    const d = (action: string, by: string, rule: string) => `roster_bot_subscription_decisions_total{bot="b",action="${action}",decided_by="${by}",rule="${rule}"}`;
    expect(await value(d("accept", "rules", "staff"))).toBe(2);
    expect(await value(d("ignore", "rate-limit", ""))).toBe(1);
    expect(await value(d("reject", "default", ""))).toBe(1);
    expect(await value(d("ask", "rules", "guests"))).toBe(1);
    expect(await value(d("ask", "pending", "guests"))).toBe(1);
    expect(await value(d("accept", "admin", ""))).toBe(1);
    expect(await value('roster_bot_rate_limited_total{bot="b"}')).toBe(1);
    // Inbound requests decided anew (not the held repeat, not the admin's approve).
    expect(await value('roster_bot_decision_seconds_count{bot="b"}')).toBe(5);
    expect(await value('roster_bot_decision_seconds_bucket{le="+Inf",bot="b"}')).toBe(5);
    expect(await value('roster_bot_pending_requests{bot="b"}')).toBe(0);
    expect(await value('roster_bot_roster_items{bot="b"}')).toBe(0);
    expect(await value('roster_bot_audit_write_failures_total{bot="b"}')).toBe(0);
    expect(await env.shared.metrics.scrape()).not.toContain("@"); // never a JID in a label
  });

  it("counts audit writes that fail", async () => {
    mkdirSync(path.join(tmp.dir, "audit.log")); // a folder where the file should be: every append fails
    await setup({ default: "reject", rules: [] });
    await request("x@elsewhere.net");
    await nextTurn(); // the audit log writes its batch on the next turn
    expect(await value('roster_bot_audit_write_failures_total{bot="b"}')).toBe(1);
  });

  it("says the roster is not loaded until it is, and removes every series when the plugin stops", async () => {
    await setup({ default: "reject", rules: [] });
    expect(env.shared.readiness.map((r) => [r.owner, r.name, r.isReady()])).toEqual([["roster", "roster loaded", false]]);
    await request("x@elsewhere.net");
    expect(await value('roster_bot_pending_requests{bot="b"}')).toBe(0);
    await ctx.dispose();
    expect(await env.shared.metrics.scrape()).toBe("\n");
    expect(env.shared.readiness).toEqual([]);
  });
});
