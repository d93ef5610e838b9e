/** An in-memory pino logger for unit tests: every line is parsed and kept for assertions. */
import { createLogger, type Logger } from "../../bots/logger.ts";
import { LogCapture } from "./bot.ts";

export function memoryLogger(level = "debug"): { logger: Logger; logs: LogCapture } {
  const logs = new LogCapture();
  return { logger: createLogger(level, logs), logs };
}

/** Waits until pino (writing through a stream) has delivered a line that matches. */
export async function waitForLog(
  logs: LogCapture,
  pred: (l: Record<string, unknown>) => boolean,
  timeoutMs = 5_000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logs.find(pred);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; have:\n${logs.raw.join("\n")}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
