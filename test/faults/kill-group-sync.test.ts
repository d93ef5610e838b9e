/**
 * Fault: `kill -9` of the bot (the real CLI, its own process) in the middle of a 750-set group sync
 * on a 3,000-contact roster, aimed at a moment when a roster cache write is in progress. The cache is
 * read and validated every few milliseconds and must always hold a whole roster (writes are temp
 * file + fsync + rename); the next start converges to exactly the declared roster.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeRosterCache } from "../../plugins/roster/cache.ts";
import { ProsodyServer, type RosterSeedItem } from "../../scripts/prosody.ts";
import { tempDir, type TempDir } from "../helpers/tmp.ts";
import { BIN, countLines, readAudit, serverRoster, sleep, spawnBot, yamlConfig, type BotProcess } from "./support.ts";

const CONTACTS = 3_000;
const BOT_USER = "gsbot";
const BOT = `${BOT_USER}@a.test`;
const PASSWORD = "group-sync-kill-password";
/** Kill once this many roster sets are in the audit log. */
const KILL_AFTER = 100;

/** The on-disk cache format (plugins/roster/cache.ts), checked independently of the bot's code. */


/** Contact i: the item as declared (in sync) and as seeded (every 4th lacks its managed group). */
function contact(i: number): { desired: RosterSeedItem; seeded: RosterSeedItem } {
  const host = i % 2 === 0 ? "b.test" : "c.test";
  const own = `Team ${i % 7}`;
  const managed = host === "b.test" ? "Staff" : "Partners";
  const desired: RosterSeedItem = { jid: `u${i}@${host}`, subscription: "both", groups: [managed, own].sort(), ...(i % 5 === 0 ? { name: `User ${i}` } : {}) };
  return { desired, seeded: i % 4 === 0 ? { ...desired, groups: [own] } : desired };
}
const contacts = Array.from({ length: CONTACTS }, (_, i) => contact(i));
const DRIFTED = contacts.filter((c) => c.seeded !== c.desired).length;

let server: ProsodyServer;
let tmp: TempDir;
const bots: BotProcess[] = [];

beforeAll(async () => {
  server = await ProsodyServer.start({ logLevel: "warn" });
  server.createAccount(BOT_USER, "a.test", PASSWORD);
  server.writeRoster(BOT_USER, "a.test", contacts.map((c) => c.seeded));
  tmp = tempDir("fault-kill-");
});
afterAll(async () => {
  for (const b of bots) await b.kill9();
  await server?.stop();
  tmp?.remove();
});

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: tmp.dir,
      env: { ...process.env, XMPP_DEBUG: "", ROSTER_BOT_CONFIG: "", GS_BOT_PASSWORD: PASSWORD },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

function checkCache(file: string, state: { seen: boolean; checks: number; versions: Set<string | undefined>; problems: string[] }): void {
  state.checks++;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" && !state.seen) return; // not written yet
    state.problems.push(`check ${state.checks}: ${(err as Error).message}`);
    return;
  }
  state.seen = true;
  try {
    const data = decodeRosterCache(text, BOT);
    if (data.items.size !== CONTACTS) throw new Error(`${data.items.size} items`);
    state.versions.add(data.ver);
  } catch (err) {
    state.problems.push(`check ${state.checks}: ${(err as Error).message.slice(0, 200)} (${text.length} bytes)`);
  }
}

describe("kill -9 in the middle of a large group sync", () => {
  it("never leaves a corrupt roster cache, and the next start converges", async () => {
    const dataDir = path.join(tmp.dir, "data");
    const cacheFile = path.join(dataDir, "plugins", "roster", "roster.json");
    const auditFile = path.join(dataDir, "audit.log");
    const config = yamlConfig(tmp.write, "bot.config.yaml", {
      log: { level: "info" },
      bots: [
        {
          id: "gs",
          jid: BOT,
          password: "${GS_BOT_PASSWORD}",
          service: server.service,
          tls: "plaintext-loopback",
          dataDir: "./data",
          reconnect: { initialDelay: "100ms", maxDelay: "1s" },
          plugins: {
            roster: {
              groups: {
                managed: ["Staff", "Partners"],
                assign: [
                  { group: "Staff", match: { domain: "b.test" } },
                  { group: "Partners", match: { domain: "c.test" } },
                ],
              },
            },
          },
        },
      ],
    });

    const cache = { seen: false, checks: 0, versions: new Set<string | undefined>(), problems: [] as string[] };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        checkCache(cacheFile, cache);
        await sleep(5);
      }
    })();

    try {
      // First start: the loaded trigger plans 750 sets and starts sending them.
      const first = spawnBot(["run", "--config", config], { cwd: tmp.dir, logFile: path.join(tmp.dir, "run1.log"), env: { GS_BOT_PASSWORD: PASSWORD } });
      bots.push(first);
      const t0 = Date.now();
      while (countLines(auditFile, '"kind":"roster"') < KILL_AFTER) {
        if (Date.now() - t0 > 60_000) throw new Error(`fewer than ${KILL_AFTER} roster sets within 60 s:\n${first.output().slice(-2000)}`);
        if (first.child.exitCode !== null) throw new Error(`the bot exited:\n${first.output().slice(-2000)}`);
        await sleep(5);
      }
      // Aim the kill at a cache write in progress (its temp file exists), if one shows up soon.
      const dir = path.dirname(cacheFile);
      const writing = () => existsSync(dir) && readdirSync(dir).some((n) => n.endsWith(".tmp"));
      const aimUntil = Date.now() + 3_000;
      while (!writing() && Date.now() < aimUntil) await new Promise((r) => setImmediate(r));
      const killedMidWrite = writing();
      await first.kill9();
      const setsBeforeKill = readAudit(auditFile).filter((l) => l.kind === "roster").length;
      // Right after the kill: whatever is on disk is whole.
      checkCache(cacheFile, cache);
      expect(cache.seen).toBe(true);
      expect(cache.problems).toEqual([]);
      expect(setsBeforeKill).toBeLessThan(DRIFTED);
      expect(first.output()).not.toContain('"msg":"group sync done"');
      const strayTemps = readdirSync(path.dirname(cacheFile)).filter((n) => n.endsWith(".tmp")).length;

      // The next start picks up the cache, fetches the roster and finishes the sync.
      const second = spawnBot(["run", "--config", config], { cwd: tmp.dir, logFile: path.join(tmp.dir, "run2.log"), env: { GS_BOT_PASSWORD: PASSWORD } });
      bots.push(second);
      await second.waitForOutput(/"msg":"group sync done"/, 120_000);
      const done = second.logLines().find((l) => l.msg === "group sync done")!;
      expect(done).toMatchObject({ trigger: "loaded", failed: 0 });
      expect(second.output()).not.toContain("roster cache corrupt");
      expect((await second.stop()).code).toBe(0);
      expect(readdirSync(path.dirname(cacheFile)).filter((n) => n.endsWith(".tmp"))).toEqual([]);

      const sync = await cli(["sync", "--json", "--config", config]);
      expect(sync.code, sync.stderr).toBe(0);
      const synced = JSON.parse(sync.stdout) as { applied: unknown[]; failed: unknown[] };
      expect(synced.failed).toEqual([]);
      const plan = await cli(["plan", "--json", "--config", config]);
      expect(plan.code, plan.stderr).toBe(0);
      expect(JSON.parse(plan.stdout)).toMatchObject({ changes: [], heldBack: 0 });

      const onServer = await serverRoster(server, BOT, PASSWORD);
      const wrong = contacts.filter(({ desired }) => JSON.stringify(onServer.get(desired.jid)?.groups) !== JSON.stringify(desired.groups));
      expect(wrong.map((c) => c.desired.jid)).toEqual([]);
      const cached = decodeRosterCache(readFileSync(cacheFile, "utf8"), BOT);
      expect(cached.items.size).toBe(CONTACTS);
      expect([...cached.items.values()].every((i) => JSON.stringify(i.groups) === JSON.stringify(onServer.get(i.jid)?.groups))).toBe(true);

      const audit = readAudit(auditFile).filter((l) => l.kind === "roster");
      console.log(
        "kill-group-sync:",
        JSON.stringify({
          contacts: CONTACTS,
          drifted: DRIFTED,
          setsBeforeKill,
          killedMidWrite,
          strayTempFilesAfterKill: strayTemps,
          setsAfterRestart: audit.length - setsBeforeKill,
          secondRun: { planned: done.planned, applied: done.applied },
          extraSyncApplied: synced.applied.length,
          cacheChecks: cache.checks,
          cacheVersionsSeen: cache.versions.size,
          failedSets: audit.filter((l) => !l.ok).length,
        }),
      );
      expect(audit.filter((l) => !l.ok)).toEqual([]);
    } finally {
      watching = false;
      await watcher;
    }
    expect(cache.problems).toEqual([]);
    expect(existsSync(cacheFile)).toBe(true);
  });
});
