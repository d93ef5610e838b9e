/**
 * Small JSON state files for plugins (held requests, who was asked): read tolerantly, written
 * synchronously and atomically (see atomic-file.ts), so the state is on disk before the bot acts
 * on it and a crash never leaves a half-written file.
 */
import { readFileSync } from "node:fs";
import type { Logger } from "pino";
import type { z } from "zod";
import { removeStaleTempFiles, writeFileAtomicSync } from "./atomic-file.ts";

export class StateFile<S extends z.ZodType> {
  constructor(
    readonly file: string,
    private readonly schema: S,
    private readonly logger: Logger,
    /** What the file holds, for log lines ("pending requests"). */
    private readonly what: string,
  ) {}

  /** The file's content, or undefined when it is missing or invalid (then with a warning). */
  read(): z.output<S> | undefined {
    removeStaleTempFiles(this.file);
    try {
      return this.schema.parse(JSON.parse(readFileSync(this.file, "utf8")));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.logger.warn({ err: (err as Error).message.slice(0, 300), file: this.file }, `${this.what} file unreadable; starting with none`);
      }
      return undefined;
    }
  }

  /** Writes atomically; a failure is logged (the bot keeps running with its in-memory state). */
  write(data: z.input<S>): void {
    try {
      writeFileAtomicSync(this.file, JSON.stringify(data, null, 1));
    } catch (err) {
      this.logger.error({ err: (err as Error).message, file: this.file }, `${this.what} not saved`);
    }
  }
}
