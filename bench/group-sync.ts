/**
 * Benchmark: group sync on a 10,000-contact roster with 500 contacts drifted: plan time from the
 * roster copy (median; target < 20 ms), roster sets sent (must equal the drift), and `groups.sync()`
 * against a baseline from the same run: the same 500 sets sent raw and pipelined by a plain client of
 * the same account (target: within 1.2x). Rounds alternate baseline and sync; the plain client
 * restores the drift between them. Prosody runs with a high c2s rate limit (scripts/prosody.ts).
 *
 * Run: npx tsx bench/group-sync.ts
 */
import { xml } from "../bots/xmpp.ts";
import type { XmlElement } from "../bots/xmpp.ts";
import { Secret } from "../bots/config/secret.ts";
import { createLogger } from "../bots/logger.ts";
import { BotRuntime } from "../bots/runtime.ts";
import type { GroupChange } from "../plugins/roster/api.ts";
import roster from "../plugins/roster/index.ts";
import { ProsodyServer, type RosterSeedItem } from "../scripts/prosody.ts";
import { TestClient } from "../scripts/xmpp-client.ts";

const CONTACTS = 10_000;
const DRIFT = 500;
const PLAN_RUNS = 15;
const progress = (msg: string) => process.env.BENCH_VERBOSE && console.error(`[${new Date().toISOString()}] ${msg}`);
/** Each phase sends 500 sets to a server that rewrites a 10,000-item roster file per set (~1 min). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const setIq = (item: { jid: string; name?: string; groups?: readonly string[] }) =>
  xml("iq", { type: "set" }, xml("query", { xmlns: NS_ROSTER }, xml("item", { jid: item.jid, name: item.name }, ...(item.groups ?? []).map((g) => xml("group", {}, g)))));

async function pipelined(client: TestClient, items: { jid: string; name?: string; groups?: readonly string[] }[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(items.map((it) => client.client.iqCaller.request(setIq(it), 120_000)));
  return performance.now() - t0;
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function run(): Promise<void> {
  const server = await ProsodyServer.start({ hosts: HOSTS, logLevel: "warn" });
  let runtime: BotRuntime | undefined;
  let raw: TestClient | undefined;
  try {
    const { desired, drifted } = contactItems();
    const driftedByJid = new Map(drifted.map((d) => [d.jid, d]));
    server.createAccount("bench", "a.test", PASSWORD);
    server.writeRoster("bench", "a.test", desired.map((d) => driftedByJid.get(d.jid) ?? d));

    const logger = createLogger("warn", process.stderr);
    runtime = new BotRuntime(
      {
        id: "bench",
        jid: "bench@a.test",
        resource: "bot",
        service: server.service,
        tls: "plaintext-loopback",
        dataDir: `${server.dir}/bot-data`,
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
    const loadStart = performance.now();
    await runtime.start();
    const service = runtime.service("roster");
    await service.whenLoaded();
    const loadMs = performance.now() - loadStart;
    if (service.list().length !== CONTACTS) throw new Error(`roster has ${service.list().length} contacts, expected ${CONTACTS}`);

    const planTimes: number[] = [];
    let plan = service.groups.plan();
    for (let i = 0; i < PLAN_RUNS; i++) {
      const t0 = performance.now();
      plan = service.groups.plan();
      planTimes.push(performance.now() - t0);
    }
    if (plan.changes.length !== DRIFT) throw new Error(`plan has ${plan.changes.length} changes, expected ${DRIFT}`);
    const corrected = plan.changes.map((c: GroupChange) => ({ jid: c.jid, name: c.name.after, groups: c.groups.after }));

    progress(`plan median ${median(planTimes).toFixed(1)} ms`);
    raw = await TestClient.connect({ service: server.service, jid: "bench@a.test", password: PASSWORD, resource: "raw" });
    // 500 sets queued at once keep the server busy longer than xmpp.js waits for a stream-management
    // ack (60 s), which would close the baseline's stream; the bot keeps only 16 in flight.
    (raw.client.streamManagement as unknown as { timeout: number }).timeout = 0;
    const redrift = async () => {
      progress("redrift");
      await pipelined(raw!, drifted);
      await until(() => service.groups.plan().changes.length === DRIFT);
    };
    const rawTimes: number[] = [];
    const syncTimes: number[] = [];
    const setCounts: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      progress(`round ${round + 1}: raw`);
      rawTimes.push(await pipelined(raw, corrected));
      progress(`raw done in ${rawTimes.at(-1)!.toFixed(0)} ms`);
      await until(() => service.groups.plan().changes.length === 0);
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
    const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
    console.log(`roster: ${CONTACTS.toLocaleString("en-US")} contacts on ${HOSTS.length} hosts, ${DRIFT} drifted (loaded in ${fmt(loadMs)})`);
    console.log(`plan:   median ${fmt(median(planTimes))} over ${PLAN_RUNS} runs (min ${fmt(Math.min(...planTimes))}, max ${fmt(Math.max(...planTimes))}); target < 20 ms`);
    console.log(`sets:   ${setCounts.join(", ")} per sync (drift ${DRIFT}); second sync: ${secondSets}`);
    for (let i = 0; i < ROUNDS; i++) {
      console.log(`round ${i + 1}: raw pipelined ${fmt(rawTimes[i]!)}, group sync ${fmt(syncTimes[i]!)}, ratio ${ratios[i]!.toFixed(2)}x`);
    }
    console.log(`apply:  median ratio ${median(ratios).toFixed(2)}x the raw pipelined baseline (target <= 1.2x)`);
  } finally {
    await raw?.stop();
    await runtime?.stop();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
