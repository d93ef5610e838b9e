/**
 * Benchmark: one /metrics scrape of a bot with a large roster (ROSTER_SIZE, default 10,000): its
 * size and time over HTTP, against a /healthz round trip on the same server as the baseline. No
 * metric has a label per contact, so the size should not grow with the roster.
 *
 * Run: npx tsx bench/metrics-scrape.ts      (REPS=n scrapes; default 200)
 */
import { createLogger } from "../bots/logger.ts";
import { startHttpServer } from "../bots/http-server.ts";
import { MetricsRegistry } from "../bots/metrics.ts";
import { orderPlugins } from "../bots/plugin-loader.ts";
import { BotRuntime } from "../bots/runtime.ts";
import { rosterConfigSchema } from "../plugins/roster/config.ts";
import roster from "../plugins/roster/index.ts";
import { ProsodyServer } from "../scripts/prosody.ts";
import { testBotConfig } from "../test/helpers/bot.ts";
import { HOST, PASSWORD, rosterSize, seedRoster } from "./roster-fixture.ts";
import { median, table } from "./stats.ts";

const CONTACTS = rosterSize(10_000);
const REPS = Math.max(10, Number(process.env.REPS ?? 200));
const USER = "scrapebot";

async function timeGets(url: string, reps: number): Promise<{ ms: number[]; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const body = await (await fetch(url)).text();
    ms.push(performance.now() - t0);
    bytes = Buffer.byteLength(body);
  }
  return { ms, bytes };
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;

export async function run(): Promise<void> {
  const server = await ProsodyServer.start({ hosts: [HOST, "b.test", "c.test"], logLevel: "warn" });
  const metrics = new MetricsRegistry();
  let runtime: BotRuntime | undefined;
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  try {
    server.createAccount(USER, HOST, PASSWORD);
    server.writeRoster(USER, HOST, seedRoster(CONTACTS), 1);
    const config = { ...testBotConfig({ server, user: USER, host: HOST, password: PASSWORD }), id: USER };
    const { ordered } = orderPlugins([{ key: "roster", definition: roster, config: rosterConfigSchema.parse({ cache: false }) }]);
    runtime = new BotRuntime(config, ordered, { logger: createLogger("warn"), configDir: process.cwd(), metrics });
    await runtime.start();
    await runtime.service("roster").whenLoaded();
    const rt = runtime;
    http = await startHttpServer({ host: "127.0.0.1", port: 0 }, { metrics, readiness: () => ({ [USER]: rt.readiness() }) });
    const base = `http://127.0.0.1:${http.address.port}`;

    const items = /^roster_bot_roster_items\{bot="scrapebot"\} (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1];
    if (Number(items) !== CONTACTS) throw new Error(`the scrape shows ${items} roster items, not ${CONTACTS}`);
    await timeGets(`${base}/metrics`, 20); // warm-up
    await timeGets(`${base}/healthz`, 20);
    // Interleaved in blocks, so load from elsewhere on the machine falls on both alike.
    const scrape: number[] = [];
    const health: number[] = [];
    let bytes = 0;
    let healthBytes = 0;
    for (let i = 0; i < REPS; i += 10) {
      const s = await timeGets(`${base}/metrics`, 10);
      scrape.push(...s.ms);
      bytes = s.bytes;
      const h = await timeGets(`${base}/healthz`, 10);
      health.push(...h.ms);
      healthBytes = h.bytes;
    }
    console.log(`metrics-scrape: a bot with ${CONTACTS.toLocaleString("en-US")} contacts (roster loaded), ${scrape.length} scrapes\n`);
    table(["request", "median ms", "p95 ms", "bytes", "ratio (median)"], [
      ["GET /metrics", median(scrape).toFixed(2), p95(scrape).toFixed(2), String(bytes), (median(scrape) / median(health)).toFixed(2) + "x"],
      ["GET /healthz (baseline)", median(health).toFixed(2), p95(health).toFixed(2), String(healthBytes), "1.00x"],
    ]);
  } finally {
    await http?.close();
    await runtime?.stop();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
