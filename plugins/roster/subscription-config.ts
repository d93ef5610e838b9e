/** The `subscriptions:` section of the roster plugin's config. */
import { z } from "zod";
import { duration, rate } from "../../bots/config/units.ts";
import { SubscriptionAction, SubscriptionRules } from "./policy/match-schema.ts";

export const subscriptionsSchema = z
  .object({
    default: SubscriptionAction.default("reject").describe(
      "What happens when no rule and no plugin decides (fail closed: reject unless you mean otherwise)",
    ),
    rules: SubscriptionRules.default([]).describe("Rules in order; the first whose match fits decides"),
    rateLimit: z
      .object({
        perDomain: rate().optional().describe('Requests allowed per sender domain, e.g. "20/min"'),
        total: rate().optional().describe('Requests allowed in total, e.g. "200/min"'),
        over: SubscriptionAction.default("ignore").describe("Action for requests over a limit (ignore: asked again at next login)"),
      })
      .strict()
      .optional()
      .describe("Token buckets per sender domain and in total, checked before any rule"),
    onUnsubscribe: z
      .enum(["keep", "remove"])
      .default("keep")
      .describe("When a contact cancels their subscription to us: keep the contact, or remove it from the roster"),
    hookTimeout: duration().default(5_000).describe("How long a plugin's decision tap may take before it counts as no answer"),
  })
  .strict()
  .default({ default: "reject", rules: [], onUnsubscribe: "keep", hookTimeout: 5_000 })
  .describe("How inbound subscription requests are answered");

export type SubscriptionsConfig = z.output<typeof subscriptionsSchema>;
