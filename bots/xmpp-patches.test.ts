/**
 * The fixes for xmpp.js. Against the installed xmpp.js each must find its bug and apply (if one does
 * not after an upgrade, revisit it). Against simulated upstream code they must stand back: logged at
 * info when upstream fixed the bug, at error when the code is not what they were written for.
 */
import { pbkdf2Sync } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { createClient, xmppPatches } from "./xmpp-client.ts";
import {
  dropUnresumableQueue,
  patchClient,
  probeClient,
  runPatch,
  saslFirstResponse,
  saslTarget,
  scramPbkdf2Patch,
  smInboundPatch,
  smQueuePatch,
  utf8SaslPatch,
  xmppPatchStatus,
  type Bitops,
  type PatchLogger,
  type SaslTarget,
  type SmTarget,
} from "./xmpp-patches/index.ts";
import { xml, type XmlElement, type XmppClient } from "./xmpp.ts";

const require = createRequire(import.meta.url);
// Nothing is patched at import: this is sasl-scram-sha-1's own Hi().
const bitops = require("sasl-scram-sha-1/lib/bitops.js") as { Hi: (text: string, salt: Uint8Array, iterations: number) => Promise<Uint8Array> };
const originalHi = bitops.Hi;

function captureLog() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_fields: object, msg: string) => void lines.push({ level, msg });
  const logger: PatchLogger = { debug: at("debug"), info: at("info"), error: at("error") };
  return { lines, logger, above: (level: "debug" | "info") => lines.filter((l) => (level === "debug" ? l.level !== "debug" : l.level === "error")) };
}

/** The log of the verification createClient() runs (this file's first call sets it). */
const startup = captureLog();

const utf8 = (text: string) => Buffer.from(text, "utf8");
const fromBase64 = (b64: string) => Buffer.from(b64, "base64");

describe("against the installed xmpp.js (the fixes were written for 0.14.0)", () => {
  it.each(["utf8-sasl", "scram-pbkdf2", "sm-inbound-count", "sm-unresumable-queue"])(
    "%s finds its bug and is applied (when not after an upgrade: revisit this fix)",
    async (name) => {
      const status = (await xmppPatches(startup.logger)).find((s) => s.name === name);
      expect(status, `${name} did not run`).toBeDefined();
      expect(status!.outcome, `${name}: ${status!.detail} (installed: ${status!.installed})`).toBe("applied");
      expect(xmppPatchStatus()).toContainEqual(status);
    },
  );

  it("runs once and logs nothing above debug when every fix applies", async () => {
    const first = await xmppPatches();
    expect(await xmppPatches(captureLog().logger)).toBe(first);
    expect(startup.above("debug")).toEqual([]);
    expect(startup.lines.filter((l) => l.level === "debug")).toHaveLength(4);
  });
});

describe("utf8-sasl", () => {
  it("sends the PLAIN response for é / pässwörd as UTF-8, encoded exactly once", async () => {
    await xmppPatches();
    const sent = fromBase64(await saslFirstResponse(createClient, "PLAIN", { username: "é", password: "pässwörd" }));
    expect(sent).toEqual(utf8("\0é\0pässwörd"));
    expect(sent).not.toEqual(utf8(utf8("\0é\0pässwörd").toString("latin1"))); // what encoding twice would send
  });

  it("sends SCRAM-SHA-1's username escaped and as UTF-8, and names outside Latin-1 do not throw", async () => {
    await xmppPatches();
    const scram = await saslFirstResponse(createClient, "SCRAM-SHA-1", { username: "jörg=1,2", password: "x" });
    expect(fromBase64(scram).toString("utf8")).toMatch(/^n,,n=jörg=3D1=2C2,r=/);
    const plain = await saslFirstResponse(createClient, "PLAIN", { username: "дмитрий", password: "密码-🔑" });
    expect(fromBase64(plain)).toEqual(utf8("\0дмитрий\0密码-🔑"));
  });

  it("applied a second time changes nothing and logs nothing", async () => {
    await xmppPatches();
    const log = captureLog();
    const status = await runPatch(utf8SaslPatch, () => saslTarget(createClient), log.logger);
    expect([status.outcome, status.detail]).toEqual(["applied", "already applied"]);
    expect(log.lines).toEqual([]);
    const sent = fromBase64(await saslFirstResponse(createClient, "PLAIN", { username: "é", password: "é" }));
    expect(sent).toEqual(utf8("\0é\0é"));
  });

  type Cred = { username: string; password: string };
  /** Mechanisms like sasl-plain 0.1.0 and sasl-scram-sha-1 1.4.0: responses as JavaScript strings. */
  const stringMechanisms = () => ({
    PLAIN: class {
      response(cred: Cred): unknown {
        return `\0${cred.username}\0${cred.password}`;
      }
    },
    "SCRAM-SHA-1": class {
      response(cred: Cred): unknown {
        return `n,,n=${cred.username},r=fyko+d2lbbFgONRv9qkxdawL`;
      }
    },
  });
  /** Mechanisms whose responses are already UTF-8 bytes (one character per byte). */
  const utf8Mechanisms = () => ({
    PLAIN: class {
      response(cred: Cred): unknown {
        return utf8(`\0${cred.username}\0${cred.password}`).toString("latin1");
      }
    },
    "SCRAM-SHA-1": class {
      response(cred: Cred): unknown {
        return utf8(`n,,n=${cred.username},r=fyko+d2lbbFgONRv9qkxdawL`).toString("latin1");
      }
    },
  });
  const responseOf = (mechanism: { prototype: object }) => Object.getOwnPropertyDescriptor(mechanism.prototype, "response")?.value as unknown;
  /** A fake client: `encode` applied to the mechanism's response, as @xmpp/sasl does. */
  const fakeTarget = (mechanisms: ReturnType<typeof stringMechanisms>, encode: (text: string) => string): SaslTarget => ({
    mechanisms,
    firstResponse: async (name, cred) => encode((await new mechanisms[name]().response(cred)) as string),
  });
  /** @xmpp/base64's encode() on xmpp.js main since #1122 (commit 7035ced). */
  const encodeOnMain = (text: string) => btoa(String.fromCodePoint(...new TextEncoder().encode(text)));

  it("is not needed, and says so once, when the client already encodes UTF-8 (xmpp.js main, #1122)", async () => {
    const mechanisms = stringMechanisms();
    const response = responseOf(mechanisms.PLAIN);
    const log = captureLog();
    const status = await runPatch(utf8SaslPatch, () => fakeTarget(mechanisms, encodeOnMain), log.logger);
    expect(status.outcome).toBe("not-needed");
    expect(responseOf(mechanisms.PLAIN)).toBe(response); // left alone: no second encoding
    expect(log.lines.map((l) => l.level)).toEqual(["info"]);
    expect(log.lines[0]?.msg).toMatch(/utf8-sasl.*not needed.*#1122.*remove the fix/);
  });

  it("is not needed when the mechanisms already return UTF-8 bytes", async () => {
    const status = await runPatch(utf8SaslPatch, () => fakeTarget(utf8Mechanisms(), btoa), captureLog().logger);
    expect(status.outcome).toBe("not-needed");
  });

  it("applies to Latin-1 mechanisms behind btoa(), after which they send UTF-8, once", async () => {
    const mechanisms = stringMechanisms();
    const target = fakeTarget(mechanisms, btoa);
    expect((await runPatch(utf8SaslPatch, () => target, captureLog().logger)).outcome).toBe("applied");
    expect((await runPatch(utf8SaslPatch, () => target, captureLog().logger)).detail).toBe("already applied");
    expect(fromBase64(await target.firstResponse("PLAIN", { username: "é", password: "pässwörd" }))).toEqual(utf8("\0é\0pässwörd"));
  });

  it("is not applicable, and says so loudly, when the code is not what it was written for", async () => {
    const noResponse = { ...stringMechanisms(), PLAIN: class {} };
    const log = captureLog();
    const status = await runPatch(utf8SaslPatch, () => ({ mechanisms: noResponse, firstResponse: () => Promise.resolve("") }), log.logger);
    expect(status).toMatchObject({ outcome: "not-applicable", detail: "the PLAIN mechanism has no response()" });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.level).toBe("error");
    expect(log.lines[0]!.msg).toMatch(/"utf8-sasl" NOT APPLIED: it was written for @xmpp\/base64@0\.14\.0 .*installed: @xmpp\/sasl@\S+, .*unicode-login/);

    // PLAIN encoded one way and SCRAM-SHA-1 the other: not the bug it knows either.
    const mixed = stringMechanisms();
    const half: SaslTarget = { mechanisms: mixed, firstResponse: async (name, cred) => (name === "PLAIN" ? encodeOnMain : btoa)(await new mixed[name]().response(cred) as string) };
    expect((await runPatch(utf8SaslPatch, () => half, captureLog().logger)).outcome).toBe("not-applicable");
  });
});

describe("scram-pbkdf2", () => {
  it("computes exactly what sasl-scram-sha-1 computed, much faster", async () => {
    await xmppPatches();
    expect(bitops.Hi).not.toBe(originalHi);
    const salt = new Uint8Array([0x41, 0x25, 0xc2, 0x47, 0xe4, 0x3a, 0xb1, 0xe9, 0x3c, 0x6d, 0xff, 0x76]);
    for (const [password, iterations] of [["pencil", 4096], ["pässwörd ✓", 64]] as const) {
      expect(await bitops.Hi(password, salt, iterations)).toEqual(await originalHi(password, salt, iterations));
    }
    const t0 = performance.now();
    await bitops.Hi("pencil", salt, 4096);
    expect(performance.now() - t0).toBeLessThan(100);
  });

  const pbkdf2Hi = (text: string, salt: Uint8Array, iterations: number) => Promise.resolve(new Uint8Array(pbkdf2Sync(text, salt, iterations, 20, "sha1")));

  it("is not needed when Hi() no longer runs an HMAC per iteration", async () => {
    const fast: Bitops = { Hi: pbkdf2Hi, HMAC: () => Promise.reject(new Error("not used")) };
    const log = captureLog();
    expect((await runPatch(scramPbkdf2Patch, () => fast, log.logger)).outcome).toBe("not-needed");
    expect(fast.Hi).toBe(pbkdf2Hi);
    expect(log.lines.map((l) => l.level)).toEqual(["info"]);
  });

  it("is not applicable, loudly, when Hi() has another signature or computes something else", async () => {
    for (const changed of [
      { Hi: (text: string, salt: Uint8Array) => pbkdf2Hi(text, salt, 4096), HMAC: () => {} },
      { Hi: (text: string, salt: Uint8Array, iterations: number) => pbkdf2Hi(text, salt, iterations + 1), HMAC: () => {} },
    ] satisfies Bitops[]) {
      const log = captureLog();
      const status = await runPatch(scramPbkdf2Patch, () => changed, log.logger);
      expect(status.outcome).toBe("not-applicable");
      expect(log.lines.map((l) => l.level)).toEqual(["error"]);
      expect(log.lines[0]?.msg).toMatch(/"scram-pbkdf2" NOT APPLIED: it was written for sasl-scram-sha-1@1\.4\.0 /);
    }
  });
});

describe("stream management", () => {
  const switches = () => ({ countInbound: false, dropUnresumableQueue: false });
  const patched = (): XmppClient => {
    const client = probeClient(createClient);
    patchClient(client, () => {});
    return client;
  };

  it("sm-inbound-count: xmpp.js 0.14.0 miscounts, the patched client counts right (the probe sees no bug)", async () => {
    await xmppPatches();
    const buggy: SmTarget = { newClient: () => probeClient(createClient), switches: switches() };
    const status = await runPatch(smInboundPatch, () => buggy, captureLog().logger);
    expect(status.outcome).toBe("applied");
    expect(status.detail).toMatch(/is 0 after <enabled\/> .* then 0 after an iq result/);
    expect(buggy.switches.countInbound).toBe(true);

    const log = captureLog();
    const fixedStatus = await runPatch(smInboundPatch, () => ({ newClient: patched, switches: switches() }), log.logger);
    expect(fixedStatus.outcome).toBe("not-needed");
    expect(log.lines.map((l) => l.level)).toEqual(["info"]);
  });

  it("sm-inbound-count is not applicable, loudly, when sm.inbound is not a plain number", async () => {
    const newClient = () => {
      const client = probeClient(createClient);
      Object.defineProperty(client.streamManagement, "inbound", { get: () => 0, configurable: true });
      return client;
    };
    const log = captureLog();
    const target = { newClient, switches: switches() };
    expect((await runPatch(smInboundPatch, () => target, log.logger)).outcome).toBe("not-applicable");
    expect(target.switches.countInbound).toBe(false);
    expect(log.lines.map((l) => l.level)).toEqual(["error"]);
    expect(log.lines[0]?.msg).toMatch(/"sm-inbound-count" NOT APPLIED: .*@xmpp\/stream-management@0\.14\.0 .*installed: @xmpp\/stream-management@/);
  });

  it("patchClient() applied twice wraps once, and hands a stanza that makes a listener throw to onMalformed", () => {
    const client = probeClient(createClient);
    const dropped: string[] = [];
    patchClient(client, (element, err) => dropped.push(`${element.name}: ${err.message}`));
    const onElement = () => Object.getOwnPropertyDescriptor(client, "_onElement")?.value as unknown;
    const wrapper = onElement();
    patchClient(client, () => dropped.push("second"));
    expect(onElement()).toBe(wrapper);
    client.on("stanza", () => {
      throw new Error("bad from");
    });
    client._onElement(xml("message", { from: "a@b.test" }));
    expect(dropped).toEqual(["message: bad from"]);
  });

  it("patchClient() drops socket data that arrives after xmpp.js dropped its parser (unpatched, it throws)", () => {
    const bare = probeClient(createClient);
    bare.parser = null;
    expect(() => bare._onData(Buffer.from("<message/>"))).toThrow(/write/);
    const client = probeClient(createClient);
    patchClient(client, () => {});
    client.parser = null;
    expect(() => client._onData(Buffer.from("<message/>"))).not.toThrow();
  });

  it("sm-unresumable-queue: a stream with no id to resume has its queue failed and dropped", async () => {
    await xmppPatches();
    const client = probeClient(createClient);
    const sm = client.streamManagement as unknown as { id: string; outbound: number; outbound_q: { stanza: XmlElement; stamp: string }[] };
    const failed: XmlElement[] = [];
    client.streamManagement.on("fail", (stanza: XmlElement) => failed.push(stanza));
    const stanza = xml("message", { to: "a@b.test" });
    sm.outbound_q.push({ stanza, stamp: "" });
    sm.outbound = 3;
    sm.id = "resumable";
    dropUnresumableQueue(client);
    expect(sm.outbound_q).toHaveLength(1); // a resume will resend it
    sm.id = "";
    dropUnresumableQueue(client);
    expect([failed, sm.outbound_q, sm.outbound]).toEqual([[stanza], [], 0]);
  });

  it("sm-unresumable-queue is not needed when xmpp.js empties the queue itself, not applicable when the queue is gone", async () => {
    const emptiesQueue = () => {
      const client = probeClient(createClient);
      client.on("disconnect", () => (client.streamManagement as unknown as { outbound_q: unknown[] }).outbound_q.splice(0));
      return client;
    };
    expect((await runPatch(smQueuePatch, () => ({ newClient: emptiesQueue, switches: switches() }), captureLog().logger)).outcome).toBe("not-needed");

    const noQueue = () => {
      const client = probeClient(createClient);
      delete (client.streamManagement as unknown as { outbound_q?: unknown }).outbound_q;
      return client;
    };
    const log = captureLog();
    expect((await runPatch(smQueuePatch, () => ({ newClient: noQueue, switches: switches() }), log.logger)).outcome).toBe("not-applicable");
    expect(log.lines.map((l) => l.level)).toEqual(["error"]);
  });

  // Last: it changes the recorded status of sm-inbound-count.
  it("a client whose sm.inbound does not fit is reported not-applicable at its <enabled/>, loudly and once", async () => {
    await xmppPatches();
    for (let i = 0; i < 2; i++) {
      const client = probeClient(createClient);
      Object.defineProperty(client.streamManagement, "inbound", { get: () => 0, configurable: true });
      patchClient(client, () => {});
      client._onElement(xml("enabled", { xmlns: "urn:xmpp:sm:3", id: "x" }));
    }
    expect(xmppPatchStatus().find((s) => s.name === "sm-inbound-count")?.outcome).toBe("not-applicable");
    expect(startup.above("info").map((l) => l.msg)).toEqual([expect.stringMatching(/"sm-inbound-count" NOT APPLIED: .*not a plain number property/)]);
  });
});
