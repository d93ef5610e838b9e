/**
 * Declared contacts that group sync has already sent a `subscribe` to, kept on disk (atomic
 * writes). A contact is asked once: if they deny, or their server answers every request with a
 * denial, we do not ask again on the next push, which would be a loop through the other side.
 * An entry is forgotten when the contact is no longer declared with `subscribe: true`, so
 * declaring them again asks again.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { z } from "zod";

const fileSchema = z.object({ format: z.literal(1), asked: z.record(z.string(), z.string()) });

export class AskedStore {
  private readonly asked = new Map<string, string>();

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    try {
      const data = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
      for (const [jid, since] of Object.entries(data.asked)) this.asked.set(jid, since);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        logger.warn({ err: (err as Error).message.slice(0, 300), file }, "group sync state unreadable; starting with none");
      }
    }
  }

  has(jid: string): boolean {
    return this.asked.has(jid);
  }

  add(jid: string, when = new Date()): void {
    if (this.asked.has(jid)) return;
    this.asked.set(jid, when.toISOString());
    this.save();
  }

  /** Keeps only the JIDs `keep` accepts. */
  retain(keep: (jid: string) => boolean): void {
    let changed = false;
    for (const jid of [...this.asked.keys()]) {
      if (!keep(jid)) changed = this.asked.delete(jid) || changed;
    }
    if (changed) this.save();
  }

  private save(): void {
    const tmp = `${this.file}.tmp`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(tmp, JSON.stringify({ format: 1, asked: Object.fromEntries(this.asked) }, null, 1));
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, file: this.file }, "group sync state not saved");
    }
  }
}
