/**
 * Subscription requests held by the `ask` action until an admin or a plugin approves or denies
 * them. Kept on disk (atomic writes) so they survive a restart.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { z } from "zod";

export interface PendingRequest {
  jid: string;
  /** ISO time the request was first held. */
  since: string;
  decidedBy: string;
  rule?: string;
  reason: string;
}

const fileSchema = z.object({
  format: z.literal(1),
  pending: z.array(
    z.object({ jid: z.string(), since: z.string(), decidedBy: z.string(), rule: z.string().optional(), reason: z.string() }),
  ),
});

export class PendingStore {
  private readonly items = new Map<string, PendingRequest>();

  constructor(
    readonly file: string,
    private readonly logger: Logger,
  ) {
    try {
      const data = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
      for (const p of data.pending) this.items.set(p.jid, p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        logger.warn({ err: (err as Error).message.slice(0, 300), file }, "pending requests file unreadable; starting with none");
      }
    }
  }

  get(jid: string): PendingRequest | undefined {
    return this.items.get(jid);
  }

  list(): PendingRequest[] {
    return [...this.items.values()];
  }

  add(request: PendingRequest): void {
    this.items.set(request.jid, request);
    this.save();
  }

  delete(jid: string): boolean {
    const had = this.items.delete(jid);
    if (had) this.save();
    return had;
  }

  /** Synchronous and atomic: a held request is on disk before anything else happens. */
  private save(): void {
    const tmp = `${this.file}.tmp`;
    try {
      mkdirSync(path.dirname(this.file), { recursive: true });
      writeFileSync(tmp, JSON.stringify({ format: 1, pending: this.list() }, null, 1));
      renameSync(tmp, this.file);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, file: this.file }, "pending requests not saved");
    }
  }
}
