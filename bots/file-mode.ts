/**
 * The modes of the files and folders the bot creates (roster cache, state files, audit log, plugin
 * folders). They hold contacts' JIDs, names and groups: owner-only by default, whatever the umask.
 * One setting for the whole process (`files.mode` at the top of the config), applied exactly to what
 * is created; existing files and folders keep the mode they have.
 */
import { chmodSync, mkdirSync } from "node:fs";
import path from "node:path";

export const DEFAULT_FILE_MODE = 0o600;

let fileMode = DEFAULT_FILE_MODE;

/** Sets the mode of files created from now on (the config's `files.mode`). */
export function setFileMode(mode: number): void {
  fileMode = mode & 0o777;
}

/** The mode a new file gets. */
export function newFileMode(): number {
  return fileMode;
}

/** A folder's mode follows the files': each class that may read them may also enter it (0600 -> 0700, 0640 -> 0750). */
export function folderModeFor(mode: number): number {
  return mode | ((mode & 0o444) >> 2);
}

/** Creates `dir` and any missing parents with the folder mode; folders that exist are left as they are. */
export function makeFolder(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: folderModeFor(fileMode) });
  if (first === undefined) return;
  // mkdir's mode passes through the umask: set it exactly on each folder created, top down.
  const mode = folderModeFor(fileMode);
  const created = path.relative(path.dirname(first), dir).split(path.sep);
  let current = path.dirname(first);
  for (const part of created) {
    current = path.join(current, part);
    chmodSync(current, mode);
  }
}

/** "0600", for log lines and messages. */
export function formatMode(mode: number): string {
  return "0" + (mode & 0o777).toString(8).padStart(3, "0");
}
