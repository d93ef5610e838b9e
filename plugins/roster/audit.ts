/**
 * The audit trail: one JSON line per subscription decision and per roster change the bot makes,
 * appended to `audit.log` in the bot's data directory.
 *
 * Fields: `time` (ISO 8601), `bot` (bot id), `kind` ("decision" | "roster"), and
 *  - decision: `from` (bare JID), `action`, `decidedBy` ("rules", a plugin name, "rate-limit",
 *    "default", "pending", "admin"), `rule` (rule name, when a rule decided), `reason`, `sent`
 *    (presence types sent in answer);
 *  - roster: `op` ("set" | "remove"), `jid`, `name`, `groups`, `by` (who asked: "group-sync", a
 *    plugin name), `ok`, `error` (condition, on failure);
 *  - other kinds: lines other plugins add through `RosterService.audit` (the admin plugin writes
 *    `kind: "admin"` with `from`, `command`, `allowed`, `result`).
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";

export interface DecisionAuditLine {
  kind: "decision";
  from: string;
  action: string;
  decidedBy: string;
  rule?: string;
  reason: string;
  sent: string[];
}

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

/** A line another plugin adds through `RosterService.audit` (e.g. the admin plugin's commands). */
export interface PluginAuditLine {
  kind: string;
  [field: string]: unknown;
}

export type AuditLine = DecisionAuditLine | RosterAuditLine | PluginAuditLine;

export class AuditLog {
  private stream: WriteStream | undefined;

  constructor(
    readonly file: string,
    private readonly bot: string,
    /** A failing disk must not take the bot down: errors are reported here and the file reopened on the next line. */
    private readonly onError: (err: Error) => void,
  ) {}

  write(line: AuditLine): void {
    if (!this.stream) {
      mkdirSync(path.dirname(this.file), { recursive: true });
      const stream = createWriteStream(this.file, { flags: "a" });
      stream.on("error", (err) => {
        if (this.stream === stream) this.stream = undefined;
        this.onError(err);
      });
      this.stream = stream;
    }
    this.stream.write(JSON.stringify({ time: new Date().toISOString(), bot: this.bot, ...line }) + "\n");
  }

  async close(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    if (stream && !stream.destroyed) await new Promise<void>((resolve) => stream.end(resolve));
  }
}
