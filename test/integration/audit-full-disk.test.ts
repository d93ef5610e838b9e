/**
 * The audit log on a full disk, against a real Prosody: a bot whose data folder is a 64 KiB tmpfs
 * decides requests while the disk is full and after it has room again. Needs root (mount); skipped,
 * saying why, where mounting is not allowed.
 */
import { execFileSync } from "node:child_process";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import roster from "../../plugins/roster/index.ts";
import { startServer, type XmppTestServer } from "../../scripts/xmpp-server.ts";
import { Contacts, decisionsIn } from "../helpers/audit-contacts.ts";
import { startTestBot } from "../helpers/bot.ts";
import { waitForLog } from "../helpers/logger.ts";
import { tempDir, type TempDir } from "../helpers/tmp.ts";

let server: XmppTestServer;
let tmp: TempDir;
let mountError: string | undefined;

beforeAll(async () => {
  tmp = tempDir("full-disk-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", tmp.dir], { stdio: "pipe" });
  } catch (err) {
    mountError = `cannot mount a small tmpfs here (needs root): ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}`;
    return;
  }
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
  if (!mountError) execFileSync("umount", [tmp.dir]);
  tmp?.remove();
});

/** Fills the file system holding `file` until a write fails with ENOSPC. */
function fill(file: string): void {
  const fd = openSync(file, "w");
  const chunk = Buffer.alloc(4096, 0x78);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
}

it("a full disk leaves no partial audit line and loses no decision: held lines are written when there is room", async (ctx) => {
  if (mountError) ctx.skip(mountError);
  const dataDir = path.join(tmp.dir, "bot");
  const auditLog = path.join(dataDir, "audit.log");
  const { runtime, logs, config } = await startTestBot({ server, user: "fullbot", dataDir, plugins: [{ definition: roster, config: { subscriptions: { default: "reject" } } }] });
  const contacts = new Contacts(server, config.jid);
  try {
    const before = await contacts.connect("early", 5);
    const whileFull = await contacts.connect("full", 30);
    const after = await contacts.connect("late", 5);
    await contacts.ask(before);
    await waitFor(() => decisionsIn([auditLog]).length === 5);

    const filler = path.join(tmp.dir, "filler");
    fill(filler);
    await contacts.ask(whileFull); // every request is still answered
    const failed = await waitForLog(logs, (l) => String(l.msg).includes("cannot be written"));
    expect(failed).toMatchObject({ level: 50, file: auditLog, code: "ENOSPC" });
    const onFullDisk = decisionsIn([auditLog]); // throws on a partial line
    expect(onFullDisk.length).toBeLessThan(35);

    rmSync(filler);
    await contacts.ask(after);
    const again = await waitForLog(logs, (l) => String(l.msg).includes("written again"));
    expect(again).toMatchObject({ level: 40, file: auditLog, lost: 0 });
    await waitFor(() => decisionsIn([auditLog]).length === 40);

    expect(decisionsIn([auditLog]).sort()).toEqual([...before, ...whileFull, ...after].sort());
    expect(logs.lines.filter((l) => String(l.msg).startsWith(`audit log ${auditLog}`))).toHaveLength(2); // one line for the outage, one for its end
  } finally {
    await contacts.stop();
    await runtime.stop();
  }
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
