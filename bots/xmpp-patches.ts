/**
 * Fixes around xmpp.js 0.14. patchClient() is installed on every client we create:
 *
 * 1. A stanza that makes a synchronous listener throw (e.g. a `from` that @xmpp/jid cannot parse)
 *    would escape from the socket's data handler and crash the process: it is logged and dropped.
 * 2. Stream management's inbound count (`h`, XEP-0198) is wrong in xmpp.js: its counter runs in a
 *    middleware placed after the iq caller, so consumed iq results are never counted, and its reset
 *    on <enabled/> runs a tick late, racing stanzas from the same read. The server then sees a bad
 *    `h` and closes the stream ("Client acknowledged more stanzas than sent by server"). Here the
 *    count is kept synchronously, in element order, and xmpp.js reads it through `sm.inbound`.
 *
 * speedUpScram() and utf8Sasl() patch the SASL mechanism libraries once, for every client.
 */
import { pbkdf2Sync } from "node:crypto";
import { createRequire } from "node:module";
import type { XmppClient } from "./xmpp.ts";
import type { XmlElement } from "./xmpp.ts";

const NS_SM = "urn:xmpp:sm:3";
const STANZAS = new Set(["iq", "message", "presence"]);

export function patchClient(client: XmppClient, onMalformed: (element: XmlElement, err: Error) => void): void {
  let inbound = 0;
  const sm = client.streamManagement as unknown as object | undefined;
  if (sm) {
    // xmpp.js's own writes (its increments and late resets) are ignored; its reads see our count.
    Object.defineProperty(sm, "inbound", { get: () => inbound, set: () => {}, configurable: true });
  }
  const original = client._onElement;
  client._onElement = function (this: XmppClient, element: XmlElement) {
    // The count starts at <enabled/>; a resume continues the previous count.
    if (element.is("enabled", NS_SM)) inbound = 0;
    else if (STANZAS.has(element.name)) inbound += 1;
    try {
      original.call(this, element);
    } catch (err) {
      onMalformed(element, err as Error);
    }
  };
}

/**
 * SCRAM-SHA-1's PBKDF2 in sasl-scram-sha-1 runs 4,096 separate async WebCrypto HMAC steps: about
 * 260 ms of CPU per login on an idle machine, over a second under load. Node's pbkdf2Sync computes
 * the same bytes in about a millisecond. Applied once; skipped if the library's layout changes.
 */
export function speedUpScram(): boolean {
  try {
    const require = createRequire(import.meta.url);
    const bitops = require("sasl-scram-sha-1/lib/bitops.js") as { Hi?: unknown };
    if (typeof bitops.Hi !== "function") return false;
    bitops.Hi = async (text: string, salt: ArrayLike<number>, iterations: number) =>
      new Uint8Array(pbkdf2Sync(text, Uint8Array.from(salt), iterations, 20, "sha1"));
    return true;
  } catch {
    return false;
  }
}

/**
 * xmpp.js base64-encodes a SASL mechanism's response with btoa(), which takes one byte per
 * character: a non-ASCII username or password made it throw (outside Latin-1) or sent Latin-1
 * bytes the server cannot verify, where SASL wants UTF-8 (RFC 4616, RFC 5802). The responses of
 * PLAIN and SCRAM-SHA-1 are turned into their UTF-8 bytes, one character per byte, before btoa sees
 * them. SCRAM already hashes its messages as UTF-8, so both sides agree again. Applied once.
 */
export function utf8Sasl(): boolean {
  try {
    const require = createRequire(import.meta.url);
    let patched = false;
    for (const name of ["sasl-plain", "sasl-scram-sha-1"]) {
      const mechanism = require(name) as { prototype?: { response?: (cred: unknown) => unknown; utf8Patched?: boolean } };
      const proto = mechanism.prototype;
      if (typeof proto?.response !== "function" || proto.utf8Patched) continue;
      const response = proto.response;
      proto.response = async function (this: unknown, cred: unknown) {
        const text = await response.call(this, cred);
        return typeof text === "string" ? utf8Bytes(text) : text;
      };
      proto.utf8Patched = true;
      patched = true;
    }
    return patched;
  } catch {
    return false;
  }
}

/** A string's UTF-8 encoding as a "binary string" (one character per byte), the form btoa() takes. */
export function utf8Bytes(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}
