/**
 * Fixes for xmpp.js 0.14.0. Each probes the code it replaces by behaviour and applies only if the bug
 * is there (else it logs why not), so an upgrade can neither drop a fix unseen nor double one. At run
 * time, not patch-package or `overrides`: roster-bot is a library, and those reach only the root
 * project; a fork would pin sasl-scram-sha-1 for every consumer.
 */
import { pbkdf2Sync } from "node:crypto";
import { createRequire } from "node:module";
import { createLogger } from "./logger.ts";
import { xml, type XmlElement, type XmppClient, type XmppClientOptions, type XmppCredentials } from "./xmpp.ts";

export type PatchOutcome = "applied" | "not-needed" | "not-applicable";

export interface PatchInfo {
  name: string;
  /** The upstream code the fix replaces, with the version it was written for. */
  target: string;
  /** The upstream issue or commit, or why there is none. */
  upstream: string;
  /** What goes wrong while the fix is not applied, and what to check. */
  ifNotApplied: string;
  /** The packages to name in the log, each as its chain of dependencies from @xmpp/client. */
  packages: string[][];
}

export interface PatchStatus extends Pick<PatchInfo, "name" | "target" | "upstream"> {
  outcome: PatchOutcome;
  /** What the probe saw. */
  detail: string;
  /** The versions found installed, e.g. "@xmpp/sasl@0.14.0, sasl-plain@0.1.0". */
  installed: string;
}

/** What a probe saw: the bug the fix corrects, upstream's fix, or code it does not recognise. */
export interface ProbeResult {
  bug: "present" | "fixed" | "unknown";
  detail: string;
}

export interface XmppPatch<T> extends PatchInfo {
  probe(target: T): Promise<ProbeResult>;
  apply(target: T): void;
  isApplied(target: T): boolean;
}

export interface PatchLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type ClientFactory = (options: XmppClientOptions) => XmppClient;

const present = (detail: string): ProbeResult => ({ bug: "present", detail });
const fixed = (detail: string): ProbeResult => ({ bug: "fixed", detail });
const unknown = (detail: string): ProbeResult => ({ bug: "unknown", detail });

const NS_STREAM = "http://etherx.jabber.org/streams";
const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_SM = "urn:xmpp:sm:3";
const STANZAS = new Set(["iq", "message", "presence"]);
const PROBE_TIMEOUT = 2_000;
const PROBE_DOMAIN = "probe.invalid";

// ---------------------------------------------------------------------------------------------
// utf8-sasl

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

// ---------------------------------------------------------------------------------------------
// scram-pbkdf2

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

// ---------------------------------------------------------------------------------------------
// sm-inbound-count and sm-unresumable-queue

/** Whether patchClient() and dropUnresumableQueue() act; the stream-management fixes set them. */
export interface SmSwitches {
  countInbound: boolean;
  dropUnresumableQueue: boolean;
}

export interface SmTarget {
  /** A fresh client that never connects (see probeClient()). */
  newClient(): XmppClient;
  switches: SmSwitches;
}

interface SmInternals {
  id: string;
  inbound: number;
  outbound: number;
  outbound_q: { stanza: XmlElement; stamp: string }[];
  emit(event: "fail", stanza: XmlElement): boolean;
}
const smOf = (client: XmppClient) => client.streamManagement as unknown as SmInternals;

/**
 * Stream management's inbound count (`h`, XEP-0198) is wrong in xmpp.js 0.14.0: counted in a
 * middleware after the iq caller's, which consumes iq results, and reset on <enabled/> after awaits,
 * wiping stanzas read with it. The server then closes the stream on a bad `h`. patchClient() keeps
 * the count itself, synchronously and in element order, and xmpp.js reads it through `sm.inbound`.
 */
export const smInboundPatch: XmppPatch<SmTarget> = {
  name: "sm-inbound-count",
  target:
    "@xmpp/stream-management@0.14.0 sm.inbound: counted in a middleware after @xmpp/iq's caller (iq results never counted) and reset on <enabled/> after awaits (racing stanzas read with it)",
  upstream: "no upstream issue; not fixed on xmpp.js main at 7035ced (packages/stream-management and the middleware order in packages/client unchanged since v0.14.0)",
  ifNotApplied: 'The server may see a wrong `h` and close the stream ("Client acknowledged more stanzas than sent by server"); check test/integration/reconnect.test.ts.',
  packages: [["@xmpp/client", "@xmpp/stream-management"], ["@xmpp/client"]],
  async probe(target) {
    const client = target.newClient();
    const inbound = Object.getOwnPropertyDescriptor(client.streamManagement ?? {}, "inbound");
    if (typeof client._onElement !== "function" || typeof inbound?.value !== "number" || !inbound.writable || !inbound.configurable) {
      return unknown("streamManagement.inbound is not a plain number property, or client._onElement is not a function");
    }
    const { afterEnabled, afterIqResult } = await countInbound(client);
    const seen = `sm.inbound is ${afterEnabled} after <enabled/> and a <message/> read together (1 is right), then ${afterIqResult} after an iq result (2 is right)`;
    if (afterEnabled === 1 && afterIqResult === 2) return fixed(seen);
    const bug = afterEnabled === 0 || afterIqResult === afterEnabled;
    return bug && afterEnabled <= 1 && afterIqResult <= 2 ? present(seen) : unknown(seen);
  },
  apply({ switches }) {
    switches.countInbound = true;
  },
  isApplied: ({ switches }) => switches.countInbound,
};

/**
 * xmpp.js 0.14.0 announces `online` before stream management is enabled. If the stream drops in that
 * window there is nothing to resume, yet it keeps the dead stream's unacknowledged stanzas queued and
 * counts the next stream's acks against them. dropUnresumableQueue() reports them failed and drops them.
 */
export const smQueuePatch: XmppPatch<SmTarget> = {
  name: "sm-unresumable-queue",
  target: "@xmpp/stream-management@0.14.0 sm.outbound_q: kept on disconnect when the stream has no id to resume",
  upstream: "no upstream issue; not fixed on xmpp.js main at 7035ced (packages/stream-management unchanged since v0.14.0)",
  ifNotApplied: "Stanzas sent just before a drop are neither resent nor reported failed, and later acks are miscounted.",
  packages: [["@xmpp/client", "@xmpp/stream-management"]],
  async probe(target) {
    const client = target.newClient();
    const sm = smOf(client);
    if (!Array.isArray(sm.outbound_q) || typeof sm.outbound !== "number" || typeof sm.id !== "string" || typeof sm.emit !== "function") {
      return unknown("streamManagement.outbound_q, outbound or id is not what it was");
    }
    sm.outbound_q.push({ stanza: xml("message", { to: PROBE_DOMAIN }), stamp: new Date().toISOString() });
    client.emit("disconnect", { clean: false });
    await nextTurn();
    return sm.outbound_q.length === 1
      ? present("a stanza queued on a stream without an id stays queued after disconnect")
      : fixed("xmpp.js empties the queue of a stream without an id on disconnect");
  },
  apply({ switches }) {
    switches.dropUnresumableQueue = true;
  },
  isApplied: ({ switches }) => switches.dropUnresumableQueue,
};

// ---------------------------------------------------------------------------------------------
// Probing and applying

/** Probes `patch` and applies it if its bug is there; logs the outcome (nothing if it was applied before). */
export async function runPatch<T>(patch: XmppPatch<T>, resolveTarget: () => T, logger: PatchLogger): Promise<PatchStatus> {
  const [outcome, detail] = await probeAndApply(patch, resolveTarget);
  const status = statusOf(patch, outcome, detail);
  if (detail !== ALREADY_APPLIED) report(patch, status, logger);
  return status;
}

const ALREADY_APPLIED = "already applied";
const OUTCOME: Record<ProbeResult["bug"], PatchOutcome> = { present: "applied", fixed: "not-needed", unknown: "not-applicable" };

async function probeAndApply<T>(patch: XmppPatch<T>, resolveTarget: () => T): Promise<[PatchOutcome, string]> {
  try {
    const target = resolveTarget();
    if (patch.isApplied(target)) return ["applied", ALREADY_APPLIED];
    const seen = await patch.probe(target);
    if (seen.bug === "present") patch.apply(target);
    return [OUTCOME[seen.bug], seen.detail];
  } catch (err) {
    return ["not-applicable", (err as Error).message];
  }
}

function statusOf(patch: PatchInfo, outcome: PatchOutcome, detail: string): PatchStatus {
  const installed = patch.packages.map((chain) => `${chain.at(-1)}@${installedVersion(chain)}`).join(", ");
  return { name: patch.name, target: patch.target, upstream: patch.upstream, outcome, detail, installed };
}

function report(patch: PatchInfo, status: PatchStatus, logger: PatchLogger): void {
  const { name, outcome, detail, installed } = status;
  const fields = { patch: name, outcome, installed, target: patch.target, upstream: patch.upstream, detail };
  if (outcome === "applied") logger.debug(fields, `xmpp.js fix "${name}" applied`);
  else if (outcome === "not-needed") {
    logger.info(fields, `xmpp.js fix "${name}" not needed: ${detail}. Upstream fixed it (${patch.upstream}); remove the fix from roster-bot`);
  } else {
    logger.error(
      fields,
      `xmpp.js fix "${name}" NOT APPLIED: it was written for ${patch.target}; installed: ${installed}; ${detail}. ${patch.ifNotApplied}`,
    );
  }
}

const switches: SmSwitches = { countInbound: false, dropUnresumableQueue: false };
const statuses = new Map<string, PatchStatus>();
let verification: Promise<PatchStatus[]> | undefined;
let log: PatchLogger | undefined;

const patchLog = (): PatchLogger => (log ??= createLogger("info", process.stderr));

/** The outcomes so far, in order (empty until verifyXmppPatches() has run). */
export function xmppPatchStatus(): PatchStatus[] {
  return [...statuses.values()];
}

/**
 * Probes every fix against the xmpp.js that `create` belongs to and applies those whose bug is there.
 * Runs once per process (later calls get the same result) and never rejects.
 */
export function verifyXmppPatches(create: ClientFactory, logger?: PatchLogger): Promise<PatchStatus[]> {
  verification ??= (async () => {
    if (logger) log = logger;
    const newClient = () => probeClient(create);
    const sm = (): SmTarget => ({ newClient, switches });
    const results = [
      await runPatch(utf8SaslPatch, () => saslTarget(create), patchLog()),
      await runPatch(scramPbkdf2Patch, () => scramTarget(create), patchLog()),
      await runPatch(smInboundPatch, sm, patchLog()),
      await runPatch(smQueuePatch, sm, patchLog()),
    ];
    for (const status of results) statuses.set(status.name, status);
    return results;
  })();
  return verification;
}

/** A fix found not to fit one client at run time: recorded and logged at error level, once. */
function failedOnClient(patch: PatchInfo, detail: string): void {
  if (statuses.get(patch.name)?.outcome === "not-applicable") return;
  const status = statusOf(patch, "not-applicable", detail);
  statuses.set(patch.name, status);
  report(patch, status, patchLog());
}

// ---------------------------------------------------------------------------------------------
// Per client

const PATCHED_CLIENT = Symbol.for("roster-bot.xmpp-patches.client");
const countedStreams = new WeakSet<object>();

/**
 * Installed on every client before it connects. A stanza that makes a synchronous listener throw
 * (e.g. a `from` @xmpp/jid cannot parse) would escape the socket's data handler and crash the
 * process: it goes to `onMalformed` and is dropped. Keeps the inbound count if sm-inbound-count applies.
 */
export function patchClient(client: XmppClient, onMalformed: (element: XmlElement, err: Error) => void): void {
  const marked = client as XmppClient & { [PATCHED_CLIENT]?: true };
  if (marked[PATCHED_CLIENT]) return;
  if (typeof client._onElement !== "function") {
    return failedOnClient(smInboundPatch, "client._onElement is not a function: stanzas are neither guarded nor counted");
  }
  const original = client._onElement.bind(client);
  marked[PATCHED_CLIENT] = true;
  let inbound: number | undefined; // undefined: xmpp.js counts
  client._onElement = (element: XmlElement) => {
    if (element.is("enabled", NS_SM)) inbound = takeOverInbound(client, () => inbound ?? 0) ? 0 : undefined;
    else if (inbound !== undefined && STANZAS.has(element.name)) inbound += 1;
    try {
      original(element);
    } catch (err) {
      onMalformed(element, err as Error);
    }
  };
}

/** Makes xmpp.js read `count` as `sm.inbound` and ignore its own writes; false if the fix does not apply. */
function takeOverInbound(client: XmppClient, count: () => number): boolean {
  if (!switches.countInbound) return false;
  const sm = client.streamManagement as unknown as object;
  if (countedStreams.has(sm)) return true;
  const own = Object.getOwnPropertyDescriptor(sm, "inbound");
  if (typeof own?.value !== "number" || !own.configurable) {
    failedOnClient(smInboundPatch, "this client's streamManagement.inbound is not a plain number property: xmpp.js keeps counting");
    return false;
  }
  Object.defineProperty(sm, "inbound", { get: count, set: () => {}, configurable: true });
  countedStreams.add(sm);
  return true;
}

/** After a disconnect: if the stream cannot be resumed, its unacknowledged stanzas are reported failed and dropped. */
export function dropUnresumableQueue(client: XmppClient): void {
  if (!switches.dropUnresumableQueue) return;
  const sm = smOf(client);
  if (!Array.isArray(sm.outbound_q)) return failedOnClient(smQueuePatch, "this client's streamManagement.outbound_q is not an array");
  if (sm.id || sm.outbound_q.length === 0) return;
  for (const item of sm.outbound_q.splice(0)) sm.emit("fail", item.stanza);
  sm.outbound = 0;
}

// ---------------------------------------------------------------------------------------------
// Probe clients: real xmpp.js clients that never connect; a probe feeds them the server's side.

/** A client that never connects: no reconnect, no ack timers, errors swallowed. */
export function probeClient(create: ClientFactory, credentials?: XmppCredentials): XmppClient {
  const client = create({ service: `xmpp://${PROBE_DOMAIN}`, domain: PROBE_DOMAIN, credentials });
  client.reconnect.stop();
  client.on("error", () => {});
  Object.assign(client.streamManagement, { requestAckInterval: 0, timeout: 0 });
  return client;
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

/** sasl-scram-sha-1's lib/bitops.js, if its Mechanism is the SCRAM-SHA-1 that @xmpp/client registers. */
function scramTarget(create: ClientFactory): Bitops {
  const from = ["@xmpp/client", "@xmpp/sasl-scram-sha-1"];
  if (here(resolveAlong(from, "sasl-scram-sha-1")) !== saslTarget(create).mechanisms["SCRAM-SHA-1"]) {
    throw new Error("the SCRAM-SHA-1 mechanism @xmpp/client registers is not sasl-scram-sha-1's");
  }
  return here(resolveAlong(from, "sasl-scram-sha-1/lib/bitops.js")) as Bitops;
}

/** Binds, enables stream management, then counts: a <message/> read with <enabled/>, and an iq result. */
async function countInbound(client: XmppClient): Promise<{ afterEnabled: number; afterIqResult: number }> {
  const sm = smOf(client);
  const enabled = new Promise<void>((resolve) => {
    client.send = (element) => {
      if (element.is("iq") && element.getChild("bind", NS_BIND)) {
        const jid = xml("jid", {}, `probe@${PROBE_DOMAIN}/probe`);
        serverSends(client, xml("iq", { type: "result", id: element.attrs.id }, xml("bind", { xmlns: NS_BIND }, jid)));
      } else if (element.is("enable", NS_SM)) {
        serverSends(client, xml("enabled", { xmlns: NS_SM, id: "probe", resume: "true" }), xml("message", { from: PROBE_DOMAIN }));
        resolve();
      } else if (element.is("iq") && element.attrs.type === "get") {
        serverSends(client, xml("iq", { type: "result", id: element.attrs.id, from: PROBE_DOMAIN }));
      }
      return Promise.resolve();
    };
  });
  client._onElement(features(xml("bind", { xmlns: NS_BIND }), xml("sm", { xmlns: NS_SM })));
  await withTimeout(enabled, "stream negotiation sent no <enable/>");
  await nextTurn();
  const afterEnabled = sm.inbound;
  await client.iqCaller.request(xml("iq", { type: "get", to: PROBE_DOMAIN }, xml("ping", { xmlns: "urn:xmpp:ping" })), PROBE_TIMEOUT);
  await nextTurn();
  return { afterEnabled, afterIqResult: sm.inbound };
}

const features = (...children: XmlElement[]) => xml("stream:features", { "xmlns:stream": NS_STREAM }, ...children);

/** Elements the server sends in one read: handled one after the other, in the same turn. */
function serverSends(client: XmppClient, ...elements: XmlElement[]): void {
  queueMicrotask(() => {
    for (const element of elements) client._onElement(element);
  });
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${PROBE_TIMEOUT} ms`)), PROBE_TIMEOUT);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Finding the installed modules the way xmpp.js finds them (not from roster-bot, which depends on
// @xmpp/client only: under pnpm its dependencies are not visible from here).

const here = createRequire(import.meta.url);

/** Resolves `request` from the package reached by `chain`, each a dependency of the one before. */
function resolveAlong(chain: string[], request: string): string {
  let from = here;
  for (const name of chain) from = createRequire(from.resolve(`${name}/package.json`));
  return from.resolve(request);
}

function installedVersion(chain: string[]): string {
  try {
    const pkg = resolveAlong(chain.slice(0, -1), `${chain.at(-1)}/package.json`);
    return (here(pkg) as { version?: string }).version ?? "unknown";
  } catch {
    return "not found";
  }
}
