/** The roster plugin's section of bot.config.yaml. */
import { z } from "zod";
import { blockingSchema } from "./blocking/config.ts";
import { groupsSchema } from "./group-sync/config.ts";
import { DEFAULT_LIMITS } from "./item.ts";
import { subscriptionsSchema } from "./subscription-config.ts";

export const limitsSchema = z
  .object({
    maxNameLength: z.number().int().min(1).max(65_536).default(DEFAULT_LIMITS.maxNameLength).describe("Longest contact name sent, in characters"),
    maxGroupLength: z.number().int().min(1).max(65_536).default(DEFAULT_LIMITS.maxGroupLength).describe("Longest group name sent, in characters"),
    maxGroups: z.number().int().min(1).max(10_000).default(DEFAULT_LIMITS.maxGroups).describe("Most groups kept on one contact"),
  })
  .strict()
  .default(DEFAULT_LIMITS);

export const rosterConfigSchema = z
  .object({
    cache: z.boolean().default(true).describe("Keep a versioned copy of the roster in the data directory"),
    limits: limitsSchema,
    subscriptions: subscriptionsSchema,
    groups: groupsSchema,
    blocking: blockingSchema,
  })
  .strict()
  .describe("The roster plugin: roster copy, subscription policy, group sync and blocking at the server");

export type RosterConfig = z.output<typeof rosterConfigSchema>;
