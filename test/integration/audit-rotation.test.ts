/**
 * The audit log under logrotate, against a real Prosody: `roster-bot run` as a separate process
 * decides requests while its audit log is rotated the ways logrotate does it (create with a SIGHUP
 * in postrotate, create without one, compress, copytruncate); no decision's line may be lost.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, readdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { Contacts, decisionsIn } from "../helpers/audit-contacts.ts";
import { lines, REPO_ROOT, tempDir, type TempDir } from "../helpers/tmp.ts";

const BOT = "rotbot@a.test";

let server: XmppTestServer;
let tmp: TempDir;
let bot: ChildProcess;
let output = "";
let contacts: Contacts;
let log: string;

beforeAll(async () => {
  server = await startServer();
  server.createAccount("rotbot", "a.test", "rot-password");
  tmp = tempDir("rotation-");
  const passwordFile = tmp.write("password", "rot-password\n");
  chmodSync(passwordFile, 0o644);
  const config = tmp.write(
    "bot.config.yaml",
    lines(
      "bots:",
      "  - id: rot",
      `    jid: ${BOT}`,
      "    passwordFile: password",
      `    service: ${server.service}`,
      "    tls: plaintext-loopback",
      "    dataDir: data",
      "    plugins:",
      "      roster: { subscriptions: { default: reject } }",
    ),
  );
  log = path.join(tmp.dir, "data", "audit.log");
  // Under the usual umask: the modes below are the bot's doing, not the umask's.
  const umask = process.umask(0o022);
  bot = spawn(process.execPath, [path.join(REPO_ROOT, "bin/roster-bot.js"), "run", "--config", config], { cwd: tmp.dir, stdio: ["ignore", "pipe", "pipe"] });
  process.umask(umask);
  bot.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  bot.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  await until(() => output.includes('"msg":"session ready"'), 20_000);
  contacts = new Contacts(server, BOT);
});
afterAll(async () => {
  await contacts?.stop();
  if (bot && bot.exitCode === null) {
    const exited = new Promise((r) => bot.once("exit", r));
    bot.kill("SIGTERM");
    await exited;
  }
  await server?.stop();
  tmp?.remove();
});

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; bot output:\n${output.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const count = (re: RegExp) => output.match(new RegExp(re.source, "g"))?.length ?? 0;

/** SIGHUP, as logrotate's postrotate sends it; resolves once the bot has handled it. */
async function hangUp(): Promise<void> {
  const before = count(/"msg":"reloading config"/);
  bot.kill("SIGHUP");
  await until(() => count(/"msg":"reloading config"/) > before);
}

/** The decisions of `jids` found across `files`, sorted, once all of them are there (or the time is up). */
async function decided(files: string[], jids: string[]): Promise<string[]> {
  const wanted = new Set(jids);
  const found = () => decisionsIn(files).filter((j) => wanted.has(j));
  await until(() => found().length >= jids.length).catch(() => {});
  return found().sort();
}

/** Asks, and waits until the decisions are in the log. */
async function askAndLog(jids: string[]): Promise<void> {
  await contacts.ask(jids);
  await until(() => decisionsIn([log]).filter((j) => jids.includes(j)).length === jids.length);
}

/** logrotate's `create`: the log is renamed and an empty one made in its place. */
function renameAndCreate(rotated: string): void {
  renameSync(log, rotated);
  writeFileSync(log, "", { mode: 0o600 });
}

describe("the audit log under logrotate", () => {
  it("run warns that the password file is readable by group and others", () => {
    expect(output).toMatch(/"level":40[^\n]*"msg":"password file [^"]*password is readable by group and others \(mode 0644\); chmod 600 it"/);
  });

  it("everything the bot created is owner-only: files 0600, folders 0700 (the umask here is 022)", async () => {
    await askAndLog(await contacts.connect("modes", 1));
    const found = readdirSync(path.join(tmp.dir, "data"), { recursive: true, withFileTypes: true }).map((e) => {
      const full = path.join(e.parentPath, e.name);
      return `${path.relative(tmp.dir, full)} ${(statSync(full).mode & 0o777).toString(8)}`;
    });
    expect(found).toContain("data/audit.log 600");
    for (const entry of [...found, `data ${(statSync(path.join(tmp.dir, "data")).mode & 0o777).toString(8)}`]) {
      expect(entry).toMatch(/ (600|700)$/);
    }
  });

  it("create + SIGHUP in postrotate: lines go to the new file at once, none lost", async () => {
    const [early, during, late] = [await contacts.connect("hup-a", 6), await contacts.connect("hup-b", 6), await contacts.connect("hup-c", 6)];
    await askAndLog(early);
    const asking = contacts.ask(during); // decisions go on while the log is rotated
    renameAndCreate(`${log}.1`);
    await hangUp();
    await asking;
    await contacts.ask(late);
    const all = [...early, ...during, ...late];
    expect(await decided([`${log}.1`, log], all)).toEqual(all.sort());
    expect(decisionsIn([log])).toEqual(expect.arrayContaining(late));
  });

  it("compress: after SIGHUP nothing more is written to the renamed file, so compressing it loses nothing", async () => {
    const [early, late] = [await contacts.connect("gz-a", 6), await contacts.connect("gz-b", 6)];
    await askAndLog(early);
    renameAndCreate(`${log}.2`);
    await hangUp();
    // logrotate compresses right after postrotate: read the rotated file, write the .gz, delete it.
    writeFileSync(`${log}.2.gz`, gzipSync(readFileSync(`${log}.2`)));
    rmSync(`${log}.2`);
    await contacts.ask(late);
    const all = [...early, ...late];
    expect(await decided([`${log}.2.gz`, log], all)).toEqual(all.sort());
    expect(decisionsIn([log]).filter((j) => late.includes(j)).sort()).toEqual(late.sort());
  });

  it("create without a signal: within a second the bot sees the new file at the path; the lines before are in the renamed one", async () => {
    const [early, soon, later] = [await contacts.connect("nosig-a", 6), await contacts.connect("nosig-b", 6), await contacts.connect("nosig-c", 6)];
    await askAndLog(early);
    renameAndCreate(`${log}.3`);
    await contacts.ask(soon);
    await new Promise((r) => setTimeout(r, 1_100));
    await contacts.ask(later);
    const all = [...early, ...soon, ...later];
    expect(await decided([`${log}.3`, log], all)).toEqual(all.sort());
    expect(decisionsIn([log]).filter((j) => later.includes(j)).sort()).toEqual(later.sort());
  });

  it("copytruncate: lines after the truncation start the file again (append mode), none lost", async () => {
    const [early, late] = [await contacts.connect("trunc-a", 6), await contacts.connect("trunc-b", 6)];
    await askAndLog(early);
    copyFileSync(log, `${log}.4`);
    truncateSync(log, 0);
    await contacts.ask(late);
    const all = [...early, ...late];
    expect(await decided([`${log}.4`, log], all)).toEqual(all.sort());
    expect(decisionsIn([log]).sort()).toEqual(late.sort()); // only what came after; no NUL bytes (checked by decisionsIn)
  });
});
