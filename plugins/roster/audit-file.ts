/**
 * The audit log's file: opened for appending (so logrotate's `copytruncate` works), reopened when the
 * file at its path is no longer the one open (logrotate's `create`, `compress`) or when asked
 * (SIGHUP), and written a batch at a time so that a batch is on disk whole or not at all.
 */
import * as nodeFs from "node:fs";
import path from "node:path";
import { makeFolder, newFileMode } from "../../bots/file-mode.ts";

/** The file-system calls the audit file makes (a test swaps in a full disk). */
export type AuditFs = Pick<typeof nodeFs, "openSync" | "closeSync" | "writeSync" | "fstatSync" | "statSync" | "ftruncateSync" | "fchmodSync" | "readSync">;

export interface AuditFileOptions {
  /** How often, at most, the path is compared with the open file (one stat). */
  checkPathMs?: number;
  fs?: AuditFs;
  now?: () => number;
}

const NEWLINE = 0x0a;

export class AuditFile {
  private fd: number | undefined;
  private dev = 0;
  private ino = 0;
  private checkedAt = 0;
  /** The file ended without a newline when opened (a crash or power loss mid-line): start on a fresh line. */
  private needsNewline = false;
  private readonly fs: AuditFs;
  private readonly checkPathMs: number;
  private readonly now: () => number;

  constructor(
    readonly file: string,
    options: AuditFileOptions = {},
  ) {
    this.fs = options.fs ?? nodeFs;
    this.checkPathMs = options.checkPathMs ?? 1_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Appends `data` whole, or throws and leaves the file as it was: a write that stops part way (a
   * full disk) is cut back off, so a reader never sees half a line with the next one glued to it.
   */
  append(data: Buffer): void {
    const fd = this.open();
    const bytes = this.needsNewline ? Buffer.concat([Buffer.from("\n"), data]) : data;
    let written = 0;
    try {
      while (written < bytes.length) written += this.fs.writeSync(fd, bytes, written);
    } catch (err) {
      this.rollBack(fd, written);
      throw err;
    }
    this.needsNewline = false;
  }

  /** Closes the file; the next append opens whatever file is at the path then. */
  reopen(): void {
    this.close();
  }

  close(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      this.fs.closeSync(fd);
    } catch {
      // already unusable; nothing more to do
    }
  }

  private rollBack(fd: number, written: number): void {
    if (written === 0) return;
    try {
      this.fs.ftruncateSync(fd, this.fs.fstatSync(fd).size - written);
    } catch {
      // Could not cut it back: reopen, and the next write starts on a fresh line.
      this.close();
    }
  }

  /** The open descriptor, (re)opened when none is open or the path now names another file. */
  private open(): number {
    if (this.fd !== undefined && this.now() - this.checkedAt >= this.checkPathMs) {
      this.checkedAt = this.now();
      if (!this.pathIsOpenFile()) this.close();
    }
    if (this.fd !== undefined) return this.fd;
    makeFolder(path.dirname(this.file));
    const fd = this.openAppend();
    const stat = this.fs.fstatSync(fd);
    this.fd = fd;
    this.dev = stat.dev;
    this.ino = stat.ino;
    this.checkedAt = this.now();
    this.needsNewline = stat.size > 0 && this.lastByte(fd, stat.size) !== NEWLINE;
    return fd;
  }

  /** Opens for appending; a file this creates gets the configured mode exactly (not narrowed by the umask). */
  private openAppend(): number {
    const mode = newFileMode();
    try {
      const fd = this.fs.openSync(this.file, "ax+", mode);
      this.fs.fchmodSync(fd, mode);
      return fd;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      return this.fs.openSync(this.file, "a+"); // read too: the last byte is checked
    }
  }

  private pathIsOpenFile(): boolean {
    try {
      const stat = this.fs.statSync(this.file);
      return stat.dev === this.dev && stat.ino === this.ino;
    } catch {
      return false; // renamed away and nothing created in its place yet
    }
  }

  private lastByte(fd: number, size: number): number {
    const one = Buffer.alloc(1);
    try {
      return this.fs.readSync(fd, one, 0, 1, size - 1) === 1 ? one[0]! : NEWLINE;
    } catch {
      return NEWLINE; // unreadable: nothing to check
    }
  }
}
