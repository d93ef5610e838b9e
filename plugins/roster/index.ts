/**
 * The roster plugin: an exact RFC 6121 roster copy offered to other plugins as the `roster` service.
 */
import { definePlugin } from "../../bots/plugin.ts";
import { rosterConfigSchema } from "./config.ts";
import { RosterClient } from "./roster-client.ts";

export default definePlugin({
  name: "roster",
  config: rosterConfigSchema,
  apply(ctx, config) {
    const roster = new RosterClient(ctx, { limits: config.limits, cache: config.cache, pushWaitMs: 5_000 });
    ctx.provide("roster", roster);
  },
});
