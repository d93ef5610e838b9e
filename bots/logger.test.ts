import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/helpers/logger.ts";
import { Secret } from "./config/secret.ts";
import { createLogger, prettyDestination } from "./logger.ts";
import { inspect } from "node:util";

describe("logger and secrets", () => {
  it("never writes a password: Secret values and password-named fields are redacted", () => {
    const { logger, logs } = memoryLogger();
    const secret = new Secret("hunter2-secret");
    logger.info({ secret, password: "plain-pw-1", bot: { password: "plain-pw-2" }, a: { b: { password: "plain-pw-3" } }, credentials: { x: 1 } }, "hello");
    logger.child({ password: "child-pw" }).info("child line");
    const text = logs.raw.join("\n");
    for (const value of ["hunter2-secret", "plain-pw-1", "plain-pw-2", "plain-pw-3", "child-pw"]) expect(text).not.toContain(value);
    expect(logs.lines[0]).toMatchObject({ secret: "[redacted]", password: "[redacted]", bot: { password: "[redacted]" }, credentials: "[redacted]" });
  });

  it("Secret hides itself from String, JSON and inspect, and reveals on request", () => {
    const s = new Secret("pw");
    expect(String(s)).toBe("[redacted]");
    expect(JSON.stringify(s)).toBe('"[redacted]"');
    expect(inspect({ s })).toBe("{ s: [redacted] }");
    expect(s.reveal()).toBe("pw");
  });
});

describe("readable log lines (pretty)", () => {
  async function prettyLogger() {
    const written: string[] = [];
    const logger = createLogger("debug", await prettyDestination({ write: (s: string) => written.push(s) }, false));
    return { logger, written };
  }

  it("one line per record: time, level, message, then the fields (err too) on the same line", async () => {
    const { logger, written } = await prettyLogger();
    logger.child({ bot: "main" }).warn({ err: "connect ECONNREFUSED 127.0.0.1:5222", attempt: 3, delayMs: 400 }, "connection failed; retrying");
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: connection failed; retrying \{"bot":"main","err":"connect ECONNREFUSED 127.0.0.1:5222","attempt":3,"delayMs":400\}\n$/);
  });

  it("never writes a password: the same redaction as the JSON lines", async () => {
    const { logger, written } = await prettyLogger();
    logger.info({ secret: new Secret("hunter2-secret"), password: "plain-pw-1", bot: { password: "plain-pw-2" }, a: { b: { password: "plain-pw-3" } }, credentials: { x: 1 } }, "hello");
    logger.child({ password: "child-pw" }).info("child line");
    const text = written.join("");
    for (const value of ["hunter2-secret", "plain-pw-1", "plain-pw-2", "plain-pw-3", "child-pw"]) expect(text).not.toContain(value);
    expect(text).toContain('"secret":"[redacted]","password":"[redacted]","bot":{"password":"[redacted]"}');
    expect(text).toContain('"credentials":"[redacted]"');
    expect(written).toHaveLength(2);
  });
});
