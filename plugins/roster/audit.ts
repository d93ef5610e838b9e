/**
 * The audit trail: one JSON line per subscription decision, per roster change and per block or
 * unblock the bot makes (plus lines other plugins add), appended to `audit.log` in the bot's data
 * directory, each with `time` (ISO 8601) and `bot` (bot id). Survives log rotation (audit-file.ts)
 * and a full disk: lines that cannot be written are held (bounded) and written when the disk has
 * room again; what did not fit is counted, reported once with the file name, and marked in the file
 * by a `lost` line.
 */
import path from "node:path";
import type { Logger } from "pino";
import type { BlockOutcome } from "./api.ts";
import { AuditFile, type AuditFileOptions } from "./audit-file.ts";

/** The bot's audit log: `audit.log` in its data directory (written by the roster plugin, read by replay). */
export function auditLogPath(botDataDir: string): string {
  return path.join(botDataDir, "audit.log");
}

export interface DecisionAuditLine {
  kind: "decision";
  /** The contact's bare JID in normal form (domain in U-labels). */
  from: string;
  /** The bare JID as the request spelled it, where answers went, when it differs from `from`. */
  address?: string;
  action: string;
  decidedBy: string;
  rule?: string;
  reason: string;
  sent: string[];
  /** The API call that answered, when one did (an admin's or a plugin's): approve, deny or grant. */
  via?: "approve" | "deny" | "grant";
  /** What the rule's (or rate limit's) `block` option did, after the `unsubscribed`. */
  block?: BlockOutcome;
  /** The contact's roster state when the request was decided (absent: not in the roster), for replay. */
  roster?: { groups: readonly string[]; subscription: string };
}

/** `decidedBy` of the audit line for a request from a contact who already has a subscription. */
export const ALREADY_SUBSCRIBED = "already-subscribed";

export interface RosterAuditLine {
  kind: "roster";
  op: "set" | "remove";
  jid: string;
  name?: string;
  groups?: readonly string[];
  by: string;
  ok: boolean;
  error?: string;
}

/** The audit line of each block and unblock the bot makes (and of a bot entry a person removed). */
export interface BlockAuditLine {
  kind: "block" | "unblock";
  jid: string;
  scope?: "bare" | "domain";
  by: string;
  rule?: string;
  reason?: string;
  expires?: string;
  /** blocked / unblocked; failed (with `error`); forgotten: a person removed a bot entry. */
  result: "blocked" | "unblocked" | "failed" | "forgotten";
  error?: string;
}

/** A line another plugin adds through `RosterService.audit` (e.g. the admin plugin's commands). */
export interface PluginAuditLine {
  kind: string;
  [field: string]: unknown;
}

export type AuditLine = DecisionAuditLine | RosterAuditLine | BlockAuditLine | PluginAuditLine;

export interface AuditLogOptions extends AuditFileOptions {
  /**
   * Each failed write (one batch of lines, or one retry of the held lines): the seam for a failure
   * counter such as `roster_bot_audit_write_failures_total`.
   */
  onWriteFailure?: (err: NodeJS.ErrnoException) => void;
  /** Bytes of lines held while the file cannot be written; lines beyond are counted as lost. */
  maxHeldBytes?: number;
  /** How often held lines are retried. */
  retryMs?: number;
}

export interface AuditLogStats {
  writeFailures: number;
  heldLines: number;
  lostLines: number;
}

/** About 5,000 lines of 200 bytes. */
const DEFAULT_MAX_HELD_BYTES = 1 << 20;

/**
 * One synchronous write per turn of the event loop: a killed bot loses at most the lines of the turn
 * it died in. Under a flood of 20,000 decisions, an async stream with a write per line took 28% of
 * the main thread's busy time; this barely shows.
 */
export class AuditLog {
  private readonly out: AuditFile;
  private batch: string[] = [];
  private flushScheduled = false;
  /** Lines that failed to be written, oldest first; non-empty exactly while the file is failing. */
  private held: string[] = [];
  private heldBytes = 0;
  /** Lines dropped (the held lines' cap) during the current failure, and when it began. */
  private lostNow = 0;
  private failingSince: string | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly counts: AuditLogStats = { writeFailures: 0, heldLines: 0, lostLines: 0 };
  private readonly maxHeldBytes: number;
  private readonly retryMs: number;

  constructor(
    readonly file: string,
    private readonly bot: string,
    /** A failing disk must not take the bot down: failures are logged here, once per outage. */
    private readonly logger: Logger,
    private readonly options: AuditLogOptions = {},
  ) {
    this.out = new AuditFile(file, options);
    this.maxHeldBytes = options.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES;
    this.retryMs = options.retryMs ?? 1_000;
  }

  get stats(): AuditLogStats {
    return { ...this.counts, heldLines: this.held.length };
  }

  write(line: AuditLine): void {
    const text = JSON.stringify({ time: new Date().toISOString(), bot: this.bot, ...line }) + "\n";
    if (this.held.length) {
      this.hold([text]); // failing: the retry timer writes it, in order, after the held lines
      return;
    }
    this.batch.push(text);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Closes the file; the next line opens whatever is at the path (SIGHUP after a rotation). */
  reopen(): void {
    this.out.reopen();
  }

  close(): void {
    this.flush();
    if (this.held.length) this.retry();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.held.length || this.lostNow) {
      this.logger.error(
        { file: this.file, lost: this.held.length + this.lostNow, since: this.failingSince },
        `audit log ${this.file}: ${this.held.length + this.lostNow} line(s) could not be written before closing`,
      );
      this.counts.lostLines += this.held.length;
      this.dropHeld();
    }
    this.out.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const lines = this.batch;
    this.batch = [];
    if (this.held.length) {
      this.hold(lines);
      return;
    }
    try {
      this.out.append(Buffer.from(lines.join(""), "utf8"));
    } catch (err) {
      this.failed(err as NodeJS.ErrnoException, lines);
    }
  }

  /** Writes the held lines (and a line saying how many were lost) in one batch. */
  private retry(): void {
    this.retryTimer = undefined;
    const lines = this.held;
    const lost = this.lostNow;
    const text = lines.join("") + (lost ? this.lostLine(lost) : "");
    try {
      this.out.append(Buffer.from(text, "utf8"));
    } catch (err) {
      this.failed(err as NodeJS.ErrnoException, []);
      return;
    }
    const report = { file: this.file, written: lines.length, lost, since: this.failingSince };
    if (lost) this.logger.error(report, `audit log ${this.file} written again: ${lost} line(s) lost while it could not be written`);
    else this.logger.warn(report, `audit log ${this.file} written again: ${lines.length} held line(s) written late`);
    this.dropHeld();
    this.lostNow = 0;
    this.failingSince = undefined;
  }

  private failed(err: NodeJS.ErrnoException, lines: string[]): void {
    this.counts.writeFailures++;
    this.options.onWriteFailure?.(err);
    if (this.failingSince === undefined) {
      this.failingSince = new Date().toISOString();
      this.logger.error(
        { file: this.file, err: err.message, code: err.code },
        `audit log ${this.file} cannot be written (${err.code ?? err.message}); holding lines to write them when it can`,
      );
    }
    this.hold(lines);
    this.out.reopen(); // the file may be the problem (removed, replaced): open the path again next time
    this.retryTimer ??= setTimeout(() => this.retry(), this.retryMs);
    this.retryTimer.unref?.();
  }

  /** Keeps lines for the retry, as far as the cap allows; the rest are counted as lost. */
  private hold(lines: string[]): void {
    for (const line of lines) {
      const bytes = Buffer.byteLength(line);
      if (this.heldBytes + bytes > this.maxHeldBytes) {
        if (this.lostNow === 0) {
          this.logger.error(
            { file: this.file, held: this.held.length, heldBytes: this.heldBytes },
            `audit log ${this.file}: ${this.held.length} line(s) held, no room for more; further lines are counted and dropped until it can be written`,
          );
        }
        this.lostNow++;
        this.counts.lostLines++;
        continue;
      }
      this.held.push(line);
      this.heldBytes += bytes;
    }
  }

  private dropHeld(): void {
    this.held = [];
    this.heldBytes = 0;
  }

  private lostLine(lost: number): string {
    return JSON.stringify({ time: new Date().toISOString(), bot: this.bot, kind: "audit-lines-lost", lost, since: this.failingSince }) + "\n";
  }
}
