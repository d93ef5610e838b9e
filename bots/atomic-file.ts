/**
 * Atomic, durable replacement of state files: temp file in the same folder, fsync, rename, fsync the
 * folder, so a reader or a restart after a crash sees the old content or the new, never a mix. Not
 * write-file-atomic: it does not fsync the folder, so a power loss can undo the rename.
 * The new file keeps the mode of the one it replaces (an operator's chmod survives), and a first
 * file gets the configured mode (file-mode.ts), exactly, whatever the umask.
 */
import { randomInt } from "node:crypto";
import { closeSync, fchmodSync, fsyncSync, openSync, promises as fsp, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeFolder, newFileMode } from "./file-mode.ts";

// Random start: another copy of this module in the process (a worker thread, a second import path) does not reuse names.
let counter = randomInt(2 ** 31);
/** Temp files this process is writing now; stale-file clean-up leaves them alone. */
const inFlight = new Set<string>();

function tempName(file: string): string {
  return `${file}.${process.pid}.${++counter}.tmp`;
}

function modeOf(stat: { mode: number }): number {
  return stat.mode & 0o7777;
}

/** The mode the replacement gets: the current file's, or the configured one for a new file. */
function replacementModeSync(file: string): number {
  try {
    return modeOf(statSync(file));
  } catch {
    return newFileMode();
  }
}

async function replacementMode(file: string): Promise<number> {
  return fsp.stat(file).then(modeOf, () => newFileMode());
}

/** Some platforms cannot open or fsync a folder; the rename is then as durable as they allow. */
function ignorableDirSyncError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EISDIR" || code === "EINVAL" || code === "EPERM";
}

function syncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (err) {
    if (!ignorableDirSyncError(err)) throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, "r");
    await handle.sync();
  } catch (err) {
    if (!ignorableDirSyncError(err)) throw err;
  } finally {
    await handle?.close();
  }
}

/** Replaces `file` atomically and durably before returning (creating its folder). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = tempName(file);
  inFlight.add(tmp);
  try {
    makeFolder(dir);
    const mode = replacementModeSync(file);
    // "w" truncates: a dead process with a reused pid may have left this very name.
    const fd = openSync(tmp, "w", mode);
    try {
      fchmodSync(fd, mode); // the open's mode went through the umask
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    syncDirSync(dir);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    inFlight.delete(tmp);
  }
}

/** The same as writeFileAtomicSync, without blocking. Writes to one file are not queued: callers serialize them. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const dir = path.dirname(file);
  const tmp = tempName(file);
  inFlight.add(tmp);
  try {
    makeFolder(dir);
    const mode = await replacementMode(file);
    const handle = await fsp.open(tmp, "w", mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, file);
    await syncDir(dir);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  } finally {
    inFlight.delete(tmp);
  }
}

/**
 * Removes temp files of `file` left by a process that died before its rename: this module's names
 * and the `<file>.tmp` and `<file>.<pid>.tmp` of earlier versions, not other targets' temp files.
 */
export function removeStaleTempFiles(file: string): void {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no folder yet: nothing to clean
  }
  for (const name of names) {
    if (!isTempOf(base, name)) continue;
    const tmp = path.join(dir, name);
    if (!inFlight.has(tmp)) rmSync(tmp, { force: true });
  }
}

function isTempOf(base: string, name: string): boolean {
  if (!name.startsWith(`${base}.`)) return false;
  return /^(?:\d+\.){0,2}tmp$/.test(name.slice(base.length + 1));
}
