/**
 * The TLS policy check that runs before any credential is sent (BotConnection's credentials step),
 * for every kind of peer address, without a network. test/faults/security.test.ts shows it against
 * a real non-loopback interface when the machine has one.
 */
import { describe, expect, it } from "vitest";
import { Secret } from "./config/secret.ts";
import type { BotConfig } from "./config/load.ts";
import { BotConnection, TlsPolicyError } from "./connection.ts";
import { createLogger } from "./logger.ts";

type Policy = BotConfig["tls"];

const bot: BotConfig = {
  id: "t",
  jid: "bot@example.org",
  resource: "r",
  service: "xmpp://127.0.0.1:5222",
  tls: "required",
  dataDir: "/nonexistent",
  reconnect: { initialDelay: 100, maxDelay: 1_000 },
  password: new Secret("pw"),
  plugins: [],
  index: 0,
};

/** Runs the connection's transport check for a stream that is (not) secure, to `remote`. */
function check(policy: Policy, secure: boolean, remote: string | undefined): void {
  const connection = new BotConnection({ ...bot, tls: policy }, createLogger("silent"));
  const entity = { isSecure: () => secure, socket: remote === undefined ? undefined : { remoteAddress: remote } };
  (connection as unknown as { assertTransportAllowed(e: unknown, p: Policy): void }).assertTransportAllowed(entity, policy);
}

const LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"];
const ELSEWHERE = ["192.0.2.2", "10.0.0.1", "::ffff:10.0.0.1", "fd00::2", "fe80::1", "8.8.8.8", "0.0.0.0", "::"];

describe("the TLS policy before authenticating", () => {
  it.each(["required", "plaintext-loopback", "plaintext"] as const)("%s: an encrypted stream is always fine", (policy) => {
    for (const remote of [...LOOPBACK, ...ELSEWHERE]) expect(() => check(policy, true, remote)).not.toThrow();
  });

  it("required: an unencrypted stream is refused, even to loopback", () => {
    for (const remote of [...LOOPBACK, ...ELSEWHERE]) expect(() => check("required", false, remote)).toThrow(/TLS is required/);
  });

  it("plaintext-loopback: unencrypted only to a loopback address", () => {
    for (const remote of LOOPBACK) expect(() => check("plaintext-loopback", false, remote)).not.toThrow();
    for (const remote of ELSEWHERE) {
      expect(() => check("plaintext-loopback", false, remote)).toThrow(TlsPolicyError);
      expect(() => check("plaintext-loopback", false, remote)).toThrow(`refusing to authenticate over an unencrypted stream to ${remote}: plaintext is allowed only to a loopback address`);
    }
  });

  it("plaintext-loopback: an unknown peer address (no socket) is refused", () => {
    expect(() => check("plaintext-loopback", false, undefined)).toThrow(TlsPolicyError);
  });

  it("plaintext: unencrypted anywhere (explicitly allowed)", () => {
    for (const remote of [...LOOPBACK, ...ELSEWHERE]) expect(() => check("plaintext", false, remote)).not.toThrow();
  });
});
