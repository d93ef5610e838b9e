/** The atomic writer for state files: replacement, clean-up after failures and after a kill -9. */
import { spawn } from "node:child_process";
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ts from "typescript";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { memoryLogger } from "../test/helpers/logger.ts";
import { prng } from "../test/helpers/prng.ts";
import { REPO_ROOT } from "../test/helpers/tmp.ts";
import { removeStaleTempFiles, writeFileAtomic, writeFileAtomicSync } from "./atomic-file.ts";
import { DEFAULT_FILE_MODE, setFileMode } from "./file-mode.ts";
import { StateFile } from "./state-file.ts";

let dir: string;
let file: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "roster-bot-atomic-"));
  file = path.join(dir, "state", "state.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const siblings = () => readdirSync(path.dirname(file)).sort();

describe.each([
  ["writeFileAtomicSync", async (f: string, d: string) => writeFileAtomicSync(f, d)],
  ["writeFileAtomic", writeFileAtomic],
])("%s", (_name, write) => {
  it("creates the folder and the file, and leaves no temp file", async () => {
    await write(file, "one");
    expect(readFileSync(file, "utf8")).toBe("one");
    expect(siblings()).toEqual(["state.json"]);
  });

  it("replaces the file by a new one: a reader holding the old file still reads all of it", async () => {
    const old = "old ".repeat(100_000);
    await write(file, old);
    const ino = statSync(file).ino;
    const fd = openSync(file, "r");
    try {
      await write(file, "new");
      const buf = Buffer.alloc(old.length + 10);
      expect(buf.toString("utf8", 0, readSync(fd, buf, 0, buf.length, 0))).toBe(old);
    } finally {
      closeSync(fd);
    }
    expect(readFileSync(file, "utf8")).toBe("new");
    expect(statSync(file).ino).not.toBe(ino);
    expect(siblings()).toEqual(["state.json"]);
  });

  it("a failed rename (a non-empty folder at the target) rethrows and removes the temp file", async () => {
    mkdirSync(path.join(file, "inside"), { recursive: true });
    await expect(write(file, "data")).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|ENOTDIR/);
    expect(siblings()).toEqual(["state.json"]);
    expect(readdirSync(file)).toEqual(["inside"]);
  });

  it("creates the file 0600 and its folders 0700 under umask 022, or with the configured mode", async () => {
    const old = process.umask(0o022);
    try {
      await write(file, "one");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
      setFileMode(0o640);
      const other = path.join(dir, "shared", "deeper", "other.json");
      await write(other, "two");
      expect(statSync(other).mode & 0o777).toBe(0o640);
      expect(statSync(path.dirname(other)).mode & 0o777).toBe(0o750);
      expect(statSync(path.join(dir, "shared")).mode & 0o777).toBe(0o750);
    } finally {
      setFileMode(DEFAULT_FILE_MODE);
      process.umask(old);
    }
  });

  it("a rewrite keeps the mode an operator gave the file, tighter or looser", async () => {
    await write(file, "one");
    for (const mode of [0o400 | 0o200, 0o640, 0o604]) {
      chmodSync(file, mode);
      await write(file, `mode ${mode}`);
      expect(statSync(file).mode & 0o777).toBe(mode);
    }
    expect(readFileSync(file, "utf8")).toBe(`mode ${0o604}`);
  });

  it("a folder that cannot be created (a file in its place) rethrows and leaves nothing", async () => {
    writeFileSync(path.join(dir, "state"), "a file");
    await expect(write(file, "data")).rejects.toThrow(/EEXIST|ENOTDIR/);
    expect(readdirSync(dir)).toEqual(["state"]);
  });
});

describe("writeFileAtomic", () => {
  it("concurrent writes of one file use their own temp files: one of them wins whole", async () => {
    const versions = Array.from({ length: 10 }, (_, i) => `${i}`.repeat(50_000 + i));
    await Promise.all(versions.map((v) => writeFileAtomic(file, v)));
    expect(versions).toContain(readFileSync(file, "utf8"));
    expect(siblings()).toEqual(["state.json"]);
  });
});

describe("removeStaleTempFiles", () => {
  it("removes this file's temp files (current and older names) and nothing else", () => {
    mkdirSync(path.dirname(file), { recursive: true });
    const own = ["state.json.tmp", "state.json.4242.tmp", "state.json.4242.17.tmp"];
    const others = [
      "state.json",
      "state.json.bak",
      "state.json.b.1.2.tmp", // a temp file of state.json.b
      "state.json.5.4242.17.tmp", // a temp file of state.json.5
      "other.json.4242.17.tmp",
      "xstate.json.4242.17.tmp",
      "state.json.tmp.keep",
    ];
    for (const name of [...own, ...others]) writeFileSync(path.join(path.dirname(file), name), "x");
    removeStaleTempFiles(file);
    expect(siblings()).toEqual([...others].sort());
  });

  it("a missing folder is nothing to clean", () => {
    expect(() => removeStaleTempFiles(file)).not.toThrow();
  });

  it("leaves the temp file of a write this process is doing now", async () => {
    await writeFileAtomic(file, "old");
    const writing = writeFileAtomic(file, "x".repeat(8 << 20));
    let done = false;
    void writing.finally(() => (done = true));
    let seen = false;
    while (!done && !seen) {
      seen = siblings().some((n) => n.endsWith(".tmp"));
      if (seen) removeStaleTempFiles(file);
      else await new Promise((r) => setImmediate(r));
    }
    await writing;
    expect(seen).toBe(true);
    expect(statSync(file).size).toBe(8 << 20);
    expect(siblings()).toEqual(["state.json"]);
  });
});

describe("StateFile", () => {
  const schema = z.object({ n: z.number() });

  it("reading removes stale temp files, including the old fixed `.tmp` name", () => {
    const { logger } = memoryLogger();
    const state = new StateFile(file, schema, logger, "test state");
    state.write({ n: 1 });
    writeFileSync(`${file}.tmp`, '{"n":');
    writeFileSync(`${file}.999999.3.tmp`, '{"n":2');
    expect(state.read()).toEqual({ n: 1 });
    expect(siblings()).toEqual(["state.json"]);
  });

  it("a failed write is logged, leaves no temp file, and the next write works", () => {
    const { logger, logs } = memoryLogger();
    const state = new StateFile(file, schema, logger, "test state");
    mkdirSync(path.join(file, "inside"), { recursive: true });
    expect(() => state.write({ n: 1 })).not.toThrow();
    expect(logs.find((l) => l.level === 50 && l.msg === "test state not saved")).toBeDefined();
    expect(siblings()).toEqual(["state.json"]);
    rmSync(file, { recursive: true });
    state.write({ n: 2 });
    expect(state.read()).toEqual({ n: 2 });
  });
});

describe("kill -9 while writing", () => {
  const MB = 1 << 20;

  /** The child and the writer as plain JavaScript: without a TypeScript loader a child starts several times faster. */
  function compileChild(out: string): string {
    const compilerOptions = { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, rewriteRelativeImportExtensions: true };
    for (const rel of ["bots/atomic-file.ts", "bots/file-mode.ts", "test/helpers/atomic-write-child.ts"]) {
      const dest = path.join(out, rel.replace(/\.ts$/, ".js"));
      mkdirSync(path.dirname(dest), { recursive: true });
      writeFileSync(dest, ts.transpileModule(readFileSync(path.join(REPO_ROOT, rel), "utf8"), { compilerOptions }).outputText);
    }
    writeFileSync(path.join(out, "package.json"), '{"type":"module"}');
    return path.join(out, "test/helpers/atomic-write-child.js");
  }

  /** Starts the child writing `target`, kills it `delayMs` after its first complete write, and returns the last version it reported. */
  async function killWhileWriting(child: string, target: string, delayMs: number): Promise<number> {
    const proc = spawn(process.execPath, [child, target], { stdio: ["ignore", "pipe", "pipe"] });
    let acked = 0;
    let stderr = "";
    let buffered = "";
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      proc.once("exit", () => reject(new Error(`child exited early: ${stderr}`)));
      proc.stdout.on("data", (d: Buffer) => {
        buffered += d.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop()!;
        if (lines.length) acked = Number(lines.at(-1));
        if (acked >= 1) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, delayMs));
    proc.kill("SIGKILL");
    await exited;
    return acked;
  }

  const versionSchema = z.object({ v: z.number(), pad: z.string() });

  /** Version v holds v's last digit repeated: 1 MB for odd v, 2 MB for even v (see the child). */
  function expectWhole(data: z.infer<typeof versionSchema> | undefined, atLeast: number): void {
    expect(data).toBeDefined();
    expect(data!.v).toBeGreaterThanOrEqual(atLeast);
    expect(data!.pad).toBe(String(data!.v % 10).repeat(data!.v % 2 ? MB : 2 * MB));
  }

  it("the file always holds one whole version, and the next load removes the temp files left", async () => {
    const child = compileChild(path.join(dir, "child"));
    const random = prng(9);
    const lanes = 2; // two children at a time, 20 kills in all
    const rounds = 10;
    let killedMidWrite = 0;
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        const target = path.join(dir, `lane-${lane}`, "state.json");
        for (let round = 0; round < rounds; round++) {
          const acked = await killWhileWriting(child, target, Math.floor(random() * 150));
          if (readdirSync(path.dirname(target)).some((n) => n.endsWith(".tmp"))) killedMidWrite++;
          // The next load (StateFile.read) parses one whole version and removes the temp files.
          const { logger, logs } = memoryLogger();
          const loaded = new StateFile(target, versionSchema, logger, "state").read();
          expect(logs.lines).toEqual([]); // a partial file would be logged as unreadable
          expectWhole(loaded, acked);
          expect(readdirSync(path.dirname(target))).toEqual(["state.json"]);
        }
      }),
    );
    // Writing is most of what the child does, so many kills land mid-write (about half in practice).
    expect(killedMidWrite).toBeGreaterThan(0);
  }, 30_000);
});
