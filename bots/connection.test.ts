import { describe, expect, it } from "vitest";
import { isLoopbackAddress, isPermanentFailure, TlsPolicyError } from "./connection.ts";

describe("isLoopbackAddress", () => {
  it.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["10.0.0.1", false],
    ["192.168.1.1", false],
    ["::ffff:10.0.0.1", false],
    ["fe80::1", false],
    ["128.0.0.1", false],
    ["", false],
    [undefined, false],
  ])("%j is loopback: %j", (address, expected) => {
    expect(isLoopbackAddress(address)).toBe(expected);
  });
});

describe("isPermanentFailure", () => {
  it("is true for a refused TLS policy and for authentication failures", () => {
    expect(isPermanentFailure(new TlsPolicyError("no TLS"))).toBe(true);
    expect(isPermanentFailure(Object.assign(new Error("auth"), { name: "SASLError", condition: "not-authorized" }))).toBe(true);
    expect(isPermanentFailure({ condition: "account-disabled" })).toBe(true);
  });

  it("is false for network errors and nothing", () => {
    expect(isPermanentFailure(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(false);
    expect(isPermanentFailure(new Error("timeout"))).toBe(false);
    expect(isPermanentFailure(undefined)).toBe(false);
    expect(isPermanentFailure(null)).toBe(false);
  });
});
