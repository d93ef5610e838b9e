import { describe, expect, it } from "vitest";
import { chooseLogOptions, type LogChoiceInput } from "./log-options.ts";
import { UsageError } from "./plugin.ts";

const base: LogChoiceInput = { configLevel: "info", isTTY: false };

describe("chooseLogOptions", () => {
  it("the format follows stdout (pretty at a terminal, JSON otherwise) unless --log-format says", () => {
    expect(chooseLogOptions({ ...base, isTTY: true }).format).toBe("pretty");
    expect(chooseLogOptions({ ...base, isTTY: false }).format).toBe("json");
    expect(chooseLogOptions({ ...base, isTTY: true, format: "json" }).format).toBe("json");
    expect(chooseLogOptions({ ...base, isTTY: false, format: "pretty" }).format).toBe("pretty");
  });

  it("the level: --log-level, else LOG_LEVEL, else the config's log.level", () => {
    expect(chooseLogOptions({ ...base, configLevel: "warn" }).level).toBe("warn");
    expect(chooseLogOptions({ ...base, configLevel: "warn", envLevel: "debug" }).level).toBe("debug");
    expect(chooseLogOptions({ ...base, configLevel: "warn", envLevel: "debug", level: "error" }).level).toBe("error");
    expect(chooseLogOptions({ ...base, configLevel: "warn", level: "trace" }).level).toBe("trace");
  });

  it("an empty LOG_LEVEL counts as unset; levels are read case-insensitively", () => {
    expect(chooseLogOptions({ ...base, configLevel: "warn", envLevel: "" }).level).toBe("warn");
    expect(chooseLogOptions({ ...base, envLevel: "DEBUG" }).level).toBe("debug");
    expect(chooseLogOptions({ ...base, level: "Silent" }).level).toBe("silent");
  });

  it("a value that is not a format or a level is a usage error naming where it came from", () => {
    const error = (input: Partial<LogChoiceInput>) => {
      try {
        chooseLogOptions({ ...base, ...input });
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error("no error");
    };
    expect(error({ format: "text" })).toBe('--log-format: "text" is not a log format (pretty, json)');
    expect(error({ level: "verbose" })).toBe('--log-level: "verbose" is not a log level (trace, debug, info, warn, error, fatal, silent)');
    expect(error({ envLevel: "loud" })).toBe('LOG_LEVEL: "loud" is not a log level (trace, debug, info, warn, error, fatal, silent)');
    // A bad LOG_LEVEL is reported even when --log-level would win: a typo in the environment is still a typo.
    expect(error({ level: "info", envLevel: "loud" })).toMatch(/^LOG_LEVEL: /);
  });
});
