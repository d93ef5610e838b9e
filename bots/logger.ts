/**
 * Structured logs (pino): JSON lines for a log collector, or readable lines for a person at a
 * terminal. Secrets are kept out twice over: passwords are `Secret` objects that serialize as
 * "[redacted]", and any field named like a password is censored here as well (before either format
 * is written).
 */
import { writeSync } from "node:fs";
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

export type LogFormat = "pretty" | "json";

export function createLogger(level = "info", destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: ["password", "*.password", "*.*.password", "credentials", "*.credentials"], censor: "[redacted]" },
      serializers: { err: pino.stdSerializers.err },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

export interface OutputLogger {
  logger: Logger;
  /** Resolves when every line logged so far is written; call it before the process exits. */
  drain(): Promise<void>;
}

/** `roster-bot run`'s logger on stdout, in the chosen format. */
export async function createOutputLogger(level: string, format: LogFormat): Promise<OutputLogger> {
  if (format === "pretty") {
    return { logger: createLogger(level, await prettyDestination(pino.destination({ dest: 1, sync: true }))), drain: async () => {} };
  }
  // JSON lines go out asynchronously (cheap under load). At exit, a write still in flight is lost
  // or lands after pino's exit flush, so drain() ends the stream and waits; a line logged after
  // that is written synchronously.
  const stream = pino.destination({ dest: 1, sync: false });
  let ended = false;
  const destination = { write: (line: string) => void (ended ? writeSyncQuietly(line) : stream.write(line)) };
  const drain = () =>
    new Promise<void>((resolve) => {
      if (ended) return resolve();
      ended = true;
      stream.once("close", () => resolve());
      stream.end();
    });
  return { logger: createLogger(level, destination), drain };
}

function writeSyncQuietly(line: string): void {
  try {
    writeSync(1, line);
  } catch {
    // stdout is gone or would block: the process is exiting anyway.
  }
}

/**
 * Formats each JSON line in-process and writes it at once, rather than through pino's worker-thread
 * transport: nothing buffered in another thread is lost when the process exits, and pino-pretty is
 * loaded only when this format is chosen. Formatting in the main thread costs little at a
 * terminal's pace. One line per record, so a line is one event.
 */
export async function prettyDestination(out: { write(s: string): unknown }, colorize?: boolean): Promise<DestinationStream> {
  const { default: pinoPretty } = await import("pino-pretty");
  // No error-like keys: pino-pretty would print `err` on lines of its own. Colours: pino-pretty's
  // own choice (a terminal that supports them; NO_COLOR and FORCE_COLOR are honoured).
  const prettify = pinoPretty.prettyFactory({
    translateTime: "SYS:HH:MM:ss.l",
    singleLine: true,
    ignore: "pid,hostname",
    errorLikeObjectKeys: [],
    colorize: colorize ?? pinoPretty.isColorSupported,
  });
  return { write: (line: string) => void out.write(prettify(line)) };
}
