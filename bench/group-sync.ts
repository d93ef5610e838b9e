/**
 * Benchmark: group sync on a large roster with some contacts drifted: plan time from the roster copy
 * (median), roster sets sent (must equal the drift; the second sync sends none), and `groups.sync()`
 * against a baseline from the same run: the same sets sent raw and pipelined by a plain client of the
 * same account (target: within 1.2x). Rounds alternate baseline and sync; the plain client restores
 * the drift between them. Prosody runs with a high c2s rate limit (scripts/prosody.ts).
 *
 * Sizes (GROUP_SYNC_SIZE):
 *   10k  (default) 10,000 contacts, 500 drifted, plan target < 20 ms, Prosody's "internal" storage
 *   100k 100,000 contacts, 5,000 drifted, plan target <= 100 ms, Prosody's SQLite storage: "internal"
 *        (and "memory") rewrite the whole roster on every set, which at 100k takes hours for 5,000.
 * GROUP_SYNC_STORAGE=internal|sql overrides the storage ("memory" cannot be seeded from outside, and it
 * too copies the whole roster per set). GROUP_SYNC_SAMPLE=N only measures the server's cost per set
 * (N sets one at a time, then the same N put back pipelined) and extrapolates to the drift, e.g.
 * GROUP_SYNC_SIZE=100k GROUP_SYNC_STORAGE=internal GROUP_SYNC_SAMPLE=20 (seconds per set there).
 * BENCH_ROUNDS sets the rounds (default 2 at 10k, 1 at 100k).
 *
 * Run: npx tsx bench/group-sync.ts, or GROUP_SYNC_SIZE=100k npm run bench -- group-sync
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { xml } from "../bots/xmpp.ts";
import type { XmlElement } from "../bots/xmpp.ts";
import { Secret } from "../bots/config/secret.ts";
import { createLogger } from "../bots/logger.ts";
import { pluginDataDir } from "../bots/context.ts";
import { BotRuntime } from "../bots/runtime.ts";
import type { GroupChange } from "../plugins/roster/api.ts";
import roster from "../plugins/roster/index.ts";
import { ProsodyServer, sqlUnavailable, type ProsodyOptions, type RosterSeedItem } from "../scripts/prosody.ts";
import { cpuMsOf } from "../scripts/proc-stats.ts";
import { TestClient } from "../scripts/xmpp-client.ts";
import { median } from "./stats.ts";

type Storage = NonNullable<ProsodyOptions["rosterStorage"]>;

const SIZES = {
  "10k": { contacts: 10_000, drift: 500, planTargetMs: 20, storage: "internal" as Storage, rounds: 2 },
  "100k": { contacts: 100_000, drift: 5_000, planTargetMs: 100, storage: "sql" as Storage, rounds: 1 },
};
const STORAGES: readonly Storage[] = ["internal", "sql"];

const sizeName = process.env.GROUP_SYNC_SIZE || "10k";
if (!(sizeName in SIZES)) throw new Error(`GROUP_SYNC_SIZE must be one of ${Object.keys(SIZES).join(", ")}, not "${sizeName}"`);
const SIZE = SIZES[sizeName as keyof typeof SIZES];
const CONTACTS = SIZE.contacts;
const DRIFT = SIZE.drift;
const STORAGE = (process.env.GROUP_SYNC_STORAGE || SIZE.storage) as Storage;
if (!STORAGES.includes(STORAGE)) throw new Error(`GROUP_SYNC_STORAGE must be one of ${STORAGES.join(", ")}, not "${STORAGE}"`);
const SAMPLE = Number(process.env.GROUP_SYNC_SAMPLE ?? 0);
const PLAN_RUNS = 15;
const progress = (msg: string) => process.env.BENCH_VERBOSE && console.error(`[${new Date().toISOString()}] ${msg}`);
/** Each phase sends every drifted contact's set; on "internal" storage each set rewrites the roster file. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? SIZE.rounds);
/** Time for one iq: a set to a 100k roster on "internal" storage takes about a second (see README). */
const IQ_TIMEOUT = 600_000;
const NS_ROSTER = "jabber:iq:roster";
const PASSWORD = "bench-password";

const GROUPS = {
  managed: ["Staff", "Partners", "VIP"],
  assign: [
    { group: "Staff", match: { domain: "a.test" } },
    { group: "Partners", match: { domain: "c.test" } },
    { group: "VIP", match: { regex: "^boss[0-9]+@" } },
  ],
  auto: false, // the benchmark calls sync() itself
};

const HOSTS = ["a.test", "b.test", "c.test"];

/** Contact i: its desired (in-sync) item, and for every 20th a drifted one. */
function contactItems(): { desired: RosterSeedItem[]; drifted: RosterSeedItem[] } {
  const desired: RosterSeedItem[] = [];
  const drifted: RosterSeedItem[] = [];
  for (let i = 0; i < CONTACTS; i++) {
    const host = HOSTS[i % 3]!;
    const local = i % 97 === 0 ? `boss${i}` : `user${i}`;
    const jid = `${local}@${host}`;
    const groups = [i % 5 === 0 ? "Friends" : "Team " + (i % 7)];
    if (host === "a.test") groups.push("Staff");
    if (host === "c.test") groups.push("Partners");
    if (local.startsWith("boss")) groups.push("VIP");
    const item: RosterSeedItem = { jid, subscription: "both", groups, ...(i % 4 === 0 ? { name: `Contact ${i}` } : {}) };
    desired.push(item);
    if (i % (CONTACTS / DRIFT) === 0) {
      // Drift: an owned group lost, a wrong owned group added, a hand-made group kept.
      const lost = item.groups!.filter((g) => g !== "Staff" && g !== "Partners");
      drifted.push({ ...item, groups: host === "b.test" ? [...item.groups!, "Staff"] : lost });
    }
  }
  return { desired, drifted };
}

const setIq = (item: { jid: string; name?: string; groups?: readonly string[] }) =>
  xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: item.jid, name: item.name }, ...(item.groups ?? []).map((g) => xml("group", {}, g)))));

async function pipelined(client: TestClient, items: { jid: string; name?: string; groups?: readonly string[] }[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(items.map((it) => client.client.iqCaller.request(setIq(it), IQ_TIMEOUT)));
  return performance.now() - t0;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends each set after the previous one's result: the server's own time per set. */
async function oneByOne(client: TestClient, items: { jid: string; name?: string; groups?: readonly string[] }[]): Promise<number> {
  const t0 = performance.now();
  for (const it of items) await client.client.iqCaller.request(setIq(it), IQ_TIMEOUT);
  return performance.now() - t0;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
const count = (n: number) => n.toLocaleString("en-US");
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export async function run(): Promise<void> {
  if (STORAGE === "sql") {
    const missing = sqlUnavailable();
    if (missing) {
      console.log(`group-sync ${sizeName}: skipped, ${missing} (or GROUP_SYNC_STORAGE=internal, hours at 100k)`);
      return;
    }
  }
  const server = await ProsodyServer.start({ hosts: HOSTS, logLevel: "warn", rosterStorage: STORAGE });
  let runtime: BotRuntime | undefined;
  let raw: TestClient | undefined;
  try {
    const { desired, drifted } = contactItems();
    const driftedByJid = new Map(drifted.map((d) => [d.jid, d]));
    server.createAccount("bench", "a.test", PASSWORD);
    server.writeRoster("bench", "a.test", desired.map((d) => driftedByJid.get(d.jid) ?? d));
    const storeFile = STORAGE === "sql" ? path.join(server.dataDir, "roster.sqlite") : path.join(server.dataDir, "a%2etest", "roster", "bench.dat");
    const storeBytes = statSync(storeFile).size;

    const logger = createLogger("warn", process.stderr);
    const dataDir = `${server.dir}/bot-data`;
    runtime = new BotRuntime(
      {
        id: "bench",
        jid: "bench@a.test",
        resource: "bot",
        service: server.service,
        tls: "plaintext-loopback",
        dataDir,
        reconnect: { initialDelay: 100, maxDelay: 1_000 },
        password: new Secret(PASSWORD),
        plugins: [],
        index: 0,
      },
      [{ key: "roster", definition: roster, config: roster.config!.parse({ groups: GROUPS }) }],
      { logger, configDir: process.cwd(), initialPresence: false },
    );
    let sets = 0;
    runtime.connection.client.on("send", (el: XmlElement) => {
      if (el.name === "iq" && el.attrs.type === "set" && el.getChild("query", NS_ROSTER)) sets++;
    });
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const loadStart = performance.now();
    await runtime.start();
    const service = runtime.service("roster");
    await service.whenLoaded();
    const loadMs = performance.now() - loadStart;
    if (service.list().length !== CONTACTS) throw new Error(`roster has ${service.list().length} contacts, expected ${CONTACTS}`);

    const planTimes: number[] = [];
    // CPU time too: on a busy machine the wall time includes waiting for a core.
    const planCpu: number[] = [];
    let plan = service.groups.plan();
    for (let i = 0; i < PLAN_RUNS; i++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      plan = service.groups.plan();
      planTimes.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      planCpu.push((c.user + c.system) / 1000);
    }
    if (plan.changes.length !== DRIFT) throw new Error(`plan has ${plan.changes.length} changes, expected ${DRIFT}`);
    const corrected = plan.changes.map((c: GroupChange) => ({ jid: c.jid, name: c.name.after, groups: c.groups.after }));
    global.gc?.();
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;

    // The roster cache is written shortly after the load (debounced).
    const cacheFile = path.join(pluginDataDir(dataDir, "roster"), "roster.json");
    await until(() => existsSync(cacheFile), 10_000).catch(() => {});
    const cacheBytes = existsSync(cacheFile) ? statSync(cacheFile).size : NaN;
    console.log(`roster:  ${count(CONTACTS)} contacts on ${HOSTS.length} hosts, ${count(DRIFT)} drifted; Prosody storage "${STORAGE}" (${mb(storeBytes)} on disk); loaded in ${fmt(loadMs)}`);
    console.log(`bot:     heap grew ${heapMb.toFixed(0)} MB${global.gc ? "" : " (no --expose-gc: garbage included)"} for the roster copy${Number.isNaN(cacheBytes) ? "" : `, roster cache ${mb(cacheBytes)}`}`);
    console.log(`plan:    median ${fmt(median(planTimes))} over ${PLAN_RUNS} runs (min ${fmt(Math.min(...planTimes))}, max ${fmt(Math.max(...planTimes))}; CPU median ${fmt(median(planCpu))}); target ${sizeName === "10k" ? "<" : "<="} ${SIZE.planTargetMs} ms`);

    progress(`plan median ${median(planTimes).toFixed(1)} ms`);
    raw = await TestClient.connect({ service: server.service, jid: "bench@a.test", password: PASSWORD, resource: "raw" });
    // Thousands of sets queued at once keep the server busy longer than xmpp.js waits for a
    // stream-management ack (60 s), which would close the baseline's stream; the bot keeps only 16 in flight.
    (raw.client.streamManagement as unknown as { timeout: number }).timeout = 0;

    if (SAMPLE > 0) {
      // The server's cost only: a sample of the sets one at a time, then the same contacts put back
      // pipelined (the server handles them one after another all the same).
      const sample = corrected.slice(0, SAMPLE);
      const sampled = new Set(sample.map((c) => c.jid));
      const cpu0 = cpuMsOf(server.pid);
      const seqMs = await oneByOne(raw, sample);
      const cpu1 = cpuMsOf(server.pid);
      const backMs = await pipelined(raw, drifted.filter((d) => sampled.has(d.jid)));
      const cpu2 = cpuMsOf(server.pid);
      const perSet = seqMs / SAMPLE;
      console.log(`server:  ${SAMPLE} sets one at a time: ${fmt(perSet)} per set, Prosody CPU ${fmt((cpu1 - cpu0) / SAMPLE)} per set`);
      console.log(`         ${SAMPLE} sets pipelined: ${fmt(backMs / SAMPLE)} per set, Prosody CPU ${fmt((cpu2 - cpu1) / SAMPLE)} per set`);
      console.log(`         so ${count(DRIFT)} sets would take about ${((perSet * DRIFT) / 60_000).toFixed(0)} min (extrapolated from ${SAMPLE}, not measured)`);
      return;
    }

    const redrift = async () => {
      progress("redrift");
      await pipelined(raw!, drifted);
      await until(() => service.groups.plan().changes.length === DRIFT, IQ_TIMEOUT);
    };
    const rawTimes: number[] = [];
    const syncTimes: number[] = [];
    const setCounts: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      progress(`round ${round + 1}: raw`);
      rawTimes.push(await pipelined(raw, corrected));
      progress(`raw done in ${rawTimes.at(-1)!.toFixed(0)} ms`);
      await until(() => service.groups.plan().changes.length === 0, IQ_TIMEOUT);
      await redrift();

      progress("redrifted; sync");
      const before = sets;
      const t0 = performance.now();
      const result = await service.groups.sync();
      syncTimes.push(performance.now() - t0);
      setCounts.push(sets - before);
      if (result.failed.length) throw new Error(`${result.failed.length} changes failed: ${result.failed[0]!.error}`);
      if (service.groups.plan().changes.length !== 0) throw new Error("not converged after sync");
      if (round < ROUNDS - 1) await redrift();
    }
    const beforeSecond = sets;
    await service.groups.sync();
    const secondSets = sets - beforeSecond;

    const ratios = syncTimes.map((t, i) => t / rawTimes[i]!);
    const exact = setCounts.every((n) => n === DRIFT) && secondSets === 0;
    console.log(`sets:    ${setCounts.map(count).join(", ")} per sync (drift ${count(DRIFT)}); second sync: ${secondSets}${exact ? "" : "  <-- WRONG"}`);
    for (let i = 0; i < ROUNDS; i++) {
      console.log(`round ${i + 1}: raw pipelined ${fmt(rawTimes[i]!)}, group sync ${fmt(syncTimes[i]!)} (${fmt(syncTimes[i]! / DRIFT)} per set), ratio ${ratios[i]!.toFixed(2)}x`);
    }
    console.log(`apply:   median ratio ${median(ratios).toFixed(2)}x the raw pipelined baseline (target <= 1.2x)`);
    if (!exact) throw new Error("group sync sent a different number of sets than the drift, or sets on the second run");
  } finally {
    await raw?.stop();
    await runtime?.stop();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
