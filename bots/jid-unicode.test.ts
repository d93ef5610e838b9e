/**
 * Bad input (issue #7): Unicode look-alikes and width forms in JIDs. Rules, admin commands and held
 * requests come from people, so the bot must normalize as the server does: width forms are the same
 * JID (RFC 7622 width mapping), letters from another script (Cyrillic "а", Greek "ο") are not.
 */
import { describe, expect, it } from "vitest";
import { bareJid, JidError, parseJid } from "./jid.ts";

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
