/**
 * Benchmark: bot start-up with a large roster (ROSTER_SIZE, default 10,000; "100k" for the named
 * large case), cold vs. warm (versioned cache), against a bare client in the same run.
 *
 *   cold          empty data dir: the roster get carries ver="" and the server sends every item
 *   warm          same data dir, nothing changed: ver=<cached>, the server answers with an empty result
 *   warm+50       same data dir, 50 changes made while the bot was offline (by another resource)
 *   bare client   a plain @xmpp/client session of the same account sends the same roster get and
 *                 parses the result, nothing more: the baseline for the cold fetch (target <= 1.2x)
 *
 * Login (SASL SCRAM-SHA-1) is the same for every kind of start and noisy, so the roster's own cost
 * (apply + fetch) gets its own ratio. The cache read and check alone is timed separately (target:
 * <= 100 ms at 100,000 contacts).
 *
 * Run: npx tsx bench/roster-start.ts        (REPS=n for more repetitions; default 7, 3 at 100k)
 */
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import type { XmlElement } from "../bots/xmpp.ts";
import { createLogger } from "../bots/logger.ts";
import { definePlugin } from "../bots/plugin.ts";
import { orderPlugins } from "../bots/plugin-loader.ts";
import { BotRuntime } from "../bots/runtime.ts";
import type { RosterLoadedEvent } from "../plugins/roster/api.ts";
import { RosterCache } from "../plugins/roster/cache.ts";
import roster from "../plugins/roster/index.ts";
import { ProsodyServer } from "../scripts/prosody.ts";
import { TestClient, xml } from "../scripts/xmpp-client.ts";
import { testBotConfig } from "../test/helpers/bot.ts";
import { HOST, offlineChanges, PASSWORD, rosterSize, seedRoster } from "./roster-fixture.ts";
import { median, table } from "./stats.ts";

const CONTACTS = rosterSize(10_000);
const CHANGES = 50;
const REPS = Math.max(1, Number(process.env.REPS ?? (CONTACTS > 50_000 ? 3 : 7)));
const USER = "benchbot";
const NS_ROSTER = "jabber:iq:roster";

interface Sample {
  totalMs: number;
  applyMs: number;
  loginMs: number;
  fetchMs: number;
  bytes: number;
  rosterBytes: number;
  kind: RosterLoadedEvent["kind"];
  items: number;
  verSent: string | undefined;
}

async function measureStart(server: ProsodyServer, dataDir: string): Promise<Sample> {
  const config = { ...testBotConfig({ server, user: USER, host: HOST, password: PASSWORD, dataDir }), id: USER };
  let loaded!: (e: RosterLoadedEvent) => void;
  const loadedEvent = new Promise<RosterLoadedEvent>((resolve) => (loaded = resolve));
  let loadedAt = 0;
  let appliedAt = 0;
  const probe = definePlugin({
    name: "bench-probe",
    dependencies: ["roster"],
    apply(ctx) {
      appliedAt = performance.now(); // applied right after the roster plugin, which it depends on
      ctx.tap(ctx.use("roster").hooks.loaded, (e) => {
        loadedAt = performance.now();
        loaded(e);
      });
    },
  });
  const { ordered, problems } = orderPlugins([
    { key: "roster", definition: roster, config: roster.config!.parse({}) },
    { key: "bench-probe", definition: probe, config: {} },
  ]);
  if (problems.length) throw new Error(problems.map((p) => p.message).join("; "));
  const runtime = new BotRuntime(config, ordered, { logger: createLogger("silent"), configDir: process.cwd() });

  const client = runtime.connection.client;
  let bytes = 0;
  let rosterBytes = 0;
  let counting = true;
  let getSentAt = 0;
  let getId: string | undefined;
  let verSent: string | undefined;
  client.on("connect", () => client.socket?.on("data", (d: Buffer) => counting && (bytes += d.length)));
  client.on("send", (el: XmlElement) => {
    const q = el.name === "iq" && el.attrs.type === "get" ? el.getChild("query", NS_ROSTER) : undefined;
    if (q && !getSentAt) {
      getSentAt = performance.now();
      getId = el.attrs.id;
      verSent = q.attrs.ver;
    }
  });
  client.on("element", (el: XmlElement) => {
    if (!counting || el.name !== "iq") return;
    const isRosterResult = getId !== undefined && el.attrs.id === getId && (el.attrs.type === "result" || el.attrs.type === "error");
    if (isRosterResult || el.getChild("query", NS_ROSTER)) rosterBytes += el.toString().length;
  });

  const t0 = performance.now();
  await runtime.start();
  const event = await loadedEvent;
  counting = false;
  const sample: Sample = {
    totalMs: loadedAt - t0,
    applyMs: appliedAt - t0,
    loginMs: getSentAt - appliedAt,
    fetchMs: loadedAt - getSentAt,
    bytes,
    rosterBytes,
    kind: event.kind,
    items: event.items.length,
    verSent,
  };
  await runtime.stop(); // flushes the cache to dataDir
  return sample;
}

/** The baseline: a bare client session sends the roster get and parses the result, nothing else. */
async function measureBare(server: ProsodyServer): Promise<number> {
  const client = await TestClient.connect({ service: server.service, jid: `${USER}@${HOST}`, password: PASSWORD, resource: "bare" });
  try {
    const t0 = performance.now();
    const result = await client.client.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: NS_ROSTER, ver: "" })), 120_000);
    const ms = performance.now() - t0;
    const items = result.getChild("query", NS_ROSTER)?.getChildren("item").length;
    if (items !== CONTACTS) throw new Error(`bare client: ${items} items, expected ${CONTACTS}`);
    return ms;
  } finally {
    await client.stop();
  }
}

/**
 * The cache read and check alone (what a warm start does before it connects), and its floor in the
 * same run: reading the same file, JSON.parse and a map from each JID to its position, the least any
 * reader of these items does. Alternated, median of 7 each.
 */
function measureCacheLoad(dataDir: string): { loadMs: number; floorMs: number } {
  const file = path.join(dataDir, "plugins", "roster", "roster.json");
  const cache = new RosterCache(file, `${USER}@${HOST}`, createLogger("silent"));
  const load: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t0 = performance.now();
    const loaded = cache.load();
    load.push(performance.now() - t0);
    if (loaded?.items.size !== CONTACTS) throw new Error(`cache holds ${loaded?.items.size} items, expected ${CONTACTS}`);
    t0 = performance.now();
    const rows = (JSON.parse(readFileSync(file, "utf8")) as { items: [string][] }).items;
    const index = new Map<string, number>();
    for (let r = 0; r < rows.length; r++) index.set(rows[r]![0], r);
    floor.push(performance.now() - t0);
  }
  return { loadMs: median(load), floorMs: median(floor) };
}

/**
 * The previous start and stop sent presence to thousands of contacts; Prosody answers an idle
 * client's ping only after that work, which would otherwise land in the next measurement.
 */
async function settle(monitor: TestClient): Promise<void> {
  await monitor.client.iqCaller.request(xml("iq", { type: "get", to: HOST }, xml("ping", { xmlns: "urn:xmpp:ping" })), 60_000);
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");

export async function run(): Promise<void> {
  const server = await ProsodyServer.start({ hosts: [HOST, "b.test", "c.test"], logLevel: "warn" });
  const dataDirs: string[] = [];
  let monitor: TestClient | undefined;
  const fresh = () => {
    const c = testBotConfig({ server, user: USER, host: HOST });
    dataDirs.push(c.dataDir);
    return c.dataDir;
  };
  try {
    server.createAccount(USER, HOST, PASSWORD);
    server.writeRoster(USER, HOST, seedRoster(CONTACTS), 1);
    server.createAccount("monitor", HOST, "monitor");
    monitor = await TestClient.connect({ service: server.service, jid: `monitor@${HOST}`, password: "monitor" });
    const start = async (dir: string) => {
      await settle(monitor!);
      return measureStart(server, dir);
    };
    console.log(`roster-start: ${fmtInt(CONTACTS)} contacts, ${REPS} repetitions each (plus one warm-up), Prosody on ${server.service}\n`);

    // Warm-up (JIT, Prosody's first load of the roster from disk); not counted.
    await start(fresh());

    const warmDir = fresh();
    await start(warmDir); // fills the cache
    // Round-robin, so load from elsewhere on the machine spreads over all three kinds alike.
    const cold: Sample[] = [];
    const warm: Sample[] = [];
    const changed: Sample[] = [];
    const bare: number[] = [];
    for (let i = 0; i < REPS; i++) {
      await settle(monitor);
      bare.push(await measureBare(server));
      cold.push(await start(fresh()));
      warm.push(await start(warmDir));
      await settle(monitor);
      await offlineChanges({ service: server.service, jid: `${USER}@${HOST}`, password: PASSWORD, size: CONTACTS, round: i, count: CHANGES });
      changed.push(await start(warmDir)); // leaves the cache current for the next warm start
    }
    const cacheLoadMs = measureCacheLoad(warmDir);

    const check = (name: string, samples: Sample[], kind: Sample["kind"], items: number, verEmpty: boolean) => {
      for (const s of samples) {
        if (s.kind !== kind || s.items !== items || (s.verSent === "") !== verEmpty) {
          throw new Error(`${name}: unexpected start (kind ${s.kind}, ${s.items} items, ver sent ${JSON.stringify(s.verSent)})`);
        }
      }
    };
    check("cold", cold, "full", CONTACTS, true);
    check("warm", warm, "unchanged", CONTACTS, false);
    check("warm+50", changed, changed[0]!.kind, CONTACTS, false);

    const rows = [
      { name: "cold (full fetch)", s: cold },
      { name: "warm, unchanged", s: warm },
      { name: `warm, ${CHANGES} offline changes`, s: changed },
    ];
    const med = (xs: Sample[], f: (x: Sample) => number) => median(xs.map(f));
    const rosterMs = (x: Sample) => x.applyMs + x.fetchMs;
    const base = { ms: med(cold, (x) => x.totalMs), rosterMs: med(cold, rosterMs), bytes: med(cold, (x) => x.bytes) };
    const header = ["start", "result", "total ms", "login ms", "apply ms", "fetch ms", "bytes recv", "roster bytes", "total/cold", "apply+fetch/cold", "bytes/cold"];
    const cells = rows.map(({ name, s }) => [
      name,
      s[0]!.kind,
      med(s, (x) => x.totalMs).toFixed(0),
      med(s, (x) => x.loginMs).toFixed(0),
      med(s, (x) => x.applyMs).toFixed(1),
      med(s, (x) => x.fetchMs).toFixed(1),
      fmtInt(med(s, (x) => x.bytes)),
      fmtInt(med(s, (x) => x.rosterBytes)),
      (med(s, (x) => x.totalMs) / base.ms).toFixed(3),
      (med(s, rosterMs) / base.rosterMs).toFixed(3),
      (med(s, (x) => x.bytes) / base.bytes).toFixed(4),
    ]);
    table(header, cells);
    console.log(`\nmedians of ${REPS}. total = runtime.start() to the roster's loaded hook = apply + login + fetch;`);
    console.log("  apply = plugins applied (reads and validates the roster cache), login = TCP, SASL and bind until the roster get,");
    console.log("  fetch = roster get sent to loaded (server work, transfer, parsing, diff). bytes recv = every socket byte until");
    console.log("  loaded (stream header, features, SASL, bind, roster); roster bytes = the serialized roster result and pushes.");
    const bareMs = median(bare);
    const coldFetch = med(cold, (x) => x.fetchMs);
    console.log(`\ncold fetch vs a bare client: ${coldFetch.toFixed(0)} ms vs ${bareMs.toFixed(0)} ms (roster get sent to result parsed) = ${(coldFetch / bareMs).toFixed(2)}x (target <= 1.2x)`);
    console.log(
      `cache read and check alone: ${cacheLoadMs.loadMs.toFixed(1)} ms for ${fmtInt(CONTACTS)} items (median of 7; target <= 100 ms at 100,000); ` +
        `floor (read, JSON.parse, a JID map): ${cacheLoadMs.floorMs.toFixed(1)} ms = ${(cacheLoadMs.loadMs / cacheLoadMs.floorMs).toFixed(2)}x`,
    );
    console.log(`raw total ms: cold [${cold.map((s) => s.totalMs.toFixed(0)).join(", ")}], warm [${warm.map((s) => s.totalMs.toFixed(0)).join(", ")}], ` +
      `warm+${CHANGES} [${changed.map((s) => s.totalMs.toFixed(0)).join(", ")}]`);
  } finally {
    await monitor?.stop();
    await server.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
