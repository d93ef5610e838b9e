/**
 * The blocklist entries the bot added (`blocks.json` in the plugin's data folder): only these does
 * it ever lift. Written atomically before the bot acts on a change, so an expiry survives a restart.
 */
import type { Logger } from "pino";
import { z } from "zod";
import { StateFile } from "../../../bots/state-file.ts";

export interface OwnedBlock {
  /** The entry in normal form: a bare JID or a domain. */
  jid: string;
  /** The spelling the block was sent in (A-labels kept), when it differs from `jid`. */
  address?: string;
  /** Who made the bot add it: "rules", "rate-limit", "admin:<jid>", a plugin name. */
  by: string;
  rule?: string;
  reason?: string;
  /** ISO time it was added. */
  since: string;
  /** ISO time the bot lifts it; none: until someone lifts it. */
  expires?: string;
}

const fileSchema = z.object({
  format: z.literal(1),
  blocks: z.array(
    z.object({
      jid: z.string(),
      address: z.string().optional(),
      by: z.string(),
      rule: z.string().optional(),
      reason: z.string().optional(),
      since: z.string(),
      expires: z.string().optional(),
    }),
  ),
});

export class OwnedBlocks {
  private readonly entries = new Map<string, OwnedBlock>();
  private readonly file: StateFile<typeof fileSchema>;

  constructor(file: string, logger: Logger) {
    this.file = new StateFile(file, fileSchema, logger, "blocklist ownership");
    for (const entry of this.file.read()?.blocks ?? []) this.entries.set(entry.jid, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  get(jid: string): OwnedBlock | undefined {
    return this.entries.get(jid);
  }

  list(): OwnedBlock[] {
    return [...this.entries.values()];
  }

  add(entry: OwnedBlock): void {
    this.entries.set(entry.jid, entry);
    this.save();
  }

  delete(jid: string): boolean {
    const had = this.entries.delete(jid);
    if (had) this.save();
    return had;
  }

  /** The earliest expiry (ms since the epoch), or undefined when no entry expires. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const { expires } of this.entries.values()) {
      if (expires === undefined) continue;
      const at = Date.parse(expires);
      if (!Number.isNaN(at) && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  private save(): void {
    this.file.write({ format: 1, blocks: this.list() });
  }
}
