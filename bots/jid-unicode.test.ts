/**
 * Bad input (issue #7): Unicode look-alikes and width forms in JIDs. Rules, admin commands and held
 * requests come from people, so the bot must normalize as the server does: width forms are the same
 * JID (RFC 7622 width mapping), letters from another script (Cyrillic "а", Greek "ο") are not.
 */
import { describe, expect, it } from "vitest";
import { addressOf, bareJid, JidError, parseJid } from "./jid.ts";

const CYRILLIC_A = "\u0430"; // а
const GREEK_OMICRON = "\u03bf"; // ο
const fullwidth = (s: string) => [...s].map((c) => (c >= "!" && c <= "~" ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join("");

describe("look-alikes from other scripts stay other JIDs", () => {
  it("a Cyrillic 'а' in the domain is not the Latin domain", () => {
    const spoof = parseJid(`mallory@p${CYRILLIC_A}rtner.test`);
    expect(spoof.domain).not.toBe("partner.test");
    expect(spoof.domain).toBe(`p${CYRILLIC_A}rtner.test`);
    expect(spoof.bare).not.toBe(parseJid("mallory@partner.test").bare);
  });

  it("a Greek omicron in the local part is not the Latin letter", () => {
    expect(parseJid(`b${GREEK_OMICRON}ss@b.test`).bare).not.toBe("boss@b.test");
  });

  it("case folding does not merge scripts (Cyrillic capital А lower-cases to Cyrillic а)", () => {
    expect(parseJid(`x@P\u0410RTNER.test`).domain).toBe(`p${CYRILLIC_A}rtner.test`);
  });
});

describe("fullwidth and halfwidth forms are the standard characters", () => {
  it("maps a fullwidth local part and domain to ASCII", () => {
    expect(parseJid(`${fullwidth("alice")}@${fullwidth("example.org")}`).bare).toBe("alice@example.org");
    // A fullwidth "@" is not a separator: the whole text is one (invalid) domain.
    expect(() => parseJid(fullwidth("alice@example.org"))).toThrow(JidError);
    expect(parseJid(`${fullwidth("ALICE")}@example.org`).bare).toBe("alice@example.org");
    expect(bareJid(`x@${fullwidth("partner")}.test`)).toBe("x@partner.test");
  });

  it("a fullwidth full stop is a dot (and a trailing one is dropped like an ASCII one)", () => {
    expect(parseJid("x@partner\uff0etest\uff0e").domain).toBe("partner.test");
  });

  it("maps halfwidth katakana to the standard (fullwidth) form", () => {
    expect(parseJid("\uff76\uff80\uff76\uff85@example.org").local).toBe("\u30ab\u30bf\u30ab\u30ca");
  });

  it("a fullwidth '@' or '/' cannot smuggle in a separator: the JID is refused", () => {
    expect(() => parseJid("alice\uff20evil.test@example.org")).toThrow(JidError);
    expect(() => parseJid("alice@example.org\uff0fevil")).toThrow(/domain of JID holds a forbidden character/);
    expect(() => parseJid("alice@exa\u3000mple.org")).toThrow(JidError); // ideographic space
  });

  it("keeps the resource as given (it is opaque)", () => {
    expect(parseJid(`alice@example.org/${fullwidth("Phone")}`).resource).toBe(fullwidth("Phone"));
  });

  it("checks the length of the mapped JID", () => {
    expect(() => parseJid(`${fullwidth("a").repeat(1024)}@x.org`)).toThrow(/local part of JID is over 1023 octets/);
    expect(parseJid(`${fullwidth("a").repeat(1023)}@x.org`).local).toBe("a".repeat(1023));
  });
});

describe("internationalized domains: A-label and U-label are one JID (RFC 7622 §3.2.1)", () => {
  it("converts A-labels to U-labels, in any case", () => {
    expect(parseJid("a@xn--bcher-kva.example").bare).toBe("a@bücher.example");
    expect(parseJid("A@XN--BCHER-KVA.Example/Res").full).toBe("a@bücher.example/Res");
    expect(parseJid("xn--bcher-kva.example").bare).toBe("bücher.example");
    expect(bareJid("a@sub.xn--bcher-kva.example")).toBe(bareJid("a@SUB.BÜCHER.example"));
  });

  it("keeps U-labels (after UTS #46 mapping) and leaves ASCII domains as they are", () => {
    expect(parseJid("a@BÜCHER.example").domain).toBe("bücher.example");
    expect(parseJid("a@xn--55qx5d.cn").domain).toBe("公司.cn");
    expect(parseJid("a@axn--b.example").domain).toBe("axn--b.example"); // "xn--" not at a label's start
    expect(parseJid("a@a_b.example").domain).toBe("a_b.example");
  });

  it("refuses an A-label that is not valid Punycode, naming the reason", () => {
    for (const bad of ["a@xn--zzzz.example", "a@xn--a.example", "a@xn--.example", "a@XN--A-ECP.example"]) {
      expect(() => parseJid(bad)).toThrow(JidError);
      expect(() => parseJid(bad)).toThrow(/not a valid internationalized domain name \(IDNA\)/);
    }
    expect(bareJid("a@xn--zzzz.example")).toBeUndefined();
  });

  it("refuses a non-ASCII domain that IDNA rejects", () => {
    expect(() => parseJid("a@bü%cher.example")).toThrow(/not a valid internationalized domain name/);
  });
});

describe("addressOf: where an answer goes", () => {
  it("keeps A-labels when the peer wrote them (a server keeps a host in its own spelling)", () => {
    expect(addressOf("A@XN--BCHER-KVA.example/phone")).toBe("a@xn--bcher-kva.example");
    expect(addressOf("xn--bcher-kva.example")).toBe("xn--bcher-kva.example");
  });

  it("is the normal form otherwise", () => {
    expect(addressOf("a@BÜCHER.example/phone")).toBe("a@bücher.example");
    expect(addressOf(`${fullwidth("many")}@example.org`)).toBe("many@example.org");
    expect(() => addressOf("a@xn--zzzz.example")).toThrow(JidError);
  });
});
