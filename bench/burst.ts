/**
 * Benchmark: a burst of 1,000 subscription requests end to end against a real Prosody, timed from
 * the first `subscribe` until every client has its answer. roster-bot (the real CLI: 50 rules, audit
 * log and roster cache on, info log to a file, no rate limit) against a baseline @xmpp/client loop
 * that answers every request `subscribed`.
 *
 * Fair: both bots are node + tsx child processes (own event loop, RSS from /proc), and the same
 * connected crowd asks both, so server sessions and client-side work are identical. Each round ends
 * by emptying the bot account's roster, which cancels the subscriptions on both sides, so the next
 * round's requests are new ones the server delivers. One untimed warm-up per side, then timed rounds
 * alternating which side goes first; medians, with bot and Prosody CPU per burst.
 *
 * Expect the server to be the limit (~15 min on 2 cores): Prosody stores an account's roster, pending
 * requests included, as one record rewritten on each change, so 1,000 requests to one account cost
 * it O(N²): about 70 s of Prosody CPU per burst, well under 1 s for either bot.
 *
 * Run: npx tsx bench/burst.ts     (or `npm run bench -- burst`)
 *   CROWD=n, ROUNDS=n, BATCH=n   clients, timed rounds per side, parallel logins (1000, 3, 50)
 *   BURST_PROFILE=dir            V8 CPU profiles of both bot processes (written when they exit)
 *   BURST_DEBUG=1                stanza trace into roster-bot's log; BURST_KEEP=1 keeps the temp folder
 *   BURST_HTTP=1                 roster-bot serves /metrics (http.listen) and is scraped every 100 ms
 *                                during its bursts: metrics must not slow decisions (same 1.10x target)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { XmlElement } from "../bots/xmpp.ts";
import { compilePolicy } from "../plugins/roster/policy/compile.ts";
import { factsFor } from "../plugins/roster/policy/facts.ts";
import type { MatchSpec, SubscriptionRule } from "../plugins/roster/policy/match-schema.ts";
import { freePort, ProsodyServer } from "../scripts/prosody.ts";
import { cpuMsOf, memoryOf } from "../scripts/proc-stats.ts";
import { TestClient, xml } from "../scripts/xmpp-client.ts";
import { median } from "./stats.ts";

const CROWD = Math.max(10, Number(process.env.CROWD ?? 1_000));
const ROUNDS = Math.max(1, Number(process.env.ROUNDS ?? 3));
const BATCH = Math.max(1, Number(process.env.BATCH ?? 50));
const ANSWER_TIMEOUT_MS = 300_000;
const TARGET_RATIO = 1.1;
const HTTP = process.env.BURST_HTTP === "1";
const SCRAPE_EVERY_MS = 100;

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), "..");
const BOT_HOST = "bench.test";
const HOSTS = [BOT_HOST, "corp.test", "partner.test", "lab.test", "spam.test", "guest.test"];
const ROSTER_BOT = { user: "rosterbot", password: "roster-bot-pw" };
const BASELINE_BOT = { user: "baselinebot", password: "baseline-pw" };
const CROWD_PASSWORD = "pw";

function crowdJids(n: number): string[] {
  const jids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = i % 100;
    if (r < 2) jids.push(`blocked${i}@corp.test`); // jid rule: reject
    else if (r < 35) jids.push(`emp${i}@corp.test`); // domain rule: accept
    else if (r < 60) jids.push(`p${i}@partner.test`); // glob *@partner.test: accept
    else if (r < 72) jids.push(`dev.x${i}@lab.test`); // regex: accept
    else if (r < 75) jids.push(`intern${i}@lab.test`); // glob intern*@lab.test: reject
    else if (r < 85) jids.push(`spam${i}@spam.test`); // regex ^(spam|bot)[0-9]*@: reject
    else if (r < 88) jids.push(`vip${i}@guest.test`); // jid list: mutual
    else jids.push(`guest${i}@guest.test`); // no rule: default reject
  }
  return jids;
}

/** 50 rules: the ones the crowd hits, between filler of every kind that it does not. */
function buildRules(crowd: readonly string[]): SubscriptionRule[] {
  const rules: SubscriptionRule[] = [];
  const add = (name: string, match: MatchSpec, action: SubscriptionRule["action"]) => rules.push({ name, match, action });
  add("vip", { jid: ["ceo@guest.test", ...crowd.filter((j) => j.startsWith("vip"))] }, "mutual");
  add("blocked", { jid: ["troll@corp.test", ...crowd.filter((j) => j.startsWith("blocked"))] }, "reject");
  add("spam-patterns", { regex: "^(spam|bot)[0-9]*@" }, "reject");
  add("no-reply", { regex: ["^noreply-", "^no-reply[.-]"] }, "reject");
  add("bots", { jid: "bot-*@*" }, "reject");
  for (let i = 0; i < 14; i++) add(`customer-${i}`, { domain: `customer${i}.example` }, i % 3 === 0 ? "mutual" : "accept");
  for (let i = 0; i < 6; i++) add(`org-${i}`, { domain: `*.org${i}.example` }, "accept");
  for (let i = 0; i < 8; i++) add(`contractor-${i}`, { jid: [`c${i}a@contractors.example`, `c${i}b@contractors.example`] }, "accept");
  add("support", { jid: "support?@help.example" }, "accept");
  add("teams", { jid: "*.team@*.mail.example" }, "accept");
  add("interns", { jid: "intern*@lab.test" }, "reject");
  add("admins", { regex: "^admin[0-9]+@" }, "ask");
  add("lab-devs", { regex: "^dev\\.[a-z]+[0-9]*@lab\\.test$" }, "accept");
  add("science", { regex: "@(lab|dev)[0-9]+\\.science\\.example$" }, "accept");
  add("known", { all: [{ inRoster: true }, { not: { group: "Blocked" } }] }, "accept");
  add("staff", { domain: ["corp.test", "*.corp.test"] }, "accept");
  add("partners", { jid: "*@partner.test" }, "accept");
  for (let i = 0; i < 5; i++) add(`legacy-${i}`, { domain: `legacy${i}.example` }, "reject");
  add("spam-hosts", { domain: ["spam.example", "*.spam.example"] }, "reject");
  add("gov", { regex: "\\.gov\\.example$" }, "ignore");
  add("friends-of-friends", { jid: "*@friends.example" }, "mutual");
  if (rules.length !== 50) throw new Error(`expected 50 rules, built ${rules.length}`);
  return rules;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function stopChild(child: ChildProcess): Promise<void> {
  const done = exited(child);
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await done;
  clearTimeout(timer);
}

async function waitUntil(what: string, test: () => boolean, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (child.exitCode !== null) throw new Error(`${what}: the process exited (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function profileArgs(name: string): string[] {
  const dir = process.env.BURST_PROFILE;
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(dir)}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
}

async function startRosterBot(server: ProsodyServer, dir: string, rules: SubscriptionRule[]): Promise<{ child: ChildProcess; dataDir: string; logFile: string; metricsUrl?: string }> {
  const configFile = path.join(dir, "bot.config.yaml");
  const dataDir = path.join(dir, "data");
  const logFile = path.join(dir, "roster-bot.log");
  server.createAccount(ROSTER_BOT.user, BOT_HOST, ROSTER_BOT.password);
  const httpPort = HTTP ? await freePort() : undefined;
  const config = {
    log: { level: "info" },
    ...(httpPort ? { http: { listen: httpPort } } : {}),
    bots: [
      {
        id: "burst",
        jid: `${ROSTER_BOT.user}@${BOT_HOST}`,
        password: "${BURST_BOT_PASSWORD}",
        service: server.service,
        tls: "plaintext-loopback",
        resource: "roster-bot",
        dataDir,
        plugins: { roster: { subscriptions: { default: "reject", rules, onUnsubscribe: "keep" } } },
      },
    ],
  };
  writeFileSync(configFile, stringify(config));
  const out = openSync(logFile, "a");
  const child = spawn(process.execPath, [...profileArgs("roster-bot"), path.join(ROOT, "bin", "roster-bot.js"), "run", "--config", configFile], {
    cwd: ROOT,
    env: { ...process.env, BURST_BOT_PASSWORD: ROSTER_BOT.password, XMPP_DEBUG: process.env.BURST_DEBUG ?? "" },
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  const log = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  await waitUntil("roster-bot ready", () => log().includes('"msg":"session ready"'), child).catch((err) => {
    throw new Error(`${(err as Error).message}\n${log().slice(-2000)}`);
  });
  return { child, dataDir, logFile, metricsUrl: httpPort ? `http://127.0.0.1:${httpPort}/metrics` : undefined };
}

interface Scrapes {
  ms: number[];
  bytes: number[];
  failed: number;
}

/** Scrapes `url` every SCRAPE_EVERY_MS (one at a time) until the returned stop is awaited. */
function scrapeEvery(url: string, into: Scrapes): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      try {
        const body = await (await fetch(url)).text();
        into.ms.push(performance.now() - t0);
        into.bytes.push(Buffer.byteLength(body));
      } catch {
        into.failed++;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, SCRAPE_EVERY_MS - (performance.now() - t0))));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

async function startBaseline(server: ProsodyServer): Promise<ChildProcess> {
  server.createAccount(BASELINE_BOT.user, BOT_HOST, BASELINE_BOT.password);
  const child = spawn(process.execPath, [...profileArgs("baseline"), "--import", "tsx", HERE], {
    cwd: ROOT,
    env: {
      ...process.env,
      BURST_ROLE: "baseline",
      BURST_SERVICE: server.service,
      BURST_JID: `${BASELINE_BOT.user}@${BOT_HOST}`,
      BURST_PASSWORD: BASELINE_BOT.password,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await waitUntil("baseline ready", () => out.includes("ready\n"), child);
  return child;
}

async function baselineMain(): Promise<void> {
  const tc = await TestClient.connect({
    service: process.env.BURST_SERVICE!,
    jid: process.env.BURST_JID!,
    password: process.env.BURST_PASSWORD!,
    resource: "baseline",
    roster: true,
    presence: true,
  });
  tc.client.on("stanza", (s: XmlElement) => {
    if (s.name !== "presence" || s.attrs.type !== "subscribe" || !s.attrs.from) return;
    tc.send(xml("presence", { to: s.attrs.from.split("/")[0], type: "subscribed" })).catch(() => {});
  });
  process.stdout.write("ready\n");
  await new Promise((resolve) => process.once("SIGTERM", resolve));
  await tc.send(xml("presence", { type: "unavailable" })).catch(() => {});
  await tc.stop();
  process.exit(0);
}

interface Crowd {
  clients: TestClient[];
  /** Stanzas received by the whole crowd so far (to see when it has gone quiet). */
  received(): number;
}

async function connectCrowd(server: ProsodyServer, jids: readonly string[]): Promise<Crowd> {
  let count = 0;
  const clients = new Array<TestClient>(jids.length);
  for (let i = 0; i < jids.length; i += BATCH) {
    await Promise.all(
      jids.slice(i, i + BATCH).map(async (jid, k) => {
        const [user, host] = jid.split("@") as [string, string];
        server.createAccount(user, host, CROWD_PASSWORD);
        const tc = await TestClient.connect({ service: server.service, jid, password: CROWD_PASSWORD, resource: "crowd", roster: true, presence: true });
        tc.client.on("stanza", () => void count++);
        clients[i + k] = tc;
      }),
    );
  }
  return { clients, received: () => count };
}

const bareOf = (jid: string | undefined) => (jid ?? "").split("/")[0];

interface BurstResult {
  ms: number;
  subscribed: number;
  unsubscribed: number;
  mismatches: number;
  botCpuMs: number;
  serverCpuMs: number;
}

async function burst(crowd: Crowd, target: string, expected: readonly string[], botPid: number | undefined, serverPid: number | undefined): Promise<BurstResult> {
  const answers = crowd.clients.map((c) =>
    c.waitFor((s) => s.name === "presence" && bareOf(s.attrs.from) === target && (s.attrs.type === "subscribed" || s.attrs.type === "unsubscribed"), ANSWER_TIMEOUT_MS),
  );
  const cpu0 = cpuMsOf(botPid);
  const server0 = cpuMsOf(serverPid);
  const t0 = performance.now();
  for (const c of crowd.clients) c.presence(target, "subscribe").catch(() => {});
  const got = await Promise.all(answers);
  const ms = performance.now() - t0;
  let subscribed = 0;
  let mismatches = 0;
  got.forEach((s, i) => {
    if (s.attrs.type === "subscribed") subscribed++;
    if (s.attrs.type !== expected[i]) mismatches++;
  });
  return { ms, subscribed, unsubscribed: got.length - subscribed, mismatches, botCpuMs: cpuMsOf(botPid) - cpu0, serverCpuMs: cpuMsOf(serverPid) - server0 };
}

async function settle(crowd: Crowd, quietMs = 1_000): Promise<void> {
  let last = crowd.received();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    await new Promise((r) => setTimeout(r, 100));
    const now = crowd.received();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

async function resetRoster(janitor: TestClient, crowd: Crowd): Promise<void> {
  await Promise.all(crowd.clients.map((c) => janitor.rosterSet(c.bare, { remove: true }).catch(() => {})));
  await settle(crowd);
}

const f0 = (n: number) => n.toFixed(0);

export async function run(): Promise<void> {
  const jids = crowdJids(CROWD);
  const rules = buildRules(jids);
  const policy = compilePolicy(rules, { baseDir: ROOT });
  const answerOf = (action: string | undefined) => (action === "accept" || action === "mutual" ? "subscribed" : "unsubscribed");
  const expectedBot = jids.map((j) => answerOf(policy.decide(factsFor(j))?.action ?? "reject"));
  const expectedBase = jids.map(() => "subscribed");
  const mutual = jids.filter((j) => policy.decide(factsFor(j))?.action === "mutual").length;

  const dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-burst-"));
  const server = await ProsodyServer.start({ hosts: HOSTS, logLevel: "warn" });
  const serverPid = server.pid;
  let bot: Awaited<ReturnType<typeof startRosterBot>> | undefined;
  let base: ChildProcess | undefined;
  let crowd: Crowd | undefined;
  const janitors: TestClient[] = [];
  try {
    bot = await startRosterBot(server, dir, rules);
    base = await startBaseline(server);
    const botPid = bot.child.pid!;
    const basePid = base.pid!;
    const rosterJid = `${ROSTER_BOT.user}@${BOT_HOST}`;
    const baseJid = `${BASELINE_BOT.user}@${BOT_HOST}`;
    // Second resources of the bot accounts: no roster request, no presence, so they get no pushes.
    const janitorOf = async (user: string, password: string) => {
      const j = await TestClient.connect({ service: server.service, jid: `${user}@${BOT_HOST}`, password, resource: "janitor" });
      janitors.push(j);
      return j;
    };
    const rosterJanitor = await janitorOf(ROSTER_BOT.user, ROSTER_BOT.password);
    const baseJanitor = await janitorOf(BASELINE_BOT.user, BASELINE_BOT.password);

    const loginStart = performance.now();
    crowd = await connectCrowd(server, jids);
    const loginMs = performance.now() - loginStart;
    await settle(crowd);
    const rssBefore = memoryOf(botPid);
    const baseRssBefore = memoryOf(basePid);

    const sides = {
      "roster-bot": { jid: rosterJid, expected: expectedBot, pid: botPid, janitor: rosterJanitor, runs: [] as BurstResult[] },
      baseline: { jid: baseJid, expected: expectedBase, pid: basePid, janitor: baseJanitor, runs: [] as BurstResult[] },
    };
    type Side = keyof typeof sides;
    const scrapes: Scrapes = { ms: [], bytes: [], failed: 0 };
    const once = async (name: Side, record: boolean) => {
      const side = sides[name];
      const stopScraping = name === "roster-bot" && bot!.metricsUrl ? scrapeEvery(bot!.metricsUrl, scrapes) : undefined;
      const r = await burst(crowd!, side.jid, side.expected, side.pid, serverPid);
      await stopScraping?.();
      const resetStart = performance.now();
      await resetRoster(side.janitor, crowd!);
      if (record) side.runs.push(r);
      const label = record ? `round ${side.runs.length}` : "warm-up";
      console.log(
        `  ${label.padEnd(8)} ${name.padEnd(10)} ${f0(r.ms).padStart(6)} ms  (${r.subscribed} subscribed, ${r.unsubscribed} unsubscribed` +
          `${r.mismatches ? `, ${r.mismatches} WRONG` : ""}; bot CPU ${f0(r.botCpuMs)} ms, server CPU ${f0(r.serverCpuMs)} ms;` +
          ` reset ${f0(performance.now() - resetStart)} ms)`,
      );
    };

    console.log(`crowd: ${CROWD} clients on ${HOSTS.length - 1} hosts, logged in (PLAIN, ${BATCH} at a time) in ${f0(loginMs)} ms`);
    console.log(`rules: ${rules.length}; roster-bot should answer ${expectedBot.filter((e) => e === "subscribed").length} subscribed (${mutual} of them mutual), ${expectedBot.filter((e) => e === "unsubscribed").length} unsubscribed`);
    await once("roster-bot", false);
    await once("baseline", false);
    for (let round = 0; round < ROUNDS; round++) {
      const order: Side[] = round % 2 === 0 ? ["roster-bot", "baseline"] : ["baseline", "roster-bot"];
      for (const name of order) await once(name, true);
    }
    const rssAfter = memoryOf(botPid);
    const baseRssAfter = memoryOf(basePid);

    const botMs = median(sides["roster-bot"].runs.map((r) => r.ms));
    const baseMs = median(sides.baseline.runs.map((r) => r.ms));
    const ratio = botMs / baseMs;
    const wrong = [...sides["roster-bot"].runs, ...sides.baseline.runs].reduce((n, r) => n + r.mismatches, 0);

    await stopChild(bot.child);
    const decisions = readFileSync(path.join(bot.dataDir, "audit.log"), "utf8")
      .split("\n")
      .filter((l) => l.includes('"kind":"decision"')).length;
    const logLines = readFileSync(bot.logFile, "utf8").split("\n").filter(Boolean).length;

    const rows = [
      ["side", "median ms", "rounds ms", "bot CPU ms", "server CPU ms", "bot RSS MB before → after (peak)"],
      ...(["roster-bot", "baseline"] as const).map((name) => {
        const { runs } = sides[name];
        const [before, after] = name === "roster-bot" ? [rssBefore, rssAfter] : [baseRssBefore, baseRssAfter];
        return [
          name,
          f0(median(runs.map((r) => r.ms))),
          runs.map((r) => f0(r.ms)).join(", "),
          f0(median(runs.map((r) => r.botCpuMs))),
          f0(median(runs.map((r) => r.serverCpuMs))),
          `${f0(before.rssMb)} → ${f0(after.rssMb)} (${f0(after.hwmMb)})`,
        ];
      }),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
    console.log(`\n${line(rows[0]!)}\n|${widths.map((w) => "-".repeat(w + 2)).join("|")}|\n${rows.slice(1).map(line).join("\n")}`);
    console.log(`ratio:     ${ratio.toFixed(3)}x (target ≤ ${TARGET_RATIO.toFixed(2)}x)${HTTP ? ", roster-bot with http and scrapes" : ""}`);
    if (HTTP) {
      console.log(
        `scrapes:   ${scrapes.ms.length} during roster-bot's bursts (every ${SCRAPE_EVERY_MS} ms), ${scrapes.failed} failed;` +
          ` median ${median(scrapes.ms).toFixed(1)} ms, max ${Math.max(...scrapes.ms).toFixed(1)} ms; ${f0(median(scrapes.bytes))} bytes`,
      );
    }
    console.log(`audit:     ${decisions} decision lines for ${(ROUNDS + 1) * CROWD} requests; bot log ${logLines} lines`);
    const ok = wrong === 0 && decisions === (ROUNDS + 1) * CROWD;
    console.log(`check:     ${wrong === 0 ? "every answer as the rules say" : `${wrong} WRONG ANSWERS`}${decisions === (ROUNDS + 1) * CROWD ? "" : "; AUDIT LINES MISSING"}`);
    if (!ok) process.exitCode = 1;
  } finally {
    await Promise.all([...(crowd?.clients ?? []), ...janitors].map((c) => c?.stop()));
    if (bot) await stopChild(bot.child);
    if (base) await stopChild(base);
    await server.stop();
    if (process.env.BURST_KEEP) console.log(`kept: ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.env.BURST_ROLE === "baseline") await baselineMain();
  else await run();
}
