/**
 * Benchmark: `roster-bot replay` (replayAudit) over a synthetic audit log of 1,000,000 lines against
 * the 1,000-rule set of bench/rules.ts, next to a baseline measured in the same run that only reads
 * and JSON.parses each line with replay's own reader (the floor any replay has). The log is a realistic mix: mostly rules and
 * default decisions of many JIDs (a third with roster facts), some decisions of plugins, admins and
 * the rate limit, held requests seen again, roster and block lines, a few malformed lines.
 *
 * Peak RSS (process.resourceUsage().maxRSS) of replay over the first 100,000 lines and over all
 * 1,000,000, each in a child process of its own: memory must not grow with the log's length.
 * Target: ≥ 200,000 lines/s.
 *
 * Run: npx tsx bench/replay.ts      (or `npm run bench -- replay`); REPLAY_LINES=n for another size,
 * REPLAY_PROFILE=DIR writes a CPU profile of the timing child into DIR.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { rosterConfigSchema } from "../plugins/roster/config.ts";
import { ACTIONS } from "../plugins/roster/policy/match-schema.ts";
import { replayAudit } from "../plugins/roster/replay/index.ts";
import { readAudit } from "../plugins/roster/replay/read-audit.ts";
import { prng } from "../test/helpers/prng.ts";
import { buildRules, stranger } from "./rules.ts";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), "..");
const LINES = Number(process.env.REPLAY_LINES ?? 1_000_000);
const SMALL = Math.round(LINES / 10);
const TARGET = 200_000;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;

/** The 1,000 rules of bench/rules.ts (the same rules in every process: the first draws of its seed). */
function rulesAndSamples() {
  const { rules, matching } = buildRules();
  const config = rosterConfigSchema.parse({ cache: false, subscriptions: { default: "reject", rules } });
  return { config, matching };
}

/** Writes `count` audit lines; returns once they are on disk. */
async function writeLog(file: string, count: number, matching: (() => string)[]): Promise<void> {
  const random = prng(17);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const GROUPS = [[], ["Friends"], ["Staff"], ["Friends", "Team"], ["Partners"]];
  const SUBS = ["none", "to", "from", "both"];
  const start = Date.parse("2025-12-01T00:00:00.000Z");
  const out = createWriteStream(file);
  let chunk: string[] = [];
  for (let i = 0; i < count; i++) {
    const time = new Date(start + i * 30_000).toISOString();
    const from = random() < 0.5 ? pick(matching)() : stranger();
    const base = { time, bot: "bench", kind: "decision", from };
    const r = random();
    let line: string;
    if (r < 0.85) {
      const byRule = random() < 0.5;
      const roster = random() < 0.33 ? { roster: { groups: pick(GROUPS), subscription: pick(SUBS) } } : {};
      line = JSON.stringify({ ...base, action: pick(ACTIONS), decidedBy: byRule ? "rules" : "default", ...(byRule ? { rule: `rule-${int(1000)}` } : {}), reason: byRule ? `domain matches rule "rule-${int(1000)}"` : "no rule or plugin decided", sent: ["unsubscribed"], ...roster });
    } else if (r < 0.9) line = JSON.stringify({ ...base, action: "reject", decidedBy: "blocklist", reason: "listed", sent: ["unsubscribed"] });
    else if (r < 0.92) line = JSON.stringify({ ...base, action: "accept", decidedBy: "boss@example.org", reason: "approved by boss@example.org", sent: ["subscribed"], via: "approve" });
    else if (r < 0.95) line = JSON.stringify({ ...base, action: "ignore", decidedBy: "rate-limit", reason: "over the per-domain rate limit", sent: [] });
    else if (r < 0.97) line = JSON.stringify({ ...base, action: "ask", decidedBy: "pending", reason: "still waiting for an answer", sent: [] });
    else if (r < 0.999) line = JSON.stringify({ time, bot: "bench", kind: "roster", op: "set", jid: from, groups: ["Staff"], by: "group-sync", ok: true });
    else line = `{"time":"${time}","bot":"bench","kind":"decision","from":"${from}","act`; // cut short by a crash
    chunk.push(line);
    if (chunk.length === 10_000 || i === count - 1) {
      if (!out.write(chunk.join("\n") + "\n")) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk = [];
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** The floor: the same reader as replay (read each line, JSON.parse it), with nothing done per line. */
async function baseline(file: string): Promise<number> {
  const counts = { lines: 0, malformed: 0 };
  await readAudit([file], counts, () => {});
  return counts.lines;
}

/** Wall-clock and CPU seconds (CPU time is what a busy machine disturbs least). */
async function seconds<T>(fn: () => Promise<T>): Promise<{ s: number; cpuS: number; value: T }> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { s: Number(process.hrtime.bigint() - start) / 1e9, cpuS: (used.user + used.system) / 1e6, value };
}

interface ChildResult {
  baseline?: { s: number; cpuS: number };
  replay?: { s: number; cpuS: number };
  lines: number;
  malformed: number;
  replayed: number;
  changed: number;
  maxRssKb: number;
}

/** In a child: write the logs (role write), time baseline and replay (time), or replay only (rss). */
async function childMain(role: string, file: string): Promise<void> {
  const { config, matching } = rulesAndSamples();
  if (role === "write") {
    await writeLog(file, LINES, matching);
    await writeLog(`${file}.small`, SMALL, matching); // the same mix, a tenth as long
    return;
  }
  let base: { s: number; cpuS: number } | undefined;
  if (role === "time") {
    await baseline(file); // warms the page cache and the reader's JIT alike for both
    const { s, cpuS } = await seconds(() => baseline(file));
    base = { s, cpuS };
  }
  const run = await seconds(() => replayAudit({ files: [file], config, configDir: ROOT }));
  const r = run.value;
  const result: ChildResult = { ...(base ? { baseline: base, replay: { s: run.s, cpuS: run.cpuS } } : {}), lines: r.lines, malformed: r.malformed, replayed: r.replayed, changed: r.changed, maxRssKb: process.resourceUsage().maxRSS };
  process.stdout.write(JSON.stringify(result) + "\n");
}

function child(role: string, file: string): Promise<ChildResult | undefined> {
  const dir = process.env.REPLAY_PROFILE;
  const profile = dir && role === "time" ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(dir)}`] : [];
  const proc = spawn(process.execPath, [...profile, "--import", "tsx", HERE], {
    cwd: ROOT,
    env: { ...process.env, REPLAY_ROLE: role, REPLAY_FILE: file, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  return new Promise((resolve, reject) => {
    proc.on("error", reject);
    proc.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`replay bench child (${role}) exited with ${code}:\n${out}`));
      resolve(out.trim() ? (JSON.parse(out.trim().split("\n").pop()!) as ChildResult) : undefined);
    });
  });
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "replay-bench-"));
  const file = path.join(dir, "audit.log");
  try {
    const written = await seconds(() => child("write", file));
    console.log(`audit log: ${fmt(LINES)} lines (and ${fmt(SMALL)} for the memory check) written in ${written.s.toFixed(1)} s`);
    const timed = (await child("time", file))!;
    const perS = (t: { s: number; cpuS: number }) => `${fmt(LINES / t.s)} lines/s (${fmt(LINES / t.cpuS)} per CPU second)`;
    const replay = LINES / timed.replay!.s;
    console.log(`baseline: ${perS(timed.baseline!)}: read + JSON.parse only`);
    console.log(`replay:   ${perS(timed.replay!)} against 1,000 rules (${fmt(timed.replayed)} decided again, ${fmt(timed.changed)} would change, ${fmt(timed.malformed)} malformed)`);
    console.log(`ratio:    replay takes ${(timed.replay!.s / timed.baseline!.s).toFixed(2)}x the baseline's time; target ≥ ${fmt(TARGET)} lines/s: ${replay >= TARGET ? "met" : "MISSED"}`);
    const small = (await child("rss", `${file}.small`))!;
    const large = (await child("rss", file))!;
    console.log(`peak RSS: ${mb(small.maxRssKb)} over ${fmt(small.lines)} lines, ${mb(large.maxRssKb)} over ${fmt(large.lines)} lines (ratio ${(large.maxRssKb / small.maxRssKb).toFixed(2)})`);
    if (replay < TARGET) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const role = process.env.REPLAY_ROLE;
  if (role) await childMain(role, process.env.REPLAY_FILE!);
  else await run();
}
