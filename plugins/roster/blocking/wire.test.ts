import { describe, expect, it } from "vitest";
import { xml } from "../../../bots/xmpp.ts";
import { blockSet, NS_BLOCKING, readItems, unblockSet, validateBlocklistPush } from "./wire.ts";

const ACCOUNT = "bot@a.test";
const push = (from: string | undefined, op: "block" | "unblock", ...jids: string[]) => {
  const payload = xml(op, { xmlns: NS_BLOCKING }, ...jids.map((jid) => xml("item", { jid })));
  return [xml("iq", { type: "set", from, id: "p" }, payload), payload] as const;
};

describe("blocklist pushes", () => {
  it("are taken from the account only: no from (Prosody) or its bare JID (ejabberd)", () => {
    expect(validateBlocklistPush(...push(undefined, "block", "x@b.test"), ACCOUNT)).toMatchObject({ ok: true, op: "block", items: [{ jid: "x@b.test" }] });
    expect(validateBlocklistPush(...push("BOT@A.test", "block", "x@b.test"), ACCOUNT)).toMatchObject({ ok: true });
  });

  it("from anyone else (another account, the server, another resource's full JID) are refused as spoofed", () => {
    for (const from of ["mallory@b.test", "a.test", "bot@a.test/other", "not a jid@@"]) {
      expect(validateBlocklistPush(...push(from, "block", "x@b.test"), ACCOUNT)).toMatchObject({ ok: false, condition: "service-unavailable", security: true });
    }
  });

  it("a <block/> without items is a bad request; an <unblock/> without items empties the list", () => {
    expect(validateBlocklistPush(...push(undefined, "block"), ACCOUNT)).toMatchObject({ ok: false, condition: "bad-request", security: false });
    expect(validateBlocklistPush(...push(undefined, "unblock"), ACCOUNT)).toEqual({ ok: true, op: "unblock", items: [], all: true });
    expect(validateBlocklistPush(...push(undefined, "unblock", "x@b.test"), ACCOUNT)).toMatchObject({ ok: true, all: false });
  });
});

describe("blocklist items", () => {
  it("are keyed by their normal form and keep the server's spelling", () => {
    const list = xml("blocklist", { xmlns: NS_BLOCKING }, xml("item", { jid: "Spam@B.test" }), xml("item", { jid: "xn--bcher-kva.example" }), xml("item", { jid: "x@c.test/res" }));
    expect(readItems(list)).toEqual([
      { jid: "spam@b.test", raw: "Spam@B.test" },
      { jid: "bücher.example", raw: "xn--bcher-kva.example" },
      { jid: "x@c.test/res", raw: "x@c.test/res" },
    ]);
  });

  it("one that is not a JID keeps its text as its key", () => {
    expect(readItems(xml("blocklist", {}, xml("item", { jid: "a@@b" }), xml("item", {})))).toEqual([{ jid: "a@@b", raw: "a@@b" }]);
  });

  it("block and unblock sets name the entries as given", () => {
    expect(blockSet("xn--bcher-kva.example").toString()).toBe('<iq type="set"><block xmlns="urn:xmpp:blocking"><item jid="xn--bcher-kva.example"/></block></iq>');
    expect(unblockSet(["a@b.test", "c.test"]).toString()).toBe('<iq type="set"><unblock xmlns="urn:xmpp:blocking"><item jid="a@b.test"/><item jid="c.test"/></unblock></iq>');
  });
});
