/**
 * Subscription requests held by the `ask` action until an admin or a plugin approves or denies
 * them. Kept on disk (atomic writes) so they survive a restart.
 */
import type { Logger } from "pino";
import { z } from "zod";
import { bareJid } from "../../bots/jid.ts";
import { StateFile } from "../../bots/state-file.ts";

export interface PendingRequest {
  /** Normal form (domain in U-labels): the key approve, deny and grant look it up by. */
  jid: string;
  /** The bare JID as the request spelled it (the answer goes there), when it differs from `jid`. */
  address?: string;
  /** ISO time the request was first held. */
  since: string;
  decidedBy: string;
  rule?: string;
  reason: string;
}

const fileSchema = z.object({
  format: z.literal(1),
  pending: z.array(
    z.object({ jid: z.string(), address: z.string().optional(), since: z.string(), decidedBy: z.string(), rule: z.string().optional(), reason: z.string() }),
  ),
});

export class PendingRequests {
  private readonly items = new Map<string, PendingRequest>();
  private readonly file: StateFile<typeof fileSchema>;

  constructor(file: string, logger: Logger) {
    this.file = new StateFile(file, fileSchema, logger, "pending requests");
    for (const p of this.file.read()?.pending ?? []) {
      // A file written before domains were kept in U-labels may hold an A-label key: re-key it, and
      // keep its spelling as the address the answer goes to.
      const jid = bareJid(p.jid) ?? p.jid;
      this.items.set(jid, jid === p.jid ? p : { ...p, jid, address: p.address ?? p.jid });
    }
  }

  has(jid: string): boolean {
    return this.items.has(jid);
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
    this.file.write({ format: 1, pending: this.list() });
  }
}
