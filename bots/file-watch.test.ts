/** watchFile against the real file system (temp folders); only the watch errors are injected. */
import { execFile } from "node:child_process";
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, type FSWatcher } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { memoryLogger, waitForLog } from "../test/helpers/logger.ts";
import { REPO_ROOT, tempDir, type TempDir } from "../test/helpers/tmp.ts";
import { watchFile, type WatchFileOptions } from "./file-watch.ts";

// The real fs.watch, but the test can reach each watcher (to make it emit "error") or make the next call throw.
const fsHooks = vi.hoisted(() => ({ watchers: [] as { dir: string; watcher: FSWatcher }[], failNext: undefined as Error | undefined }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const watch = (dir: string, listener: (event: string, name: string | null) => void) => {
    const err = fsHooks.failNext;
    fsHooks.failNext = undefined;
    if (err) throw err;
    const watcher = fs.watch(dir, listener);
    fsHooks.watchers.push({ dir, watcher });
    return watcher;
  };
  return { ...fs, watch };
});

const DEBOUNCE = 50;
/** Longer than the debounce plus event delivery: nothing more arrives after this. */
const SETTLE = 400;

let tmp: TempDir;
const stops: (() => void)[] = [];

function watched(file: string, options: WatchFileOptions = {}) {
  let calls = 0;
  const stop = watchFile(file, () => void calls++, { debounceMs: DEBOUNCE, ...options });
  stops.push(stop);
  return { calls: () => calls, stop };
}

async function until(pred: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const settle = () => new Promise((r) => setTimeout(r, SETTLE));

/** Waits for the callback count to reach `n`, then checks that it stays there. */
async function expectCalls(w: { calls: () => number }, n: number): Promise<void> {
  await until(() => w.calls() >= n, `${n} call(s), have ${w.calls()}`);
  await settle();
  expect(w.calls()).toBe(n);
}

/** Kubernetes' atomic writer: a new timestamped folder, `..data` swapped to it by rename, the old folder removed. */
function configMapUpdate(dir: string, version: string, content: string, previous?: string): void {
  const data = `..2026_11_30_${version}`;
  mkdirSync(path.join(dir, data));
  writeFileSync(path.join(dir, data, "config.yaml"), content);
  symlinkSync(data, path.join(dir, "..data_tmp"));
  renameSync(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
  if (previous) rmSync(path.join(dir, `..2026_11_30_${previous}`), { recursive: true });
}

beforeEach(() => {
  tmp = tempDir("file-watch-");
  fsHooks.watchers.length = 0;
  fsHooks.failNext = undefined;
});
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  tmp.remove();
});

describe("watchFile", () => {
  it("refuses a debounce a timer would not honour (it would fire after 1 ms)", () => {
    const file = tmp.write("long.txt", "x");
    expect(() => watchFile(file, () => {}, { debounceMs: 30 * 86_400_000 })).toThrow(/watchFile: debounceMs: 2592000000 ms is not a delay/);
  });

  it("fires once for an in-place write, also for a burst of writes", async () => {
    const file = tmp.write("config.yaml", "a: 1\n");
    const w = watched(file);
    writeFileSync(file, "a: 2\n");
    await expectCalls(w, 1);
    for (let i = 0; i < 5; i++) writeFileSync(file, `a: ${i}\n`);
    await expectCalls(w, 2);
  });

  it("fires once for a rename over the file (an editor's save)", async () => {
    const file = tmp.write("config.yaml", "a: 1\n");
    const w = watched(file);
    tmp.write("config.yaml.swp", "a: 2\n");
    renameSync(path.join(tmp.dir, "config.yaml.swp"), file);
    await expectCalls(w, 1);
    writeFileSync(file, "a: 3\n"); // still watched after the replacement
    await expectCalls(w, 2);
  });

  it("follows a Kubernetes ConfigMap update (..data symlink swapped), update after update", async () => {
    configMapUpdate(tmp.dir, "01_00_00.1", "a: 1\n");
    symlinkSync("..data/config.yaml", path.join(tmp.dir, "config.yaml"));
    const w = watched(path.join(tmp.dir, "config.yaml"));

    configMapUpdate(tmp.dir, "02_00_00.2", "a: 2\n", "01_00_00.1");
    await expectCalls(w, 1);
    configMapUpdate(tmp.dir, "03_00_00.3", "a: 3\n", "02_00_00.2");
    await expectCalls(w, 2);
    // The new target's folder is watched too.
    writeFileSync(path.join(tmp.dir, "..2026_11_30_03_00_00.3", "config.yaml"), "a: 4\n");
    await expectCalls(w, 3);
  });

  it("follows a swapped symlink higher up the path (a `current` folder link)", async () => {
    tmp.write("v1/app.yaml", "a: 1\n");
    tmp.write("v2/app.yaml", "a: 2\n");
    symlinkSync("v1", path.join(tmp.dir, "current"));
    const w = watched(path.join(tmp.dir, "current", "app.yaml"));
    symlinkSync("v2", path.join(tmp.dir, "current.new"));
    renameSync(path.join(tmp.dir, "current.new"), path.join(tmp.dir, "current"));
    await expectCalls(w, 1);
    writeFileSync(path.join(tmp.dir, "v1", "app.yaml"), "a: 3\n"); // no longer the file
    await settle();
    expect(w.calls()).toBe(1);
    writeFileSync(path.join(tmp.dir, "v2", "app.yaml"), "a: 4\n");
    await expectCalls(w, 2);
  });

  it("fires when the file is deleted and again when it is created again", async () => {
    const file = tmp.write("config.yaml", "a: 1\n");
    const w = watched(file);
    unlinkSync(file);
    await expectCalls(w, 1);
    writeFileSync(file, "a: 2\n");
    await expectCalls(w, 2);
  });

  it("does not fire for other files in the same folder, nor for a file that does not exist yet until it does", async () => {
    const file = tmp.write("config.yaml", "a: 1\n");
    const w = watched(file);
    tmp.write("other.yaml", "b: 1\n");
    tmp.write("other.yaml.tmp", "b: 2\n");
    renameSync(path.join(tmp.dir, "other.yaml.tmp"), path.join(tmp.dir, "other.yaml"));
    unlinkSync(path.join(tmp.dir, "other.yaml"));
    mkdirSync(path.join(tmp.dir, "sub"));
    await settle();
    expect(w.calls()).toBe(0);

    const later = watched(path.join(tmp.dir, "later.yaml"));
    tmp.write("unrelated.yaml", "c: 1\n");
    await settle();
    expect(later.calls()).toBe(0);
    tmp.write("later.yaml", "c: 2\n");
    await expectCalls(later, 1);
    expect(w.calls()).toBe(0);
  });

  it("survives its folder being removed: logs it, and fires again once the file is back", async () => {
    const { logger, logs } = memoryLogger();
    const file = tmp.write("conf/config.yaml", "a: 1\n");
    const w = watched(file, { logger });
    rmSync(path.join(tmp.dir, "conf"), { recursive: true });
    await expectCalls(w, 1);
    await waitForLog(logs, (l) => l.msg === "watched file is gone; watching for it to come back" && l.file === file);
    tmp.write("conf/config.yaml", "a: 2\n");
    await expectCalls(w, 2);
    writeFileSync(file, "a: 3\n"); // the new folder is watched
    await expectCalls(w, 3);
  });

  it("logs a watcher error and watches again", async () => {
    const { logger, logs } = memoryLogger();
    const file = tmp.write("config.yaml", "a: 1\n");
    const w = watched(file, { logger });
    const first = fsHooks.watchers.find((x) => x.dir === tmp.dir)!.watcher;
    first.emit("error", Object.assign(new Error("EMFILE: too many open files, watch"), { code: "EMFILE" }));
    await waitForLog(logs, (l) => l.msg === "file watch failed; watching again" && l.dir === tmp.dir);
    await until(() => fsHooks.watchers.filter((x) => x.dir === tmp.dir).length === 2, "a new watcher");
    expect(w.calls()).toBe(0); // an error is not a change
    writeFileSync(file, "a: 2\n");
    await expectCalls(w, 1);
  });

  it("when a folder cannot be watched, logs once and checks the file until it can", async () => {
    const { logger, logs } = memoryLogger();
    const file = tmp.write("config.yaml", "a: 1\n");
    fsHooks.failNext = Object.assign(new Error("ENOSPC: System limit for number of file watchers reached, watch"), { code: "ENOSPC" });
    const w = watched(file, { logger });
    await waitForLog(logs, (l) => String(l.msg).startsWith("cannot watch the folder") && /ENOSPC/.test(String(l.err)));
    tmp.write("config.yaml", "a: 22\n"); // another size: seen by the next check
    await until(() => w.calls() === 1, "the change, found by checking", 3_000);
    await until(() => fsHooks.watchers.some((x) => x.dir === tmp.dir), "the watch, set up on a retry", 3_000);
    writeFileSync(file, "a: 3\n");
    await expectCalls(w, 2);
  });

  it("stops: no call after stop(), and stop() can be called twice", async () => {
    const file = tmp.write("config.yaml", "a: 1\n");
    const w = watched(file);
    writeFileSync(file, "a: 2\n");
    w.stop(); // also cancels a pending call
    w.stop();
    writeFileSync(file, "a: 3\n");
    await settle();
    expect(w.calls()).toBe(0);
  });

  it("does not keep the process alive", async () => {
    const file = tmp.write("config.yaml", "a: 1\n");
    const module = path.join(REPO_ROOT, "bots/file-watch.ts");
    const script = `const { watchFile } = await import(${JSON.stringify(module)}); watchFile(${JSON.stringify(file)}, () => {}); console.log("watching");`;
    // Killed (and so rejected) if it is still running after 10 s.
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: REPO_ROOT,
      timeout: 10_000,
    });
    expect(stdout).toBe("watching\n");
  });
});
