/**
 * Declared contacts group sync has sent a `subscribe` to, kept on disk. Each is asked once: if they
 * (or their server) deny every request, asking again on the next push would loop through the other
 * side. An entry is forgotten once the contact is not declared with `subscribe: true`.
 */
import type { Logger } from "pino";
import { z } from "zod";
import { StateFile } from "../../../bots/state-file.ts";

const fileSchema = z.object({ format: z.literal(1), asked: z.record(z.string(), z.string()) });

export class AskedContacts {
  private readonly asked = new Map<string, string>();
  private readonly file: StateFile<typeof fileSchema>;

  constructor(file: string, logger: Logger) {
    this.file = new StateFile(file, fileSchema, logger, "group sync state");
    for (const [jid, since] of Object.entries(this.file.read()?.asked ?? {})) this.asked.set(jid, since);
  }

  has(jid: string): boolean {
    return this.asked.has(jid);
  }

  add(jid: string, when = new Date()): void {
    if (this.asked.has(jid)) return;
    this.asked.set(jid, when.toISOString());
    this.save();
  }

  retain(keep: (jid: string) => boolean): void {
    let changed = false;
    for (const jid of [...this.asked.keys()]) {
      if (!keep(jid)) changed = this.asked.delete(jid) || changed;
    }
    if (changed) this.save();
  }

  private save(): void {
    this.file.write({ format: 1, asked: Object.fromEntries(this.asked) });
  }
}
