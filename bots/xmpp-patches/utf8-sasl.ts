/** The utf8-sasl fix; saslTarget() also tells scram-pbkdf2 which SCRAM-SHA-1 @xmpp/client uses. */
import { xml } from "../xmpp.ts";
import { features, probeClient, serverSends, withTimeout, type ClientFactory } from "./probe-client.ts";
import { fixed, present, unknown, type XmppPatch } from "./runner.ts";

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

type SaslMechanism = "PLAIN" | "SCRAM-SHA-1";
type SaslCredentials = { username: string; password: string };
type MechanismClass = { prototype: { response?: unknown } };

export interface SaslTarget {
  /** The mechanism classes the client uses: their response() is what the fix wraps. */
  mechanisms: Record<SaslMechanism, MechanismClass>;
  /** The base64 text of the first SASL response the client sends for `cred`. */
  firstResponse(mechanism: SaslMechanism, cred: SaslCredentials): Promise<string>;
}

const UTF8_SASL = Symbol.for("roster-bot.xmpp-patches.utf8-sasl");

/**
 * SASL wants UTF-8 (RFC 4616, RFC 5802), but @xmpp/base64 0.14.0 encodes with btoa(), one byte per
 * character: a non-ASCII username or password goes out as Latin-1 (rejected) or makes btoa() throw.
 * The fix hands btoa() the UTF-8 bytes; SCRAM already hashes its messages as UTF-8.
 */
export const utf8SaslPatch: XmppPatch<SaslTarget> = {
  name: "utf8-sasl",
  target:
    "@xmpp/base64@0.14.0 encode() (btoa: one byte per character), as @xmpp/sasl@0.14.0 applies it to the responses of sasl-plain@0.1.0 and sasl-scram-sha-1@1.4.0",
  upstream:
    "xmppjs/xmpp.js#1122, commit 7035ced on main after v0.14.0 (unreleased; main needs Node >= 22.11): encode() goes through TextEncoder, so with it this fix would encode twice",
  ifNotApplied: "Usernames or passwords outside ASCII may fail to log in; check a non-ASCII login (test/integration/unicode-login.test.ts).",
  packages: [
    ["@xmpp/client", "@xmpp/sasl"],
    ["@xmpp/client", "@xmpp/sasl", "@xmpp/base64"],
    ["@xmpp/client", "@xmpp/sasl-plain", "sasl-plain"],
    ["@xmpp/client", "@xmpp/sasl-scram-sha-1", "sasl-scram-sha-1"],
  ],
  async probe(target) {
    for (const [name, mechanism] of Object.entries(target.mechanisms)) {
      if (typeof mechanism.prototype.response !== "function") return unknown(`the ${name} mechanism has no response()`);
    }
    // "é" is one Latin-1 byte (e9) or two UTF-8 bytes (c3 a9): the bytes on the wire tell which encoding ran.
    const cred = { username: "é", password: "é" };
    const plain = Buffer.from(await target.firstResponse("PLAIN", cred), "base64");
    const scram = Buffer.from(await target.firstResponse("SCRAM-SHA-1", cred), "base64");
    const seen = [encodingOf(plain, "\0é\0é"), encodingOf(scram, "n,,n=é,r=", "prefix")];
    if (seen.every((e) => e === "latin1")) return present("PLAIN and SCRAM-SHA-1 send é as the Latin-1 byte e9");
    if (seen.every((e) => e === "utf8")) return fixed("PLAIN and SCRAM-SHA-1 already send é as UTF-8 (c3 a9)");
    return unknown(`for username and password "é", PLAIN sends ${plain.toString("hex")} and SCRAM-SHA-1 starts ${scram.subarray(0, 12).toString("hex")}`);
  },
  apply({ mechanisms }) {
    for (const { prototype } of Object.values(mechanisms)) {
      if (UTF8_SASL in prototype) continue;
      const response = prototype.response as (this: unknown, cred: unknown) => unknown;
      prototype.response = async function (this: unknown, cred: unknown) {
        const text = await response.call(this, cred);
        return typeof text === "string" ? Buffer.from(text, "utf8").toString("latin1") : text;
      };
      Object.defineProperty(prototype, UTF8_SASL, { value: true });
    }
  },
  isApplied: ({ mechanisms }) => Object.values(mechanisms).every(({ prototype }) => UTF8_SASL in prototype),
};

/** Which encoding of `text` the bytes are (or, with "prefix", start with). */
function encodingOf(bytes: Buffer, text: string, prefix?: "prefix"): "utf8" | "latin1" | "other" {
  const is = (encoded: Buffer) => (prefix ? bytes.subarray(0, encoded.length) : bytes).equals(encoded);
  if (is(Buffer.from(text, "utf8"))) return "utf8";
  if (is(Buffer.from(text, "latin1"))) return "latin1";
  return "other";
}

/** The base64 text of the first SASL response the client sends (in <auth/>) for `cred`; the server then aborts. */
export function saslFirstResponse(create: ClientFactory, mechanism: string, cred: SaslCredentials): Promise<string> {
  const client = probeClient(create, (authenticate) => authenticate(cred, mechanism));
  const auth = new Promise<string>((resolve, reject) => {
    client.on("error", reject);
    client.send = (element) => {
      if (element.is("auth", NS_SASL)) {
        resolve(element.text());
        serverSends(client, xml("failure", { xmlns: NS_SASL }, xml("aborted")));
      }
      return Promise.resolve();
    };
  });
  client._onElement(features(xml("mechanisms", { xmlns: NS_SASL }, xml("mechanism", {}, mechanism))));
  return withTimeout(auth, `no SASL <auth/> sent for ${mechanism}`);
}

/** The mechanisms @xmpp/client registers, and the first response as it sends it. */
export function saslTarget(create: ClientFactory): SaslTarget {
  const { saslFactory } = probeClient(create) as unknown as { saslFactory?: { _mechs?: { name: string; mech: MechanismClass }[] } };
  const registered = (name: SaslMechanism): MechanismClass => {
    const mechanism = saslFactory?._mechs?.find((m) => m.name === name)?.mech;
    if (!mechanism) throw new Error(`@xmpp/client registers no ${name} mechanism (saslFactory._mechs)`);
    return mechanism;
  };
  return {
    mechanisms: { PLAIN: registered("PLAIN"), "SCRAM-SHA-1": registered("SCRAM-SHA-1") },
    firstResponse: (mechanism, cred) => saslFirstResponse(create, mechanism, cred),
  };
}

