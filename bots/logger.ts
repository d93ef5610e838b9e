/**
 * Structured JSON logs (pino). Secrets are kept out twice over: passwords are `Secret` objects that
 * serialize as "[redacted]", and any field named like a password is censored here as well.
 */
import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

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
