/**
 * Benchmark: memory of the real CLI (`node bin/roster-bot.js run`, the compiled build) holding a
 * large roster (ROSTER_SIZE, default 100k), against a bot of the same config whose roster is empty,
 * started the same way in the same run. Every case is a new process; RSS is read from /proc.
 *
 *   cold      empty data dir: the server sends the whole roster
 *   warm      the cache from before, nothing changed: the server answers "your copy is current"
 *   refetch   the cache from before, 50 changes made offline: Prosody resends the whole roster
 *             (it never sends incremental pushes) while the bot holds the cached copy
 *
 * steady = RSS SETTLE_S seconds (default 15) after "roster loaded" (V8 shrinks its heap a few
 * seconds after allocation stops); peak = VmHWM over the process's life. Targets: steady ≤ 1 KB
 * and peak ≤ 2 KB per contact above the empty bot.
 *
 * HEAP_SNAPSHOT=DIR writes a heap snapshot of every large-roster process at steady state into DIR
 * (summarize one with `npx tsx scripts/heap-summary.ts FILE`). Runs `npm run build` first.
 *
 * Run: npx tsx bench/roster-memory.ts       (REPS=n, default 2; ROSTER_SIZE=10k for a quick look)
 */
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ProsodyServer } from "../scripts/prosody.ts";
import { memoryOf } from "../scripts/proc-stats.ts";
import { HOST, offlineChanges, PASSWORD, rosterSize, seedRoster } from "./roster-fixture.ts";
import { median, table } from "./stats.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SIZE = rosterSize(100_000);
const REPS = Math.max(1, Number(process.env.REPS ?? 2));
const SETTLE_MS = Number(process.env.SETTLE_S ?? 15) * 1000;
const SNAPSHOT_DIR = process.env.HEAP_SNAPSHOT ? path.resolve(process.env.HEAP_SNAPSHOT) : undefined;

interface Sample {
  loadedMs: number;
  steadyMb: number;
  peakMb: number;
  items: number;
}

function botConfig(server: ProsodyServer, user: string, dataDir: string): string {
  return `log: { level: info }
bots:
  - id: ${user}
    jid: ${user}@${HOST}
    password: \${BENCH_PASSWORD}
    service: ${server.service}
    tls: plaintext-loopback
    dataDir: ${JSON.stringify(dataDir)}
    plugins:
      roster:
        cache: true
        subscriptions:
          default: reject
          rules:
            - { name: staff, match: { domain: ${HOST} }, action: mutual }
            - { name: known, match: { all: [ { inRoster: true }, { not: { group: Old } } ] }, action: accept }
`;
}

/** Runs the CLI until its roster is loaded and memory has settled; returns what /proc said. */
async function measure(configFile: string, snapshot: string | undefined): Promise<Sample> {
  const args = [...(snapshot ? ["--heapsnapshot-signal=SIGUSR2"] : []), path.join(ROOT, "bin/roster-bot.js"), "run", "-c", configFile];
  const child = spawn(process.execPath, args, { cwd: snapshot ?? ROOT, env: { ...process.env, BENCH_PASSWORD: PASSWORD, NODE_OPTIONS: "" }, stdio: ["ignore", "pipe", "inherit"] });
  const t0 = performance.now();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    const items = await new Promise<number>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`roster-bot exited (${code}) before the roster was loaded`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        let entry: { msg?: string; items?: number; level?: number };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          return;
        }
        if ((entry.level ?? 0) >= 50) console.error(line);
        if (entry.msg === "roster loaded") resolve(entry.items ?? -1);
      });
    });
    const loadedMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const { rssMb, hwmMb } = memoryOf(child.pid!);
    if (snapshot) {
      const before = readdirSync(snapshot).length;
      child.kill("SIGUSR2");
      for (let i = 0; i < 600 && readdirSync(snapshot).length === before; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 2_000)); // the file appears before it is complete
    }
    return { loadedMs, steadyMb: rssMb, peakMb: hwmMb, items };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

export async function run(): Promise<void> {
  console.log("building dist/ (the CLI runs the compiled build)");
  execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: "inherit" });
  const server = await ProsodyServer.start({ hosts: [HOST, "b.test", "c.test"], logLevel: "warn" });
  const work = mkdtempSync(path.join(os.tmpdir(), "roster-bot-memory-"));
  if (SNAPSHOT_DIR) mkdirSync(SNAPSHOT_DIR, { recursive: true });
  try {
    server.createAccount("bigbot", HOST, PASSWORD);
    server.writeRoster("bigbot", HOST, seedRoster(SIZE), 1);
    server.createAccount("emptybot", HOST, PASSWORD);
    const config = (user: string, dir: string) => {
      const file = path.join(work, `${user}-${path.basename(dir)}.yaml`);
      writeFileSync(file, botConfig(server, user, dir));
      return file;
    };
    let fresh = 0;
    const freshDir = () => path.join(work, `data-${fresh++}`);
    console.log(`roster-memory: ${SIZE.toLocaleString("en-US")} contacts, ${REPS} repetitions, Prosody on ${server.service}\n`);

    const rows: Record<string, Sample[]> = { "empty roster": [], cold: [], warm: [], refetch: [] };
    for (let rep = 0; rep < REPS; rep++) {
      rows["empty roster"]!.push(await measure(config("emptybot", freshDir()), undefined));
      const dir = freshDir();
      const big = config("bigbot", dir);
      const snap = (kind: string) => {
        if (!SNAPSHOT_DIR || rep > 0) return undefined;
        const dir = path.join(SNAPSHOT_DIR, kind);
        mkdirSync(dir, { recursive: true });
        return dir;
      };
      rows.cold!.push(await measure(big, snap("cold")));
      rows.warm!.push(await measure(big, snap("warm")));
      await offlineChanges({ service: server.service, jid: `bigbot@${HOST}`, password: PASSWORD, size: SIZE, round: rep });
      rows.refetch!.push(await measure(big, snap("refetch")));
    }
    for (const [name, samples] of Object.entries(rows)) {
      const expected = name === "empty roster" ? 0 : SIZE;
      if (samples.some((s) => s.items !== expected)) throw new Error(`${name}: loaded ${samples.map((s) => s.items).join(", ")} items, expected ${expected}`);
    }

    const base = rows["empty roster"]!;
    const baseSteady = median(base.map((s) => s.steadyMb));
    const basePeak = median(base.map((s) => s.peakMb));
    const perContact = (mb: number, baseMb: number) => ((mb - baseMb) * 1024 * 1024) / SIZE;
    const header = ["start", "loaded s", "steady MB", "peak MB", "steady B/contact", "peak B/contact", "steady/1 KB", "peak/2 KB"];
    const cells = Object.entries(rows).map(([name, s]) => {
      const steady = median(s.map((x) => x.steadyMb));
      const peak = median(s.map((x) => x.peakMb));
      const isBase = s === base;
      return [
        name,
        (median(s.map((x) => x.loadedMs)) / 1000).toFixed(2),
        steady.toFixed(1),
        peak.toFixed(1),
        isBase ? "-" : perContact(steady, baseSteady).toFixed(0),
        isBase ? "-" : perContact(peak, basePeak).toFixed(0),
        isBase ? "-" : (perContact(steady, baseSteady) / 1024).toFixed(2),
        isBase ? "-" : (perContact(peak, basePeak) / 2048).toFixed(2),
      ];
    });
    table(header, cells);
    console.log(`\nmedians of ${REPS}; per contact = (MB - the empty-roster bot's MB) / ${SIZE.toLocaleString("en-US")}; the last two columns are the`);
    console.log(`share of the target (<= 1.00 meets it). loaded s = process start to "roster loaded" (node start-up and login included).`);
    console.log(`raw steady MB: ${Object.entries(rows).map(([n, s]) => `${n} [${s.map((x) => x.steadyMb.toFixed(0)).join(", ")}]`).join(", ")}`);
    if (SNAPSHOT_DIR) console.log(`heap snapshots: ${SNAPSHOT_DIR}/{cold,warm,refetch}`);
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
