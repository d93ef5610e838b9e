/**
 * Example plugin: a welcome chat message to every contact let in, i.e. every decision that sent
 * `subscribed` (accept and mutual), whether by the rules, another plugin or an admin. Counts them
 * in a metric of its own (served on /metrics when the config has an `http` section).
 *
 *   plugins:
 *     roster: { ... }
 *     ./examples/welcome-plugin/index.ts:
 *       text: "Hello {jid}, welcome! Send me a message any time."
 */
import { definePlugin, xml, z, type RosterService, type SubscriptionDecision } from "roster-bot";

export const welcomeConfigSchema = z
  .object({
    text: z
      .string()
      .min(1)
      .max(2_000)
      .default("Welcome! You can now see when I am online.")
      .describe("The welcome message; {jid} is replaced by the contact's bare JID"),
  })
  .strict()
  .describe("Example: a welcome chat message for every accepted contact");

type WelcomeConfig = z.output<typeof welcomeConfigSchema>;

export function welcomeText(config: WelcomeConfig, jid: string): string {
  return config.text.replaceAll("{jid}", jid);
}

export function isWelcome(d: SubscriptionDecision): boolean {
  return d.sent.includes("subscribed");
}

export default definePlugin({
  name: "welcome",
  dependencies: ["roster"],
  config: welcomeConfigSchema,
  apply(ctx, config) {
    const roster: RosterService = ctx.use("roster");
    let current = config;
    // Registered through the context: labelled with this bot, removed when the plugin stops.
    const welcomes = ctx.metrics.counter({ name: "roster_bot_welcome_messages_total", help: "Welcome messages sent to contacts let in" });
    ctx.onReload((next) => {
      current = next;
    });
    ctx.tap(roster.hooks.subscriptionDecided, async (d) => {
      if (!isWelcome(d)) return;
      await ctx.send(xml("message", { to: d.jid, type: "chat" }, xml("body", {}, welcomeText(current, d.jid))));
      welcomes.inc();
      ctx.logger.info({ jid: d.jid }, "welcome sent");
    });
  },
});
