import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { speedUpScram, utf8Sasl } from "./xmpp-patches.ts";

describe("speedUpScram", () => {
  it("computes exactly what sasl-scram-sha-1 computes, much faster", async () => {
    const bitops = createRequire(import.meta.url)("sasl-scram-sha-1/lib/bitops.js") as {
      Hi: (text: string, salt: Uint8Array, iterations: number) => Promise<Uint8Array>;
    };
    const original = bitops.Hi;
    const salt = new Uint8Array([0x41, 0x25, 0xc2, 0x47, 0xe4, 0x3a, 0xb1, 0xe9, 0x3c, 0x6d, 0xff, 0x76]);
    const cases: [string, number][] = [
      ["pencil", 4096],
      ["pässwörd ✓", 64],
    ];
    const expected = await Promise.all(cases.map(([pw, n]) => original(pw, salt, n)));
    try {
      expect(speedUpScram()).toBe(true);
      expect(bitops.Hi).not.toBe(original);
      for (const [i, [pw, n]] of cases.entries()) expect(await bitops.Hi(pw, salt, n)).toEqual(expected[i]);
      const t0 = performance.now();
      await bitops.Hi("pencil", salt, 4096);
      expect(performance.now() - t0).toBeLessThan(100);
    } finally {
      bitops.Hi = original;
    }
  });
});

describe("utf8Sasl", () => {
  type Mechanism = new () => { response(cred: object): unknown; challenge(chal: string): unknown };
  const require = createRequire(import.meta.url);
  const fromBase64 = (b64: string) => Buffer.from(b64, "base64").toString("utf8");

  it("gives PLAIN and SCRAM-SHA-1 responses as UTF-8 bytes, which btoa() then encodes correctly", async () => {
    utf8Sasl();
    expect(utf8Sasl()).toBe(false); // applied once: a second call does not encode twice
    const Plain = require("sasl-plain") as Mechanism;
    const plain = await new Plain().response({ username: "дмитрий", password: "pässwörd 🔑" });
    expect(fromBase64(btoa(plain as string))).toBe("\0дмитрий\0pässwörd 🔑");

    const Scram = require("sasl-scram-sha-1") as Mechanism;
    const scram = await new Scram().response({ username: "jörg=1,2", password: "x" });
    // The username is escaped per RFC 5802 (= and ,) and sent as UTF-8.
    expect(fromBase64(btoa(scram as string))).toMatch(/^n,,n=jörg=3D1=2C2,r=/);
  });
});
