import { describe, expect, it } from "vitest";
import { xml } from "../xmpp.ts";
import { capsVer } from "./caps.ts";
import { CAPS_NODE, EntityInfo, NS_DISCO_INFO } from "./entity-info.ts";

const bot = () => new EntityInfo({ category: "client", type: "bot", name: "mybot" });

describe("EntityInfo", () => {
  it("starts with the host's identity and the four features it answers", () => {
    const info = bot();
    expect(info.identityList()).toEqual([{ category: "client", type: "bot", name: "mybot" }]);
    expect(info.featureList().sort()).toEqual([
      "http://jabber.org/protocol/caps",
      "http://jabber.org/protocol/disco#info",
      "jabber:iq:version",
      "urn:xmpp:ping",
    ]);
    expect(info.ver).toBe(capsVer(info.identityList(), info.featureList()));
    expect(info.capsNode).toBe(`${CAPS_NODE}#${info.ver}`);
  });

  it("changes ver when a feature is added and back when the last adder removes it; listeners hear real changes only", () => {
    const info = bot();
    const changes: string[] = [];
    info.onChange(() => changes.push(info.ver));
    const before = info.ver;
    const undoA = info.addFeature("urn:example:a");
    const undoB = info.addFeature("urn:example:a");
    expect(changes).toHaveLength(1);
    expect(info.ver).not.toBe(before);
    undoA();
    undoA(); // twice is once
    expect(info.featureList()).toContain("urn:example:a");
    undoB();
    expect(info.featureList()).not.toContain("urn:example:a");
    expect(info.ver).toBe(before);
    expect(changes).toEqual([changes[0], before]);
  });

  it("refuses an empty feature and a second identity of the same category/type/lang with another name", () => {
    const info = bot();
    expect(() => info.addFeature("")).toThrow(/non-empty/);
    expect(() => info.addFeature(" urn:x")).toThrow(/surrounding spaces/);
    expect(() => info.addIdentity({ category: "client", type: "bot", name: "other" })).toThrow(/already exists/);
    expect(() => info.addIdentity({ category: "", type: "bot" })).toThrow(/category/);
    const undo = info.addIdentity({ category: "client", type: "bot", name: "other", lang: "de" });
    expect(info.identityList()).toHaveLength(2);
    undo();
    expect(info.identityList()).toHaveLength(1);
  });

  // The wire round trip (XML escaping of `&` and `<`) is checked in test/integration/entity.test.ts.
  it("answers disco#info whose identities and features hash to its ver", () => {
    const info = new EntityInfo({ category: "client", type: "bot", name: "Tom & <Jerry>" });
    info.addIdentity({ category: "automation", type: "command-list", name: "Befehle", lang: "de" });
    info.addFeature("urn:example:x");
    const wire = info.discoInfo(info.capsNode);
    expect(wire.attrs.xmlns).toBe(NS_DISCO_INFO);
    expect(wire.attrs.node).toBe(info.capsNode);
    const identities = wire.getChildren("identity").map((i) => ({
      category: i.attrs.category!,
      type: i.attrs.type!,
      name: i.attrs.name,
      lang: i.attrs["xml:lang"],
    }));
    expect(identities).toContainEqual({ category: "client", type: "bot", name: "Tom & <Jerry>", lang: undefined });
    const features = wire.getChildren("feature").map((f) => f.attrs.var!);
    expect(capsVer(identities, features)).toBe(info.ver);
  });

  it("puts its caps in a copy of a presence, replacing any caps it had", () => {
    const info = bot();
    const presence = xml("presence", {}, xml("show", {}, "away"), xml("c", { xmlns: "http://jabber.org/protocol/caps", hash: "sha-1", node: "x", ver: "old" }));
    const out = info.withCaps(presence);
    const caps = out.getChildren("c", "http://jabber.org/protocol/caps");
    expect(caps).toHaveLength(1);
    expect(caps[0]!.attrs).toMatchObject({ hash: "sha-1", node: CAPS_NODE, ver: info.ver });
    expect(out.getChildText("show")).toBe("away");
    expect(presence.getChild("c", "http://jabber.org/protocol/caps")!.attrs.ver).toBe("old");
  });
});
