import { describe, expect, it } from "vitest";
import { memoryLogger } from "../../test/helpers/logger.ts";
import { StanzaRouter } from "../router.ts";
import { xml, type XmlElement } from "../xmpp.ts";
import { EntityInfo, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION } from "./entity-info.ts";
import { answerEntityQueries } from "./responder.ts";

function setup() {
  const router = new StanzaRouter(memoryLogger().logger);
  const info = new EntityInfo({ category: "client", type: "bot", name: "mybot" });
  const undo = answerEntityQueries(router, info, "1.2.3");
  const ask = (payload: XmlElement) => router.routeIq(xml("iq", { type: "get", id: "q1", from: "alice@b.test/x" }, payload), payload);
  return { router, info, undo, ask };
}

const condition = (reply: unknown) => (reply as XmlElement).getChildElements()[0]?.name;

describe("what the host answers a contact's client", () => {
  it("disco#info without a node and with the caps node; an unknown node is item-not-found", async () => {
    const { info, ask } = setup();
    const plain = (await ask(xml("query", { xmlns: NS_DISCO_INFO }))) as XmlElement;
    expect(plain.getChild("identity")!.attrs).toMatchObject({ category: "client", type: "bot", name: "mybot" });
    expect(plain.attrs.node).toBeUndefined();
    const withNode = (await ask(xml("query", { xmlns: NS_DISCO_INFO, node: info.capsNode }))) as XmlElement;
    expect(withNode.attrs.node).toBe(info.capsNode);
    expect(withNode.getChildren("feature").map((f) => f.attrs.var)).toEqual(plain.getChildren("feature").map((f) => f.attrs.var));
    const unknown = (await ask(xml("query", { xmlns: NS_DISCO_INFO, node: `${info.capsNode}x` }))) as XmlElement;
    expect(unknown.name).toBe("error");
    expect(condition(unknown)).toBe("item-not-found");
  });

  it("disco#items empty; ping an empty result; version without os", async () => {
    const { ask } = setup();
    const items = (await ask(xml("query", { xmlns: NS_DISCO_ITEMS }))) as XmlElement;
    expect(items.is("query", NS_DISCO_ITEMS)).toBe(true);
    expect(items.children).toHaveLength(0);
    expect(condition(await ask(xml("query", { xmlns: NS_DISCO_ITEMS, node: "nope" })))).toBe("item-not-found");
    expect(await ask(xml("ping", { xmlns: NS_PING }))).toBe(true);
    const version = (await ask(xml("query", { xmlns: NS_VERSION }))) as XmlElement;
    expect(version.getChildText("name")).toBe("roster-bot");
    expect(version.getChildText("version")).toBe("1.2.3");
    expect(version.getChild("os")).toBeUndefined();
  });

  it("keeps plugins from taking these over, and says where features go instead", () => {
    const { router, undo, ask } = setup();
    expect(() => router.onIq("get", NS_DISCO_INFO, "query", "myplugin", () => true)).toThrow(
      'iq get <query xmlns="http://jabber.org/protocol/disco#info"/> is already handled by roster-bot itself (a plugin adds disco features with ctx.disco)',
    );
    undo();
    return expect(ask(xml("ping", { xmlns: NS_PING }))).resolves.toBeUndefined();
  });
});
