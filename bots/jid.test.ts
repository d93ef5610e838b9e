import { describe, expect, it } from "vitest";
import { bareJid, domainOf, JidError, MAX_PART_OCTETS, parseJid } from "./jid.ts";

describe("parseJid", () => {
  it("splits local part, domain and resource", () => {
    expect(parseJid("alice@example.org/phone")).toEqual({
      local: "alice",
      domain: "example.org",
      resource: "phone",
      bare: "alice@example.org",
      full: "alice@example.org/phone",
    });
    expect(parseJid("example.org")).toEqual({ local: "", domain: "example.org", resource: "", bare: "example.org", full: "example.org" });
    expect(parseJid("example.org/res")).toMatchObject({ local: "", bare: "example.org", full: "example.org/res" });
  });

  it("lower-cases local part and domain but keeps the resource's case", () => {
    expect(parseJid("Alice@Example.ORG/Phone")).toMatchObject({ bare: "alice@example.org", resource: "Phone" });
    expect(parseJid("ÄLICE@EXAMPLE.ORG").local).toBe("älice");
  });

  it("normalizes to Unicode NFC", () => {
    const decomposed = "jose\u0301@example.org/cafe\u0301"; // e + combining acute
    const composed = "jos\u00e9@example.org/caf\u00e9";
    expect(parseJid(decomposed).full).toBe(composed);
    expect(parseJid(decomposed).bare).toBe(parseJid(composed).bare);
    expect(parseJid("x@exa\u0301mple.org").domain).toBe("ex\u00e1mple.org");
  });

  it("drops a trailing dot of the domain", () => {
    expect(parseJid("bob@example.org.").bare).toBe("bob@example.org");
    expect(parseJid("example.org./r").full).toBe("example.org/r");
  });

  it("splits at the first slash, so a resource may hold '@' and '/'", () => {
    expect(parseJid("a@b.org/x@y/z")).toMatchObject({ bare: "a@b.org", resource: "x@y/z" });
  });

  it("accepts each part up to 1023 octets, counted in UTF-8", () => {
    expect(MAX_PART_OCTETS).toBe(1023);
    const local = "a".repeat(1023);
    expect(parseJid(`${local}@x.org`).local).toBe(local);
    const resource = "r".repeat(1023);
    expect(parseJid(`x@x.org/${resource}`).resource).toBe(resource);
    const domain = `${"d".repeat(1019)}.org`;
    expect(parseJid(`x@${domain}`).domain).toBe(domain);
    // 341 three-octet characters = 1023 octets.
    expect(parseJid(`${"€".repeat(341)}@x.org`).local).toHaveLength(341);
  });

  it.each([
    ["local part", `${"a".repeat(1024)}@x.org`],
    ["local part", `${"€".repeat(342)}@x.org`], // 1026 octets in 342 characters
    ["domain", `x@${"d".repeat(1020)}.org`],
    ["resource", `x@x.org/${"r".repeat(1024)}`],
    ["resource", `x@x.org/${"é".repeat(512)}`], // 1024 octets
  ])("refuses a %s over 1023 octets", (what, input) => {
    expect(() => parseJid(input)).toThrow(new RegExp(`${what} of JID is over 1023 octets`));
  });

  it("refuses hostile, very long input before normalizing it", () => {
    const err = (() => {
      try {
        parseJid("a".repeat(10_000));
      } catch (e) {
        return e as JidError;
      }
    })();
    expect(err).toBeInstanceOf(JidError);
    expect(err!.message).toBe("JID is too long");
    expect(err!.input.length).toBeLessThan(100);
  });

  it.each([
    ["empty domain in JID", "alice@"],
    ["empty domain in JID", ""],
    ["empty domain in JID", "@"],
    ["empty local part in JID", "@example.org"],
    ["empty resource in JID", "alice@example.org/"],
    ["domain of JID holds a forbidden character", "alice@exa mple.org"],
    ["domain of JID holds a forbidden character", "alice@exa<mple.org"],
    ["domain of JID holds a forbidden character", "alice@.example.org"],
    ["domain of JID holds a forbidden character", "alice@example..org"],
    ["local part of JID holds a forbidden character", "al ice@example.org"],
    ["local part of JID holds a forbidden character", 'al"ice@example.org'],
    ["local part of JID holds a forbidden character", "al&ice@example.org"],
    ["local part of JID holds a forbidden character", "al'ice@example.org"],
    ["local part of JID holds a forbidden character", "al:ice@example.org"],
    ["local part of JID holds a forbidden character", "al<ice>@example.org"],
    ["local part of JID holds a forbidden character", "a@b@example.org"],
    ["local part of JID holds a forbidden character", "al\u0000ice@example.org"],
    ["resource of JID holds a control character", "alice@example.org/ph\u0007one"],
  ])("refuses with %j: %j", (message, input) => {
    expect(() => parseJid(input)).toThrow(message);
    expect(() => parseJid(input)).toThrow(JidError);
  });

  it("allows spaces in a resource", () => {
    expect(parseJid("a@b.org/my phone").resource).toBe("my phone");
  });
});

describe("bareJid and domainOf", () => {
  it("returns the normalized bare JID or undefined", () => {
    expect(bareJid("Bob@Example.org/Res")).toBe("bob@example.org");
    expect(bareJid("not valid@x")).toBeUndefined();
    expect(bareJid(undefined)).toBeUndefined();
    expect(bareJid(null)).toBeUndefined();
    expect(bareJid("")).toBeUndefined();
  });

  it("takes the domain of a normalized JID", () => {
    expect(domainOf("bob@example.org")).toBe("example.org");
    expect(domainOf("example.org")).toBe("example.org");
  });
});
