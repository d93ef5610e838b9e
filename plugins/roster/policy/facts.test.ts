import { describe, expect, it } from "vitest";
import { JidError } from "../../../bots/jid.ts";
import { factsFor } from "./facts.ts";

describe("factsFor", () => {
  it("splits a bare JID", () => {
    expect(factsFor("alice@example.org")).toEqual({
      jid: "alice@example.org",
      local: "alice",
      domain: "example.org",
    });
  });

  it("gives a domain JID an empty local part", () => {
    expect(factsFor("example.org")).toEqual({
      jid: "example.org",
      local: "",
      domain: "example.org",
    });
  });

  it("normalizes case and Unicode form, and drops a resource", () => {
    const facts = factsFor("Ame\u0301lie@Example.ORG/phone");
    expect(facts.jid).toBe("am\u00e9lie@example.org");
    expect(facts.local).toBe("am\u00e9lie");
  });

  it("copies roster state with NFC group names", () => {
    const facts = factsFor("bob@x.test", { groups: ["Cafe\u0301"], subscription: "both" });
    expect(facts.roster).toEqual({ groups: ["Caf\u00e9"], subscription: "both" });
  });

  it("leaves roster undefined for a contact outside the roster", () => {
    expect(factsFor("bob@x.test").roster).toBeUndefined();
  });

  it("throws JidError for an invalid JID", () => {
    expect(() => factsFor("a b@x.test")).toThrow(JidError);
    expect(() => factsFor("@x.test")).toThrow(JidError);
  });
});
