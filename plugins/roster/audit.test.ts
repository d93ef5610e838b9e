import * as nodeFs from "node:fs";
import { appendFileSync, chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { memoryLogger, waitForLog } from "../../test/helpers/logger.ts";
import { tempDir, type TempDir } from "../../test/helpers/tmp.ts";
import type { AuditFs } from "./audit-file.ts";
import { AuditLog } from "./audit.ts";

let tmp: TempDir;
let file: string;
beforeEach(() => {
  tmp = tempDir("audit-");
  file = path.join(tmp.dir, "data", "audit.log");
});
afterEach(() => tmp.remove());

const decision = (i: number) => ({ kind: "decision" as const, from: `u${i}@x.test`, action: "ignore", decidedBy: "rate-limit", reason: "r", sent: [] });
const lines = (f: string) =>
  readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const froms = (f: string) => lines(f).map((l) => l.from);
const turn = () => new Promise((r) => setImmediate(r));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `u${from + i}@x.test`);

/** The real file system with a disk that has `room` bytes left: a write stops there, the next fails with ENOSPC. */
function diskWithRoom(): { fs: AuditFs; room: number; failures: number } {
  const disk = {
    room: Infinity,
    failures: 0,
    fs: {
      ...nodeFs,
      writeSync: ((fd: number, buf: Buffer, off: number) => {
        if (disk.room <= 0) {
          disk.failures++;
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        }
        const n = Math.min(disk.room, buf.length - off);
        disk.room -= n;
        return nodeFs.writeSync(fd, buf, off, n);
      }) as AuditFs["writeSync"],
    } as AuditFs,
  };
  return disk;
}

describe("AuditLog", () => {
  it("appends one JSON line per call, in order, across batches and after a reopen", async () => {
    const { logger, logs } = memoryLogger();
    const first = new AuditLog(file, "bot-1", logger);
    for (let i = 0; i < 5_000; i++) first.write(decision(i));
    await turn();
    first.write({ kind: "admin", from: "boss@x.test", command: "stats" });
    first.close();
    const second = new AuditLog(file, "bot-1", logger);
    second.write(decision(5_000));
    second.close();

    const got = lines(file);
    expect(got).toHaveLength(5_002);
    expect(got.slice(0, 5_000).map((l) => l.from)).toEqual(range(0, 5_000));
    expect(got[5_000]).toMatchObject({ bot: "bot-1", kind: "admin", command: "stats" });
    expect(got[5_001]).toMatchObject({ kind: "decision", from: "u5000@x.test", sent: [] });
    expect(got.every((l) => typeof l.time === "string" && !Number.isNaN(Date.parse(l.time)))).toBe(true);
    expect(logs.lines).toEqual([]);
  });

  it("holds lines while the folder cannot be created, reports once with the file, and writes them when it can", async () => {
    const blocker = path.join(tmp.dir, "not-a-dir");
    writeFileSync(blocker, "");
    const { logger, logs } = memoryLogger();
    const failures: string[] = [];
    const target = path.join(blocker, "audit.log");
    const log = new AuditLog(target, "bot-1", logger, { retryMs: 30, onWriteFailure: (e) => failures.push(e.code!) });
    log.write(decision(1));
    await turn();
    log.write(decision(2));
    await turn();
    expect(failures).toEqual(["EEXIST"]);
    expect(log.stats).toEqual({ writeFailures: 1, heldLines: 2, lostLines: 0 });
    rmSync(blocker);
    await waitForLog(logs, (l) => String(l.msg).includes("written again"));
    log.close();
    expect(froms(target)).toEqual(["u1@x.test", "u2@x.test"]);
    expect(logs.lines.map((l) => [l.level, l.msg, l.file])).toEqual([
      [50, `audit log ${target} cannot be written (EEXIST); holding lines to write them when it can`, target],
      [40, `audit log ${target} written again: 2 held line(s) written late`, target],
    ]);
  });

  it("a full disk leaves no partial line; held lines are written, in order, once there is room", async () => {
    const disk = diskWithRoom();
    const { logger } = memoryLogger();
    const log = new AuditLog(file, "b", logger, { fs: disk.fs, retryMs: 20 });
    log.write(decision(0));
    await turn();
    const whole = readFileSync(file, "utf8");
    disk.room = 50; // less than a line: the write stops inside it
    for (let i = 1; i <= 3; i++) log.write(decision(i));
    await turn();
    expect(readFileSync(file, "utf8")).toBe(whole); // the 50 bytes written were cut back off
    for (let i = 4; i <= 9; i++) log.write(decision(i)); // while failing: held
    await new Promise((r) => setTimeout(r, 70));
    expect(readFileSync(file, "utf8")).toBe(whole);
    expect(disk.failures).toBeGreaterThanOrEqual(2); // retried
    disk.room = Infinity;
    await new Promise((r) => setTimeout(r, 60));
    log.write(decision(10));
    log.close();
    expect(froms(file)).toEqual(range(0, 11));
    expect(log.stats.lostLines).toBe(0);
  });

  it("keeps a bounded number of lines; the rest are counted, reported in one line, and marked in the file", async () => {
    const disk = diskWithRoom();
    const { logger, logs } = memoryLogger();
    let failures = 0;
    const oneLine = JSON.stringify({ time: new Date().toISOString(), bot: "b", ...decision(100) }).length + 1;
    const log = new AuditLog(file, "b", logger, { fs: disk.fs, retryMs: 20, maxHeldBytes: oneLine * 10, onWriteFailure: () => failures++ });
    disk.room = 0;
    for (let i = 100; i < 150; i++) log.write(decision(i));
    await turn();
    for (let i = 150; i < 160; i++) log.write(decision(i));
    expect(log.stats).toMatchObject({ heldLines: 10, lostLines: 50 });
    disk.room = Infinity;
    await waitForLog(logs, (l) => String(l.msg).includes("written again"));
    log.close();
    const got = lines(file);
    expect(got.slice(0, 10).map((l) => l.from)).toEqual(range(100, 110));
    expect(got[10]).toMatchObject({ kind: "audit-lines-lost", lost: 50, bot: "b" });
    expect(got).toHaveLength(11);
    const errors = logs.lines.filter((l) => l.level === 50).map((l) => l.msg);
    expect(errors).toEqual([
      `audit log ${file} cannot be written (ENOSPC); holding lines to write them when it can`,
      `audit log ${file}: 10 line(s) held, no room for more; further lines are counted and dropped until it can be written`,
      `audit log ${file} written again: 50 line(s) lost while it could not be written`,
    ]);
    expect(failures).toBe(disk.failures);
    expect(log.stats).toEqual({ writeFailures: failures, heldLines: 0, lostLines: 50 });
  });

  it("closing while the disk is still full reports the lines not written, with the file", async () => {
    const disk = diskWithRoom();
    const { logger, logs } = memoryLogger();
    const log = new AuditLog(file, "b", logger, { fs: disk.fs, retryMs: 10_000 });
    disk.room = 0;
    log.write(decision(1));
    log.write(decision(2));
    await turn();
    log.close();
    expect(logs.lines.at(-1)).toMatchObject({ level: 50, file, lost: 2, msg: `audit log ${file}: 2 line(s) could not be written before closing` });
  });

  it("a file that ends inside a line (a crash mid-write) is continued on a fresh line", () => {
    mkdirSync(path.dirname(file));
    writeFileSync(file, JSON.stringify(decision(0)) + "\n" + '{"time":"2026-');
    const log = new AuditLog(file, "b", memoryLogger().logger);
    log.write(decision(1));
    log.close();
    const text = readFileSync(file, "utf8").split("\n");
    expect(text).toEqual([JSON.stringify(decision(0)), '{"time":"2026-', expect.stringContaining('"from":"u1@x.test"'), ""]);
  });
});

describe("AuditLog and log rotation", () => {
  function clockedLog() {
    const clock = { now: 1_000_000 };
    const log = new AuditLog(file, "b", memoryLogger().logger, { checkPathMs: 1_000, now: () => clock.now });
    return { clock, log };
  }

  it("create: once the path names a new file, lines go there (checked at most once a second)", async () => {
    const { clock, log } = clockedLog();
    log.write(decision(0));
    await turn();
    renameSync(file, `${file}.1`);
    writeFileSync(file, "", { mode: 0o600 });
    log.write(decision(1)); // within the second: still the renamed file
    await turn();
    clock.now += 1_000;
    log.write(decision(2));
    log.close();
    expect(froms(`${file}.1`)).toEqual(["u0@x.test", "u1@x.test"]);
    expect(froms(file)).toEqual(["u2@x.test"]);
  });

  it("compress without create: the path is gone, so the log creates it again", async () => {
    const { clock, log } = clockedLog();
    log.write(decision(0));
    await turn();
    renameSync(file, `${file}.1`);
    clock.now += 1_000;
    log.write(decision(1));
    log.close();
    expect(froms(`${file}.1`)).toEqual(["u0@x.test"]);
    expect(froms(file)).toEqual(["u1@x.test"]);
  });

  it("reopen (SIGHUP) switches at once", async () => {
    const { log } = clockedLog();
    log.write(decision(0));
    await turn();
    renameSync(file, `${file}.1`);
    log.reopen();
    log.write(decision(1));
    log.close();
    expect(froms(`${file}.1`)).toEqual(["u0@x.test"]);
    expect(froms(file)).toEqual(["u1@x.test"]);
  });

  it("copytruncate: after the copy is truncated, lines go at its start (append mode: no hole of NUL bytes)", async () => {
    const { clock, log } = clockedLog();
    for (let i = 0; i < 50; i++) log.write(decision(i));
    await turn();
    writeFileSync(`${file}.1`, readFileSync(file));
    truncateSync(file, 0);
    clock.now += 5_000;
    log.write(decision(50));
    log.close();
    expect(froms(`${file}.1`)).toEqual(range(0, 50));
    const text = readFileSync(file, "utf8");
    expect(text.includes("\0")).toBe(false);
    expect(froms(file)).toEqual(["u50@x.test"]);
  });
});

describe("AuditLog file modes", () => {
  it("creates the log 0600 and its folder 0700 under umask 022, and keeps a mode set by the operator", () => {
    const old = process.umask(0o022);
    try {
      const log = new AuditLog(file, "b", memoryLogger().logger);
      log.write(decision(0));
      log.close();
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      chmodSync(file, 0o640);
      const again = new AuditLog(file, "b", memoryLogger().logger);
      again.write(decision(1));
      again.close();
      expect(statSync(file).mode & 0o777).toBe(0o640);
      appendFileSync(file, ""); // still a valid log
      expect(froms(file)).toEqual(["u0@x.test", "u1@x.test"]);
    } finally {
      process.umask(old);
    }
  });
});
