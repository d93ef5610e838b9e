/**
 * Benchmark: the fault suite's flood (20,000 subscription requests from 20,000 strangers of four
 * XEP-0114 component domains within 9 s) against the real CLI on a real Prosody, once per
 * `rateLimit.over` setting, each on a fresh server:
 *
 *   ignore  over the limit: no answer (the baseline: what the flood costs when the bot only counts)
 *   reject  over the limit: `unsubscribed`
 *   block   over the limit: `unsubscribed`, then the sender's domain blocked at the server (XEP-0191)
 *
 * Reported per setting: requests that reached the bot (its audit log's decision lines), for `block`
 * how many reached it before each domain's block took hold (the block's audit line) and after (in
 * flight when it did), the server's CPU time over the flood and its drain as a ratio against
 * `ignore` of the same run, the bot's CPU and RSS (before, peak, after).
 *
 * As in the fault suite, each `subscribe` is withdrawn at once (`unsubscribe`): Prosody rewrites the
 * account's roster record, pending requests included, on every change, so 20,000 left pending would
 * measure only that.
 *
 * Run: npx tsx bench/block-flood.ts      (or `npm run bench -- block-flood`)
 *   SCENARIOS=ignore,reject,block   which settings, in this order (default all three)
 *   REQUESTS=n                      requests per flood (default 20000)
 *
 * Over the total limit alone, `over: block` only rejects (it blocks a domain over its own limit), so
 * the first blocks come once a domain has used its 20.
 */
import path from "node:path";
import { ProsodyServer } from "../scripts/prosody.ts";
import { cpuMsOf, memoryOf } from "../scripts/proc-stats.ts";
import { RawComponent } from "../scripts/xmpp-component.ts";
import { readAudit, sleep, spawnBot, yamlConfig, type AuditEntry } from "../test/faults/support.ts";
import ensureServerAndBuild from "../test/global-setup.ts";
import { tempDir } from "../test/helpers/tmp.ts";

const REQUESTS = Math.max(100, Number(process.env.REQUESTS ?? 20_000));
const FLOOD_MS = 9_000;
const TICK_MS = 10;
const DRAIN_QUIET_MS = 2_000;
const DRAIN_LIMIT_MS = 120_000;
const DOMAINS = ["s1.test", "s2.test", "s3.test", "s4.test"];
const BOT_USER = "floodbot";
const BOT = `${BOT_USER}@a.test`;
const PASSWORD = "flood-bot-password";

type Over = "ignore" | "reject" | "block";
const SCENARIOS = (process.env.SCENARIOS ?? "ignore,reject,block").split(",").map((s) => s.trim()) as Over[];

interface Outcome {
  over: Over;
  reached: number;
  /** block only: per domain, requests decided before its block's audit line and after it. */
  beforeBlock?: number;
  afterBlock?: number;
  blocks?: number;
  blockIqs?: number;
  serverCpuMs: number;
  botCpuMs: number;
  rssMb: { before: number; peak: number; after: number };
  drainedMs: number;
}

function rateLimit(over: Over) {
  const limits = { perDomain: "20/min", total: "60/min" };
  return over === "block" ? { ...limits, over: "block", block: { scope: "domain" } } : { ...limits, over };
}

async function flood(over: Over): Promise<Outcome> {
  const server = await ProsodyServer.start({
    hosts: ["a.test"],
    components: DOMAINS.map((domain) => ({ domain, secret: `${domain}-secret` })),
    logLevel: "warn",
    rosterStorage: "memory",
    streamManagement: false,
  });
  const tmp = tempDir("bench-block-flood-");
  const components: RawComponent[] = [];
  let bot: ReturnType<typeof spawnBot> | undefined;
  try {
    server.createAccount(BOT_USER, "a.test", PASSWORD);
    const config = yamlConfig((name, text) => tmp.write(name, text), "bot.config.yaml", {
      log: { level: "info" },
      bots: [
        {
          id: "flood",
          jid: BOT,
          password: "${FLOOD_BOT_PASSWORD}",
          service: server.service,
          tls: "plaintext-loopback",
          dataDir: "./data",
          plugins: { roster: { subscriptions: { default: "reject", rateLimit: rateLimit(over) } } },
        },
      ],
    });
    bot = spawnBot(["run", "--config", config], { cwd: tmp.dir, logFile: path.join(tmp.dir, "bot.log"), env: { FLOOD_BOT_PASSWORD: PASSWORD } });
    await bot.waitForOutput(/"msg":"session ready"/);
    for (const domain of DOMAINS) components.push(await RawComponent.connect({ port: server.componentPort, domain, secret: `${domain}-secret` }));
    await sleep(500);

    const auditFile = path.join(tmp.dir, "data", "audit.log");
    const pid = bot.pid;
    const before = memoryOf(pid);
    const botCpuBefore = cpuMsOf(pid);
    const serverCpuBefore = cpuMsOf(server.pid);
    let peak = before.rssMb;
    const t0 = performance.now();
    let sent = 0;
    const perTick = (REQUESTS * TICK_MS) / FLOOD_MS;
    for (let tick = 1; sent < REQUESTS; tick++) {
      for (; sent < Math.min(REQUESTS, Math.round(tick * perTick)); sent++) {
        const component = components[sent % DOMAINS.length]!;
        const stranger = `stranger${sent}@${component.domain}`;
        await component.presence(stranger, BOT, "subscribe");
        await component.presence(stranger, BOT, "unsubscribe");
      }
      if (tick % 10 === 0) peak = Math.max(peak, memoryOf(pid).rssMb);
      const wait = t0 + tick * TICK_MS - performance.now();
      if (wait > 0) await sleep(wait);
    }

    // Drained: no new decision for DRAIN_QUIET_MS (a blocked domain's requests never come).
    let last = -1;
    let quietSince = performance.now();
    const deadline = performance.now() + DRAIN_LIMIT_MS;
    for (;;) {
      const n = decisionCount(auditFile);
      if (n !== last) {
        last = n;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= DRAIN_QUIET_MS || n >= REQUESTS) {
        break;
      }
      if (performance.now() > deadline) break;
      peak = Math.max(peak, memoryOf(pid).rssMb);
      await sleep(100);
    }
    const drainedMs = performance.now() - t0;
    const serverCpuMs = cpuMsOf(server.pid) - serverCpuBefore;
    const botCpuMs = cpuMsOf(pid) - botCpuBefore;
    const after = memoryOf(pid);
    const audit = readAudit(auditFile);
    const decisions = audit.filter((l) => l.kind === "decision");
    const outcome: Outcome = {
      over,
      reached: decisions.length,
      serverCpuMs,
      botCpuMs,
      rssMb: { before: Math.round(before.rssMb), peak: Math.round(Math.max(peak, after.rssMb)), after: Math.round(after.rssMb) },
      drainedMs: Math.round(drainedMs),
    };
    if (over === "block") Object.assign(outcome, blockCounts(audit, decisions, bot.output()));
    return outcome;
  } finally {
    await Promise.all(components.map((c) => c.stop()));
    await bot?.stop();
    await server.stop();
    tmp.remove();
  }
}

function decisionCount(auditFile: string): number {
  try {
    return readAudit(auditFile).filter((l) => l.kind === "decision").length;
  } catch {
    return 0;
  }
}

/** Per domain: decisions up to the time its block's audit line was written, and after. */
function blockCounts(audit: AuditEntry[], decisions: AuditEntry[], log: string) {
  const blockedAt = new Map<string, number>();
  let blocks = 0;
  for (const line of audit) {
    if (line.kind !== "block" || !line.jid) continue;
    blocks++;
    if (!blockedAt.has(line.jid)) blockedAt.set(line.jid, Date.parse(line.time));
  }
  let beforeBlock = 0;
  let afterBlock = 0;
  for (const d of decisions) {
    const at = blockedAt.get(d.from!.split("@")[1]!);
    if (at === undefined || Date.parse(d.time) <= at) beforeBlock++;
    else afterBlock++;
  }
  const blockIqs = (log.match(/"msg":"blocked at the server"/g) ?? []).length;
  return { beforeBlock, afterBlock, blocks, blockIqs };
}

export async function run(): Promise<void> {
  ensureServerAndBuild(); // the CLI runs dist/: compiled from the sources as they are now
  const results: Outcome[] = [];
  for (const over of SCENARIOS) {
    const outcome = await flood(over);
    results.push(outcome);
    console.log(`${over}:`, JSON.stringify(outcome));
  }
  const base = results.find((r) => r.over === "ignore");
  console.log(`\n${REQUESTS} requests from ${DOMAINS.length} domains in ${FLOOD_MS / 1000} s, rateLimit 20/min per domain, 60/min total`);
  console.log("over     reached  server CPU   vs ignore  bot CPU   bot RSS before/peak/after");
  for (const r of results) {
    const ratio = base ? (r.serverCpuMs / base.serverCpuMs).toFixed(2) + "x" : "-";
    console.log(
      `${r.over.padEnd(8)} ${String(r.reached).padStart(7)}  ${String(Math.round(r.serverCpuMs)).padStart(7)} ms  ${ratio.padStart(9)}  ${String(Math.round(r.botCpuMs)).padStart(5)} ms  ${r.rssMb.before}/${r.rssMb.peak}/${r.rssMb.after} MB`,
    );
  }
  const block = results.find((r) => r.over === "block");
  if (block) {
    console.log(`block: ${block.beforeBlock} requests reached the bot before their domain's block took hold, ${block.afterBlock} after (in flight); ${block.blocks} block audit lines`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
