/**
 * Answers what every client asks a contact (through the same router plugins use, so no plugin can
 * take these over by accident): XEP-0030 disco#info and disco#items, XEP-0199 ping, XEP-0092
 * version. The version reply names roster-bot and its version only: `os` is left out so that a
 * contact does not learn the host's operating system.
 */
import { xml, type XmlElement } from "../xmpp.ts";
import { HOST_OWNER, type IqReply, type StanzaRouter } from "../router.ts";
import { type EntityInfo, NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VERSION } from "./entity-info.ts";

const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";

function itemNotFound(): XmlElement {
  return xml("error", { type: "cancel" }, xml("item-not-found", { xmlns: NS_STANZAS }));
}

/** A query's node is absent or the current caps node; any other node is unknown. */
function knownNode(info: EntityInfo, node: string | undefined): boolean {
  return node === undefined || node === info.capsNode;
}

export function answerEntityQueries(router: StanzaRouter, info: EntityInfo, version: string): () => void {
  const undo = [
    router.onIq("get", NS_DISCO_INFO, "query", HOST_OWNER, (_stanza, query): IqReply => {
      const node = query.attrs.node;
      return knownNode(info, node) ? info.discoInfo(node) : itemNotFound();
    }),
    router.onIq("get", NS_DISCO_ITEMS, "query", HOST_OWNER, (_stanza, query): IqReply => {
      const node = query.attrs.node;
      return knownNode(info, node) ? xml("query", { xmlns: NS_DISCO_ITEMS, node }) : itemNotFound();
    }),
    router.onIq("get", NS_PING, "ping", HOST_OWNER, (): IqReply => true),
    router.onIq("get", NS_VERSION, "query", HOST_OWNER, (): IqReply =>
      xml("query", { xmlns: NS_VERSION }, xml("name", {}, "roster-bot"), xml("version", {}, version)),
    ),
  ];
  return () => undo.forEach((fn) => fn());
}
