import { describe, expect, it } from "vitest";
import { isListed, parseAllowlist } from "./allowlist.ts";

describe("allowlist file", () => {
  it("normalizes entries and matches JIDs and exact domains", () => {
    const list = parseAllowlist(JSON.stringify({ jids: ["Alice@Example.ORG"], domains: ["Partner.test"] }));
    expect(isListed(list, "alice@example.org")).toBe(true);
    expect(isListed(list, "bob@example.org")).toBe(false);
    expect(isListed(list, "anyone@partner.test")).toBe(true);
    expect(isListed(list, "anyone@sub.partner.test")).toBe(false);
  });

  it("both keys are optional", () => {
    expect(parseAllowlist("{}")).toEqual({ jids: new Set(), domains: new Set() });
  });

  it("names what is wrong", () => {
    expect(() => parseAllowlist("{")).toThrow(/not valid JSON/);
    expect(() => parseAllowlist('["a@b"]')).toThrow(/file: /);
    expect(() => parseAllowlist('{ "jids": ["a@b/phone"] }')).toThrow('jids: "a@b/phone" is not a bare JID');
    expect(() => parseAllowlist('{ "jids": ["example.org"] }')).toThrow(/not a bare JID/);
    expect(() => parseAllowlist('{ "domains": ["a@b"] }')).toThrow('domains: "a@b" is not a domain');
    expect(() => parseAllowlist('{ "people": [] }')).toThrow(/people/);
  });
});
