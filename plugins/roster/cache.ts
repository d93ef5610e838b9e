/**
 * The persisted roster cache: items plus the roster version, so a restart asks the server only for
 * what changed. Writes are atomic and coalesced. Saving late is safe: the stored version always
 * matches the stored items, so the server resends whatever came after it.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import { z } from "zod";
import { removeStaleTempFiles, writeFileAtomic } from "../../bots/atomic-file.ts";
import type { RosterItem } from "./item.ts";
import { SUBSCRIPTIONS } from "./subscription.ts";

const FORMAT = 1;

const fileSchema = z.object({
  format: z.literal(FORMAT),
  account: z.string(),
  ver: z.string().optional(),
  items: z.array(
    z.object({
      jid: z.string(),
      name: z.string().optional(),
      groups: z.array(z.string()),
      subscription: z.enum(SUBSCRIPTIONS),
      ask: z.literal("subscribe").optional(),
      approved: z.boolean(),
    }),
  ),
});

export interface RosterSnapshot {
  ver: string | undefined;
  items: RosterItem[];
}

export class RosterCache {
  private timer: NodeJS.Timeout | undefined;
  private pending: (() => RosterSnapshot) | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly account: string,
    private readonly logger: Logger,
    private readonly delayMs = 200,
  ) {}

  /** The cached roster, or undefined (missing, corrupt, or another account's: discarded with a warning). */
  load(): RosterSnapshot | undefined {
    removeStaleTempFiles(this.file);
    let text: string;
    try {
      text = readFileSync(this.file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.logger.warn({ err: (err as Error).message, file: this.file }, "roster cache unreadable; fetching the full roster");
      return undefined;
    }
    try {
      const data = fileSchema.parse(JSON.parse(text));
      if (data.account !== this.account) throw new Error(`cache belongs to ${data.account}`);
      return { ver: data.ver, items: data.items.map((i) => Object.freeze({ ...i, groups: Object.freeze([...i.groups]) })) };
    } catch (err) {
      this.logger.warn({ err: (err as Error).message.slice(0, 300), file: this.file }, "roster cache corrupt; discarded, fetching the full roster");
      return undefined;
    }
  }

  /** Saves soon; several calls in a burst make one write of the latest state. */
  scheduleSave(snapshot: () => RosterSnapshot): void {
    this.pending = snapshot;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.delayMs);
    this.timer.unref?.();
  }

  /** Writes any pending state now and waits for it. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const snapshot = this.pending;
    this.pending = undefined;
    if (snapshot) this.writing = this.writing.then(() => this.write(snapshot()));
    await this.writing;
  }

  private async write(s: RosterSnapshot): Promise<void> {
    const data = JSON.stringify({ format: FORMAT, account: this.account, ver: s.ver, items: s.items });
    try {
      await writeFileAtomic(this.file, data);
    } catch (err) {
      this.logger.error({ err: (err as Error).message, file: this.file }, "roster cache not saved");
    }
  }
}
