import { afterEach, describe, expect, it } from "vitest";
import { HttpListenError, startHttpServer, type RunningHttpServer } from "./http-server.ts";
import { MetricsRegistry } from "./metrics.ts";
import type { BotReadiness } from "./runtime.ts";

describe("the HTTP endpoints", () => {
  const servers: RunningHttpServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function serve(readiness: () => Record<string, BotReadiness>) {
    const metrics = new MetricsRegistry();
    metrics.forBot("main").counter({ name: "roster_bot_test_total", help: "t" }).inc();
    const server = await startHttpServer({ host: "127.0.0.1", port: 0 }, { metrics, readiness });
    servers.push(server);
    const base = `http://127.0.0.1:${server.address.port}`;
    return { server, get: (p: string, init?: RequestInit) => fetch(base + p, init) };
  }

  const online: BotReadiness = { ready: true, state: "online", checks: { "roster loaded": true } };

  it("serves /metrics in the Prometheus text format", async () => {
    const { get } = await serve(() => ({}));
    const res = await get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const body = await res.text();
    expect(body).toContain("# TYPE roster_bot_test_total counter");
    expect(body).toContain('roster_bot_test_total{bot="main"} 1');
    expect(body).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it("answers /healthz while it serves", async () => {
    const { get } = await serve(() => ({ main: { ready: false, state: "offline", checks: {} } }));
    const res = await get("/healthz");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok\n");
  });

  it("says 200 on /readyz when every bot is ready, 503 with each bot's state otherwise", async () => {
    let other: BotReadiness = { ready: false, state: "online", checks: { "roster loaded": false } };
    const { get } = await serve(() => ({ main: online, other }));
    let res = await get("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, bots: { main: online, other } });
    other = online;
    res = await get("/readyz?verbose");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, bots: { main: online, other: online } });
  });

  it("serves nothing else", async () => {
    const { get } = await serve(() => ({}));
    expect((await get("/")).status).toBe(404);
    expect((await get("/metrics/x")).status).toBe(404);
    const post = await get("/metrics", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });

  it("turns a port in use into one clear error", async () => {
    const { server } = await serve(() => ({}));
    const second = startHttpServer({ host: "127.0.0.1", port: server.address.port }, { metrics: new MetricsRegistry({ defaultMetrics: false }), readiness: () => ({}) });
    await expect(second).rejects.toThrow(HttpListenError);
    await expect(second).rejects.toThrow(`http.listen 127.0.0.1:${server.address.port}: cannot listen: the port is in use`);
  });

  it("closes even with a scraper's keep-alive connection open", async () => {
    const { server, get } = await serve(() => ({}));
    await (await get("/healthz")).text();
    const closed = await Promise.race([server.close().then(() => "closed"), new Promise((r) => setTimeout(() => r("hung"), 2_000))]);
    servers.splice(0);
    expect(closed).toBe("closed");
  });
});
