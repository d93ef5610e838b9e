/**
 * Which log format and level `roster-bot run` uses. The format follows stdout (readable lines at a
 * terminal, JSON otherwise) unless `--log-format` says; the level is `--log-level`, else LOG_LEVEL,
 * else the config's `log.level`.
 */
import { LOG_LEVELS } from "./config/schema.ts";
import type { LogFormat } from "./logger.ts";
import { UsageError } from "./plugin.ts";

export const LOG_FORMATS: readonly LogFormat[] = ["pretty", "json"];

export interface LogChoiceInput {
  /** `--log-format`. */
  format?: string;
  /** `--log-level`. */
  level?: string;
  /** The LOG_LEVEL environment variable. */
  envLevel?: string;
  /** The config's `log.level`. */
  configLevel: string;
  /** Whether stdout is a terminal. */
  isTTY: boolean;
}

export function chooseLogOptions(input: LogChoiceInput): { format: LogFormat; level: string } {
  if (input.format !== undefined && !LOG_FORMATS.includes(input.format as LogFormat)) {
    throw new UsageError(`--log-format: "${input.format}" is not a log format (${LOG_FORMATS.join(", ")})`);
  }
  // Both read first: a bad LOG_LEVEL is reported even when --log-level wins.
  const fromFlag = pickLevel("--log-level", input.level);
  const fromEnv = pickLevel("LOG_LEVEL", input.envLevel);
  const level = fromFlag ?? fromEnv ?? input.configLevel;
  return { format: (input.format as LogFormat | undefined) ?? (input.isTTY ? "pretty" : "json"), level };
}

/** The level given by one source, or undefined when that source is unset (an empty LOG_LEVEL too). */
function pickLevel(source: string, value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  const level = value.toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(`${source}: "${value}" is not a log level (${LOG_LEVELS.join(", ")})`);
  }
  return level;
}
