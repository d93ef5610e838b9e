/** The admin plugin's section of bot.config.yaml. */
import { parseJid, z } from "../../index.ts";

function isBareJid(value: string): boolean {
  try {
    const jid = parseJid(value);
    return jid.local !== "" && jid.resource === "";
  } catch {
    return false;
  }
}

export const adminConfigSchema = z
  .object({
    admins: z
      .array(z.string().refine(isBareJid, { message: "expected a bare JID such as admin@example.org (no resource)" }))
      .min(1, "name at least one admin")
      .describe("Bare JIDs allowed to send commands (compared normalized: case and Unicode form do not matter)"),
    notifyOnAsk: z
      .boolean()
      .default(true)
      .describe("Send every admin a chat message when a subscription request is held by the `ask` action"),
  })
  .strict()
  .describe("Chat commands for admins: pending requests, approve/deny, grant, explain, roster, group sync, stats");

export type AdminConfig = z.output<typeof adminConfigSchema>;
