/** The `subscriptions:` section of the roster plugin's config. */
import { z } from "zod";
import { duration, rate } from "../../bots/config/units.ts";
import { ACTIONS, BlockSettings, SubscriptionAction, SubscriptionRules } from "./policy/match-schema.ts";

/** What happens to a request over a rate limit: an action, or `block` (reject, then block at the server). */
const OverLimit = z
  .enum([...ACTIONS, "block"])
  .describe(
    "Action for requests over a limit (ignore: asked again at next login; block: reject, then block the sender " +
      "at the server with XEP-0191, as set in rateLimit.block, when its domain is over perDomain; over the total " +
      "limit alone, reject)",
  );

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
        over: OverLimit.default("ignore"),
        block: BlockSettings.optional().describe(
          "With over: block, which entry to block and for how long, e.g. { scope: domain, for: 1h } (default: the sender's bare JID, until lifted by hand)",
        ),
      })
      .strict()
      .superRefine((limits, ctx) => {
        if (limits.block !== undefined && limits.over !== "block") {
          ctx.addIssue({ code: "custom", path: ["block"], input: limits.block, message: `rateLimit.block goes only with over: block (over is ${limits.over})` });
        }
        // Only a sender whose own domain is over its limit is blocked: over the total alone, an
        // innocent request that came during someone else's flood would be blocked with it.
        if (limits.over === "block" && limits.perDomain === undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["over"],
            input: limits.over,
            message: "over: block needs perDomain: only a sender whose own domain is over its limit is blocked (over the total limit alone, a request is rejected)",
          });
        }
      })
      .optional()
      .describe("Token buckets per sender domain and in total, checked before any rule"),
    onUnsubscribe: z
      .enum(["keep", "remove"])
      .default("keep")
      .describe("When a contact cancels their subscription to us: keep the contact, or remove it from the roster"),
    tests: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe("Policy test case file(s), relative to this config file: run by `roster-bot test`, `check`, `run` and hot reload"),
    hookTimeout: duration().default(5_000).describe("How long a plugin's decision tap may take before it counts as no answer"),
  })
  .strict()
  .default({ default: "reject", rules: [], onUnsubscribe: "keep", hookTimeout: 5_000 })
  .describe("How inbound subscription requests are answered");

export type SubscriptionsConfig = z.output<typeof subscriptionsSchema>;
