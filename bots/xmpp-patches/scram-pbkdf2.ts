/** The scram-pbkdf2 fix: a speed-up, so logins still work (slowly) without it. */
import { pbkdf2Sync } from "node:crypto";
import type { ClientFactory } from "./probe-client.ts";
import { fixed, present, requireAlong, unknown, type XmppPatch } from "./runner.ts";
import { saslTarget } from "./utf8-sasl.ts";

export interface Bitops {
  Hi?: unknown;
  HMAC?: unknown;
}

type Fn = (this: unknown, ...args: unknown[]) => unknown;
const FAST_HI = Symbol.for("roster-bot.xmpp-patches.scram-pbkdf2");

const fastHi = Object.assign(
  (text: string, salt: ArrayLike<number>, iterations: number) =>
    Promise.resolve(new Uint8Array(pbkdf2Sync(text, Uint8Array.from(salt), iterations, 20, "sha1"))),
  { [FAST_HI]: true },
);

/**
 * SCRAM-SHA-1's Hi() in sasl-scram-sha-1 1.4.0 is PBKDF2-HMAC-SHA1 run as one async WebCrypto HMAC
 * per iteration: ~260 ms of CPU per login at 4,096 iterations, over a second under load. Node's
 * pbkdf2Sync computes the same bytes in about a millisecond.
 */
export const scramPbkdf2Patch: XmppPatch<Bitops> = {
  name: "scram-pbkdf2",
  target: "sasl-scram-sha-1@1.4.0 lib/bitops.js Hi() (one WebCrypto HMAC per iteration), as @xmpp/sasl-scram-sha-1@0.14.0 loads it",
  upstream: "none: a speed-up, not a bug; Hi() is PBKDF2-HMAC-SHA1 with one block (RFC 5802 section 2.2)",
  ifNotApplied: "Each SCRAM-SHA-1 login costs ~260 ms of CPU again (more under load); logins still work.",
  packages: [
    ["@xmpp/client", "@xmpp/sasl-scram-sha-1"],
    ["@xmpp/client", "@xmpp/sasl-scram-sha-1", "sasl-scram-sha-1"],
  ],
  async probe(bitops) {
    const { Hi, HMAC } = bitops;
    if (typeof Hi !== "function" || Hi.length !== 3 || typeof HMAC !== "function") {
      return unknown("bitops.Hi(text, salt, iterations) or bitops.HMAC is not there");
    }
    // RFC 6070's PBKDF2-HMAC-SHA1 vector: "password", "salt", 2 iterations (ea6c014d...).
    const salt = new TextEncoder().encode("salt");
    const expected = pbkdf2Sync("password", salt, 2, 20, "sha1");
    let hmacs = 0;
    bitops.HMAC = function (this: unknown, ...args: unknown[]) {
      hmacs += 1;
      return (HMAC as Fn).apply(this, args);
    };
    let out: unknown;
    try {
      out = await (Hi as Fn).call(bitops, "password", salt, 2);
    } finally {
      bitops.HMAC = HMAC;
    }
    if (!(out instanceof Uint8Array) || !expected.equals(out)) {
      return unknown(`bitops.Hi("password", "salt", 2) is not PBKDF2-HMAC-SHA1 (${expected.toString("hex")}), so pbkdf2Sync cannot stand in for it`);
    }
    if (hmacs >= 2) return present(`bitops.Hi() equals pbkdf2Sync and runs ${hmacs} HMACs for 2 iterations`);
    return fixed("bitops.Hi() equals pbkdf2Sync without an HMAC per iteration");
  },
  apply(bitops) {
    bitops.Hi = fastHi;
  },
  isApplied: (bitops) => (bitops.Hi as { [FAST_HI]?: boolean } | undefined)?.[FAST_HI] === true,
};

/** sasl-scram-sha-1's lib/bitops.js, if its Mechanism is the SCRAM-SHA-1 that @xmpp/client registers. */
export function scramTarget(create: ClientFactory): Bitops {
  const from = ["@xmpp/client", "@xmpp/sasl-scram-sha-1"];
  if (requireAlong(from, "sasl-scram-sha-1") !== saslTarget(create).mechanisms["SCRAM-SHA-1"]) {
    throw new Error("the SCRAM-SHA-1 mechanism @xmpp/client registers is not sasl-scram-sha-1's");
  }
  return requireAlong(from, "sasl-scram-sha-1/lib/bitops.js") as Bitops;
}
