/** Talking to a bot's admin plugin from a test client, and reading the bot's audit trail. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import type { XmlElement } from "../../bots/xmpp.ts";
import { xml, type TestClient } from "../../scripts/xmpp-client.ts";

/** A stanza from any resource of the bot's account. */
export const fromJid = (bare: string) => (s: XmlElement) => (s.attrs.from ?? "").split("/")[0] === bare;

/** The next chat message with a body the bot sends the client. */
export function chatFrom(bot: string, c: TestClient, ms = 5_000): Promise<XmlElement> {
  return c.waitFor((s) => s.name === "message" && fromJid(bot)(s) && s.getChildText("body") !== null, ms);
}

/** Sends a command as a chat message and returns the bot's reply, which must be a chat to the sender's full JID. */
export async function sendCommand(bot: string, c: TestClient, text: string, replyWithinMs = 5_000): Promise<string> {
  const reply = chatFrom(bot, c, replyWithinMs);
  await c.send(xml("message", { to: bot, type: "chat" }, xml("body", {}, text)));
  const stanza = await reply;
  expect(stanza.attrs.type).toBe("chat");
  expect(stanza.attrs.to).toBe(c.fullJid);
  return stanza.getChildText("body")!;
}

/** An audit line of the given kind in the bot's data folder; lines are written a moment later, so wait until one matches. */
export async function auditLineIn(dataDir: string, kind: string, pred: (l: Record<string, unknown>) => boolean, timeoutMs = 3_000): Promise<Record<string, unknown>> {
  const file = path.join(dataDir, "audit.log");
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.endsWith("}")) : [];
    const found = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.kind === kind && pred(l));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching ${kind} audit line; have:\n${lines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
