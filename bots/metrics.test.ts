import { register as globalRegistry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { fakeShared } from "../test/helpers/fake-shared.ts";
import { tempDir, type TempDir } from "../test/helpers/tmp.ts";
import { PluginContext } from "./context.ts";
import { MetricsRegistry } from "./metrics.ts";

/** The sample lines of one metric name in a scrape (no HELP/TYPE). */
async function samples(metrics: MetricsRegistry, name: string): Promise<string[]> {
  return (await metrics.scrape()).split("\n").filter((l) => l.startsWith(name + "{") || l.startsWith(name + " "));
}

describe("MetricsRegistry", () => {
  it("has the default process metrics on its own registry, not prom-client's global one", async () => {
    const before = (await globalRegistry.metrics()).length;
    const metrics = new MetricsRegistry();
    expect(await metrics.scrape()).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(await metrics.scrape()).toMatch(/^nodejs_eventloop_lag_seconds /m);
    expect((await globalRegistry.metrics()).length).toBe(before);
  });

  it("binds the bot label and the plugin's own labels", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const m = metrics.forBot("alpha");
    const c = m.counter<"kind">({ name: "t_things_total", help: "things", labelNames: ["kind"] });
    c.inc({ kind: "a" });
    c.inc({ kind: "a" }, 2);
    c.inc({ kind: "b" });
    const g = m.gauge({ name: "t_level", help: "level" });
    g.set(7);
    const h = m.histogram({ name: "t_seconds", help: "time", buckets: [0.1, 1] });
    h.observe(0.5);
    expect(await samples(metrics, "t_things_total")).toEqual(['t_things_total{bot="alpha",kind="a"} 3', 't_things_total{bot="alpha",kind="b"} 1']);
    expect(await samples(metrics, "t_level")).toEqual(['t_level{bot="alpha"} 7']);
    expect(await samples(metrics, "t_seconds_bucket")).toEqual(['t_seconds_bucket{le="0.1",bot="alpha"} 0', 't_seconds_bucket{le="1",bot="alpha"} 1', 't_seconds_bucket{le="+Inf",bot="alpha"} 1']);
  });

  it("reads a collected gauge per bot at each scrape", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    let a = 1;
    metrics.forBot("a").gauge({ name: "t_items", help: "items", collect: () => a });
    const b = metrics.forBot("b");
    b.gauge({ name: "t_items", help: "items", collect: () => 20 });
    expect(await samples(metrics, "t_items")).toEqual(['t_items{bot="a"} 1', 't_items{bot="b"} 20']);
    a = 2;
    b.dispose();
    expect(await samples(metrics, "t_items")).toEqual(['t_items{bot="a"} 2']);
  });

  it("shares a metric between bots; a bot's dispose removes only its series, the last one the metric", async () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    const a = metrics.forBot("a");
    const b = metrics.forBot("b");
    const opts = { name: "t_shared_total", help: "shared", labelNames: ["x"] as const };
    a.counter(opts).inc({ x: "1" });
    b.counter(opts).inc({ x: "1" });
    b.counter(opts).inc({ x: "2" });
    expect(await samples(metrics, "t_shared_total")).toHaveLength(3);
    b.dispose();
    expect(await samples(metrics, "t_shared_total")).toEqual(['t_shared_total{bot="a",x="1"} 1']);
    a.dispose();
    expect(await metrics.scrape()).not.toContain("t_shared_total");
    // Registered again afterwards: a fresh metric (a plugin restarted).
    metrics.forBot("a").counter(opts).inc({ x: "1" });
    expect(await samples(metrics, "t_shared_total")).toEqual(['t_shared_total{bot="a",x="1"} 1']);
  });

  it("refuses the same name with another kind or other labels, and a bad name", () => {
    const metrics = new MetricsRegistry({ defaultMetrics: false });
    metrics.forBot("a").counter({ name: "t_x_total", help: "x", labelNames: ["k"] });
    expect(() => metrics.forBot("b").gauge({ name: "t_x_total", help: "x", labelNames: ["k"] })).toThrow(/already registered/);
    expect(() => metrics.forBot("b").counter({ name: "t_x_total", help: "x", labelNames: ["j"] })).toThrow(/already registered/);
    expect(() => metrics.forBot("b").counter({ name: "process_cpu_user_seconds_total", help: "x" })).not.toThrow(); // no default metrics here
    expect(() => metrics.forBot("b").counter({ name: "bad-name", help: "x" })).toThrow(/not a valid Prometheus name/);
  });
});

describe("ctx.metrics", () => {
  let tmp: TempDir;
  afterEach(() => tmp.remove());

  it("removes a plugin's series when the plugin stops", async () => {
    tmp = tempDir("metrics-");
    const env = fakeShared(tmp.dir);
    const ctx = new PluginContext("counting", env.logger, env.shared);
    const counter = ctx.metrics.counter({ name: "t_plugin_total", help: "p" });
    counter.inc();
    expect(ctx.metrics).toBe(ctx.metrics); // one binding per plugin
    expect(await samples(env.shared.metrics, "t_plugin_total")).toEqual(['t_plugin_total{bot="b"} 1']);
    await ctx.dispose();
    expect(await env.shared.metrics.scrape()).not.toContain("t_plugin_total");
  });

  it("contributes a readiness condition until the plugin stops", async () => {
    tmp = tempDir("metrics-");
    const env = fakeShared(tmp.dir);
    const ctx = new PluginContext("ready", env.logger, env.shared);
    let loaded = false;
    ctx.readyWhen("thing loaded", () => loaded);
    expect(env.shared.readiness.map((r) => [r.owner, r.name, r.isReady()])).toEqual([["ready", "thing loaded", false]]);
    loaded = true;
    expect(env.shared.readiness[0]!.isReady()).toBe(true);
    await ctx.dispose();
    expect(env.shared.readiness).toEqual([]);
  });
});
