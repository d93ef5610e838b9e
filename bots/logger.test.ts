import { describe, expect, it } from "vitest";
import { memoryLogger } from "../test/helpers/logger.ts";
import { Secret } from "./config/secret.ts";
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
