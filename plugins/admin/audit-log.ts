/**
 * The admin plugin's own audit trail: `admin-audit.log` in the plugin's data directory, one JSON
 * line per command received (allowed or refused). The roster plugin's `audit.log` belongs to the
 * roster plugin's writer and is never written here.
 *
 * Fields: `time` (ISO 8601), `bot` (bot id), `from` (sender's bare JID), `command` (canonical
 * command text, or the first characters of what was sent), `allowed`, `result` ("ok", "refused",
 * "unknown", "usage", "error: ...").
 */
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";

export interface AdminAuditLine {
  from: string;
  command: string;
  allowed: boolean;
  result: string;
}

export class AdminAuditLog {
  private stream: WriteStream | undefined;

  constructor(
    readonly file: string,
    private readonly bot: string,
    /** A failing disk must not take the bot down: errors are reported here and the file reopened on the next line. */
    private readonly onError: (err: Error) => void,
  ) {}

  write(line: AdminAuditLine): void {
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
