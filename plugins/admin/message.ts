/**
 * Which messages are commands, and the shape of a reply (pure). A command is a `chat` or `normal`
 * message with a body from a user JID other than the bot's own account. Everything else (errors,
 * groupchat, headlines, chat states, domain JIDs, the bot's other resources and carbons) is ignored,
 * so two bots can never keep answering each other's errors or replies.
 */
import { parseJid, xml, type XmlElement } from "../../index.ts";

export interface IncomingCommand {
  /** The sender's full JID as received (replies go here). */
  from: string;
  /** The sender's normalized bare JID (what is authorized). */
  sender: string;
  body: string;
  /** The conversation thread, echoed in the reply. */
  thread: string | undefined;
}

export function readCommandMessage(stanza: XmlElement, account: string): IncomingCommand | undefined {
  if (stanza.name !== "message") return undefined;
  const type = stanza.attrs.type ?? "normal";
  if (type !== "chat" && type !== "normal") return undefined;
  const from = stanza.attrs.from;
  if (typeof from !== "string") return undefined;
  let sender: string;
  try {
    const jid = parseJid(from);
    if (jid.local === "") return undefined;
    sender = jid.bare;
  } catch {
    return undefined;
  }
  if (sender === account) return undefined;
  const body = stanza.getChildText("body");
  if (body === null || body.trim() === "") return undefined;
  const thread = stanza.getChildText("thread") ?? undefined;
  return { from, sender, body, thread: thread || undefined };
}

export function chatMessage(to: string, text: string, thread?: string): XmlElement {
  return xml("message", { to, type: "chat" }, xml("body", {}, text), ...(thread ? [xml("thread", {}, thread)] : []));
}
