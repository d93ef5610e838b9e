import { describe, expect, it } from "vitest";
import { capsVer, capsVerificationString } from "./caps.ts";

// XEP-0115 §5.2, "Simple Generation Example".
const EXODUS = {
  identities: [{ category: "client", type: "pc", name: "Exodus 0.9.1" }],
  features: [
    "http://jabber.org/protocol/disco#info",
    "http://jabber.org/protocol/disco#items",
    "http://jabber.org/protocol/muc",
    "http://jabber.org/protocol/caps",
  ],
};

describe("XEP-0115 ver", () => {
  it("matches the specification's simple generation example", () => {
    expect(capsVerificationString(EXODUS.identities, EXODUS.features)).toBe(
      "client/pc//Exodus 0.9.1<http://jabber.org/protocol/caps<http://jabber.org/protocol/disco#info<http://jabber.org/protocol/disco#items<http://jabber.org/protocol/muc<",
    );
    expect(capsVer(EXODUS.identities, EXODUS.features)).toBe("QgayPKawpkPSDYmwT/WM94uAlu0=");
  });

  it("does not depend on the order identities and features are given in", () => {
    expect(capsVer(EXODUS.identities, [...EXODUS.features].reverse())).toBe("QgayPKawpkPSDYmwT/WM94uAlu0=");
    const two = [
      { category: "client", type: "pc", lang: "el", name: "Ψ 0.11" },
      { category: "client", type: "pc", lang: "en", name: "Psi 0.11" },
      { category: "automation", type: "bot", name: "z" },
    ];
    const s = capsVerificationString([...two].reverse(), []);
    expect(s).toBe("automation/bot//z<client/pc/el/Ψ 0.11<client/pc/en/Psi 0.11<");
    expect(capsVer(two, [])).toBe(capsVer([...two].reverse(), []));
  });

  it("hashes values as character data, not XML-escaped, and empty name and lang as empty fields", () => {
    expect(capsVerificationString([{ category: "client", type: "bot", name: "A & <B>" }], ["urn:x"])).toBe("client/bot//A & <B><urn:x<");
    expect(capsVerificationString([{ category: "client", type: "bot" }], [])).toBe("client/bot//<");
  });

  it("sorts by UTF-8 octets (i;octet), not by UTF-16 code units", () => {
    // U+FF21 (one UTF-16 unit, EF BC A1) sorts before U+1F600 (a surrogate pair, F0 9F 98 80) in
    // octets; in UTF-16 units the surrogate D83D sorts first.
    const features = ["urn:\u{1F600}", "urn:\uFF21"];
    expect(capsVerificationString([], features)).toBe("urn:\uFF21<urn:\u{1F600}<");
  });
});
