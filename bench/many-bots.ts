/**
 * Benchmark: many bots in one process against one Prosody. For each N (0, 100, 200, 500, 1,000 by
 * default) a fresh child process does what `roster-bot run` does with a config of N bots: it loads the
 * config (prepareConfig, every bot with the roster plugin and a 3-contact roster), builds a Host and
 * starts every bot at once. Measured: time until every bot is ready (roster loaded, initial presence
 * sent), each bot's own time to ready, CPU of the bots' process and of Prosody, RSS and V8 heap after
 * ready and after forced GC (the child runs with --expose-gc), and how long stopping takes and whether
 * the child then exits by itself (nothing left holding the event loop).
 *
 * Per-bot costs are (value at N − value at N = 0) / N; "×100" divides that by the same at N = 100, so a
 * cost that grows linearly with N reads 1.0. One fresh process per N, so memory from one N does not
 * carry into the next; Prosody stays up for all of them and is left to go quiet between runs. The
 * machine is shared: compare ratios, not milliseconds.
 *
 * Run: npx tsx bench/many-bots.ts     (or `npm run bench -- many-bots`)
 *   MANY_BOTS=0,100,1000     the counts to run (default 0,100,200,500,1000)
 *   REPS=n                   runs per count, the median counts (default 1)
 *   MANY_BOTS_PROFILE=dir    V8 CPU profile of each child (--cpu-prof)
 *   PROSODY_LOG_LEVEL=info   more of Prosody's log (printed when a run fails; default warn)
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { stringify } from "yaml";
import { Host } from "../bots/host.ts";
import { createLogger } from "../bots/logger.ts";
import { prepareConfig } from "../bots/prepare.ts";
import { xmppPatches } from "../bots/xmpp-client.ts";
import { ProsodyServer, type RosterSeedItem } from "../scripts/prosody.ts";
import { cpuMsOf, memoryOf } from "../scripts/proc-stats.ts";
import { median, table } from "./stats.ts";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), "..");
const COUNTS = (process.env.MANY_BOTS ?? "0,100,200,500,1000").split(",").map(Number).filter((n) => Number.isInteger(n) && n >= 0);
const REPS = Math.max(1, Number(process.env.REPS ?? 1));
const BOT_HOST = "bots.test";
const CONTACT_HOST = "contacts.test";
const PASSWORD = "many-bots-pw";
const READY_TIMEOUT_MS = 300_000;

const userOf = (i: number) => `bot${String(i).padStart(4, "0")}`;

/** A small roster per bot: three contacts on another host, none of them online. */
const rosterOf = (i: number): RosterSeedItem[] => [
  { jid: `friend${i}@${CONTACT_HOST}`, name: `Friend ${i}`, subscription: "both", groups: ["Friends"] },
  { jid: `colleague${i}@${CONTACT_HOST}`, subscription: "to", groups: ["Work"] },
  { jid: `visitor${i}@${CONTACT_HOST}`, subscription: "none" },
];

interface ChildResult {
  n: number;
  prepareMs: number;
  readyMs: number;
  failed: number;
  /** Each bot's time from host.start() to its `ready`, ms: median, 90th percentile, slowest. */
  botReady: { p50: number; p90: number; max: number };
  cpuMs: number;
  serverCpuMs: number;
  /** Longest event-loop stall while starting, ms. */
  loopMaxMs: number;
  rssReadyMb: number;
  heapReadyMb: number;
  rssGcMb: number;
  heapGcMb: number;
  stopMs: number;
  /** Active resources (sockets, timers, ...) once every bot is ready, by type. */
  readyResources: Record<string, number>;
  /** Active resources (sockets, timers, ...) left after host.stop(), by type. */
  leftAfterStop: Record<string, number>;
  /** From the child's last line to its exit, ms (measured by the parent). */
  exitMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function settledMemory(): Promise<{ rssMb: number; heapMb: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run the child with --expose-gc");
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(200);
  }
  return { rssMb: memoryOf(process.pid).rssMb, heapMb: process.memoryUsage().heapUsed / 2 ** 20 };
}

function resourceCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** One measurement in this (child) process: N bots from one config file, started and stopped by a Host. */
async function childMain(): Promise<void> {
  const n = Number(process.env.MANY_BOTS_N);
  const dir = process.env.MANY_BOTS_DIR!;
  const serverPid = Number(process.env.MANY_BOTS_SERVER_PID) || undefined;
  const logDest = pino.destination({ dest: path.join(dir, `bots-${n}.log`), sync: false });
  const logger = createLogger("info", logDest);
  // Loaded before the baseline, as N bots would load them: the patches run their probes once.
  await xmppPatches(logger);
  const base = await settledMemory();

  let host: Host | undefined;
  const result: ChildResult = {
    n,
    prepareMs: 0,
    readyMs: 0,
    failed: 0,
    botReady: { p50: 0, p90: 0, max: 0 },
    cpuMs: 0,
    serverCpuMs: 0,
    loopMaxMs: 0,
    rssReadyMb: memoryOf(process.pid).rssMb,
    heapReadyMb: process.memoryUsage().heapUsed / 2 ** 20,
    rssGcMb: base.rssMb,
    heapGcMb: base.heapMb,
    stopMs: 0,
    readyResources: {},
    leftAfterStop: {},
  };
  if (n > 0) {
    const configFile = path.join(dir, `bots-${n}.yaml`);
    const bots = Array.from({ length: n }, (_, i) => ({
      id: userOf(i),
      jid: `${userOf(i)}@${BOT_HOST}`,
      password: "${MANY_BOTS_PASSWORD}",
      service: process.env.MANY_BOTS_SERVICE,
      tls: "plaintext-loopback",
      dataDir: path.join(dir, `data-${n}`, userOf(i)),
      plugins: { roster: { subscriptions: { default: "reject" } } },
    }));
    // Written out in full: yaml refuses more than 100 aliases, which a shared plugin section would become.
    writeFileSync(configFile, stringify({ log: { level: "info" }, bots }, { aliasDuplicateObjects: false }));

    const cpu0 = process.cpuUsage();
    const server0 = cpuMsOf(serverPid);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const t0 = performance.now();
    const prepared = await prepareConfig(configFile, { secrets: true });
    host = new Host(prepared.bots, logger, { configDir: dir, retryInitial: true });
    result.prepareMs = performance.now() - t0;
    const readyAt: number[] = [];
    for (const r of host.runtimes) r.once("ready", () => readyAt.push(performance.now() - t0));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not every bot ready within ${READY_TIMEOUT_MS} ms (${readyAt.length} of ${n})`)), READY_TIMEOUT_MS);
    });
    const { failed } = await Promise.race([host.start(), timeout]);
    clearTimeout(timer);
    result.readyMs = performance.now() - t0;
    loop.disable();
    result.loopMaxMs = loop.max / 1e6;
    const cpu = process.cpuUsage(cpu0);
    result.cpuMs = (cpu.user + cpu.system) / 1000;
    result.serverCpuMs = cpuMsOf(serverPid) - server0;
    result.failed = failed.length;
    result.botReady = { p50: percentile(readyAt, 50), p90: percentile(readyAt, 90), max: percentile(readyAt, 100) };
    result.readyResources = resourceCounts();
    result.rssReadyMb = memoryOf(process.pid).rssMb;
    result.heapReadyMb = process.memoryUsage().heapUsed / 2 ** 20;
    const settled = await settledMemory();
    result.rssGcMb = settled.rssMb;
    result.heapGcMb = settled.heapMb;

    const s0 = performance.now();
    await host.stop();
    result.stopMs = performance.now() - s0;
  }
  await new Promise<void>((resolve) => logDest.flush(() => resolve()));
  logDest.end();
  await new Promise((r) => setImmediate(r));
  result.leftAfterStop = resourceCounts();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  // No process.exit(): the parent times how long the child takes to exit by itself.
}

/** Runs one child for N bots; rejects if it fails or does not exit within 30 s of reporting. */
function runChild(n: number, server: ProsodyServer, dir: string): Promise<ChildResult> {
  const profileDir = process.env.MANY_BOTS_PROFILE;
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profileDir)}`, `--cpu-prof-name=many-bots-${n}-${Date.now()}.cpuprofile`] : [];
  const child = spawn(process.execPath, ["--expose-gc", ...profile, "--import", "tsx", HERE], {
    cwd: ROOT,
    env: {
      ...process.env,
      MANY_BOTS_ROLE: "child",
      MANY_BOTS_N: String(n),
      MANY_BOTS_DIR: dir,
      MANY_BOTS_SERVICE: server.service,
      MANY_BOTS_SERVER_PID: String(server.pid ?? ""),
      MANY_BOTS_PASSWORD: PASSWORD,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let reportedAt = 0;
    let killer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (!reportedAt && out.includes("\n")) {
        reportedAt = performance.now();
        killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      }
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(killer);
      const exitMs = performance.now() - reportedAt;
      const line = out.split("\n")[0] ?? "";
      if (!reportedAt) return reject(new Error(`child for N=${n} exited (${signal ?? code}) without a result:\n${out}`));
      const result = JSON.parse(line) as ChildResult;
      if (signal) return reject(new Error(`child for N=${n} did not exit within 30 s of stopping; left: ${JSON.stringify(result.leftAfterStop)}`));
      resolve({ ...result, exitMs });
    });
  });
}

/** Waits until Prosody has used under 20 ms of CPU in half a second (closing the last run's sessions). */
async function serverQuiet(pid: number | undefined): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const before = cpuMsOf(pid);
    await sleep(500);
    if (!(cpuMsOf(pid) - before >= 20)) return;
  }
}

function medianResult(runs: ChildResult[]): ChildResult {
  const pick = (f: (r: ChildResult) => number) => median(runs.map(f));
  return {
    ...runs[0]!,
    prepareMs: pick((r) => r.prepareMs),
    readyMs: pick((r) => r.readyMs),
    failed: Math.max(...runs.map((r) => r.failed)),
    botReady: { p50: pick((r) => r.botReady.p50), p90: pick((r) => r.botReady.p90), max: pick((r) => r.botReady.max) },
    cpuMs: pick((r) => r.cpuMs),
    serverCpuMs: pick((r) => r.serverCpuMs),
    loopMaxMs: pick((r) => r.loopMaxMs),
    rssReadyMb: pick((r) => r.rssReadyMb),
    heapReadyMb: pick((r) => r.heapReadyMb),
    rssGcMb: pick((r) => r.rssGcMb),
    heapGcMb: pick((r) => r.heapGcMb),
    stopMs: pick((r) => r.stopMs),
    exitMs: pick((r) => r.exitMs ?? NaN),
  };
}

export async function run(): Promise<void> {
  const counts = COUNTS.includes(0) ? COUNTS : [0, ...COUNTS];
  const max = Math.max(...counts);
  const dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-many-"));
  const logLevel = (process.env.PROSODY_LOG_LEVEL as "debug" | "info" | "warn" | "error" | undefined) ?? "warn";
  const server = await ProsodyServer.start({ hosts: [BOT_HOST, CONTACT_HOST], logLevel });
  try {
    const c0 = performance.now();
    for (let i = 0; i < max; i++) {
      server.createAccount(userOf(i), BOT_HOST, PASSWORD);
      server.writeRoster(userOf(i), BOT_HOST, rosterOf(i));
    }
    console.log(`many-bots: ${max} accounts with 3-contact rosters written in ${(performance.now() - c0).toFixed(0)} ms; ` +
      `counts ${counts.join(", ")}, ${REPS} run(s) each, one child process per run (--expose-gc), ${process.version}, ${os.cpus().length} cores\n`);

    const results: ChildResult[] = [];
    for (const n of counts) {
      const runs: ChildResult[] = [];
      for (let rep = 0; rep < REPS; rep++) {
        await serverQuiet(server.pid);
        const r = await runChild(n, server, dir).catch((err: Error) => {
          throw new Error(`${err.message}\nProsody's log ends:\n${server.readLog().slice(-3000)}`);
        });
        runs.push(r);
        console.log(`  N=${String(n).padStart(4)}: ready in ${r.readyMs.toFixed(0)} ms${r.failed ? ` (${r.failed} FAILED)` : ""}, ` +
          `RSS ${r.rssReadyMb.toFixed(1)} MB (after GC ${r.rssGcMb.toFixed(1)}), stop ${r.stopMs.toFixed(0)} ms, exit ${r.exitMs?.toFixed(0)} ms`);
      }
      results.push(medianResult(runs));
    }

    const base = results.find((r) => r.n === 0)!;
    const kb = (mb: number) => mb * 1024;
    const perBot = (r: ChildResult, f: (x: ChildResult) => number) => (r.n ? (f(r) - f(base)) / r.n : NaN);
    const rows = results.filter((r) => r.n > 0);
    const ref = rows.find((r) => r.n === 100) ?? rows[0];

    console.log("\ntime to ready (host.start() of a fresh config until every bot is ready):\n");
    table(
      ["N", "prepare ms", "ready ms", "ms/bot", `×${ref!.n}`, "bot ready p50/p90/max ms", "CPU ms", "CPU ms/bot", `×${ref!.n}`, "Prosody CPU ms", "Prosody/bot", "loop stall ms"],
      rows.map((r) => [
        String(r.n),
        r.prepareMs.toFixed(0),
        r.readyMs.toFixed(0),
        (r.readyMs / r.n).toFixed(2),
        (r.readyMs / r.n / (ref!.readyMs / ref!.n)).toFixed(2),
        `${r.botReady.p50.toFixed(0)}/${r.botReady.p90.toFixed(0)}/${r.botReady.max.toFixed(0)}`,
        r.cpuMs.toFixed(0),
        (r.cpuMs / r.n).toFixed(2),
        (r.cpuMs / r.n / (ref!.cpuMs / ref!.n)).toFixed(2),
        r.serverCpuMs.toFixed(0),
        (r.serverCpuMs / r.n).toFixed(2),
        r.loopMaxMs.toFixed(0),
      ]),
    );

    console.log(`\nmemory (N = 0: RSS ${base.rssGcMb.toFixed(1)} MB, heap ${base.heapGcMb.toFixed(1)} MB after GC; per bot = (value − N=0's) / N):\n`);
    const marginal = (i: number, f: (x: ChildResult) => number) => {
      const prev = i === 0 ? base : rows[i - 1]!;
      return (f(rows[i]!) - f(prev)) / (rows[i]!.n - prev.n);
    };
    table(
      ["N", "RSS ready MB", "RSS GC MB", "KB/bot ready", "KB/bot GC", `×${ref!.n}`, "marginal KB/bot", "heap GC MB", "heap KB/bot", `×${ref!.n}`],
      rows.map((r, i) => [
        String(r.n),
        r.rssReadyMb.toFixed(1),
        r.rssGcMb.toFixed(1),
        kb(perBot(r, (x) => x.rssReadyMb)).toFixed(0),
        kb(perBot(r, (x) => x.rssGcMb)).toFixed(0),
        (perBot(r, (x) => x.rssGcMb) / perBot(ref!, (x) => x.rssGcMb)).toFixed(2),
        kb(marginal(i, (x) => x.rssGcMb)).toFixed(0),
        r.heapGcMb.toFixed(1),
        kb(perBot(r, (x) => x.heapGcMb)).toFixed(0),
        (perBot(r, (x) => x.heapGcMb) / perBot(ref!, (x) => x.heapGcMb)).toFixed(2),
      ]),
    );

    console.log("\nstopping (host.stop(), then the child must exit by itself):\n");
    table(
      ["N", "when ready", "stop ms", "ms/bot", "exit after stop ms", "left after stop"],
      rows.map((r) => [
        String(r.n),
        Object.entries(r.readyResources).map(([k, v]) => `${k}×${v}`).join(" "),
        r.stopMs.toFixed(0),
        (r.stopMs / r.n).toFixed(2),
        (r.exitMs ?? NaN).toFixed(0),
        Object.entries(r.leftAfterStop).map(([k, v]) => `${k}×${v}`).join(" ") || "nothing",
      ]),
    );

    const top = rows.at(-1)!;
    if (ref && top !== ref) {
      const ratio = (f: (x: ChildResult) => number) => (f(top) / top.n / (f(ref) / ref.n)).toFixed(2);
      console.log(`\nper-bot cost at N=${top.n} ÷ at N=${ref.n} (linear = 1.00): ready time ${ratio((x) => x.readyMs)}, ` +
        `CPU ${ratio((x) => x.cpuMs)}, Prosody CPU ${ratio((x) => x.serverCpuMs)}, ` +
        `RSS ${(perBot(top, (x) => x.rssGcMb) / perBot(ref, (x) => x.rssGcMb)).toFixed(2)}, ` +
        `heap ${(perBot(top, (x) => x.heapGcMb) / perBot(ref, (x) => x.heapGcMb)).toFixed(2)}, stop ${ratio((x) => x.stopMs)}`);
    }
    const failed = rows.reduce((s, r) => s + r.failed, 0);
    if (failed) {
      console.log(`\n${failed} bot(s) FAILED to start`);
      process.exitCode = 1;
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.env.MANY_BOTS_ROLE === "child") await childMain();
  else await run();
}
