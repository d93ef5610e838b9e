/**
 * Example plugin: accept subscription requests from a JSON allowlist BEFORE the YAML rules run (a
 * negative order on the `subscriptionRequest` decide hook). Returning undefined passes a request on
 * to the rules and the default.
 *
 *   plugins:
 *     roster: { subscriptions: { default: reject } }
 *     ./examples/allowlist-plugin/index.ts:       # relative to the config file's folder
 *       file: ./allowlist.json                    # relative to the config file's folder too
 *
 * The file is re-read when it changes and on reload. A broken file keeps the previous list; at
 * startup, `check` reports it as a config error.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { definePlugin, watchFile, z, type RosterService, type SubscriptionAnswer } from "roster-bot";
import { isListed, parseAllowlist, type Allowlist } from "./allowlist.ts";

export const allowlistConfigSchema = z
  .object({
    file: z.string().min(1).describe('The JSON allowlist ({ "jids": [...], "domains": [...] }), relative to the config file\'s folder'),
    action: z.enum(["accept", "mutual"]).default("accept").describe("What a listed contact gets: accept, or mutual (subscribe back too)"),
    order: z
      .number()
      .int()
      .max(-1, "must be negative: the YAML rules are at order 0 and this list answers before them")
      .default(-10)
      .describe("Position on the subscriptionRequest hook (negative: before the YAML rules)"),
  })
  .strict()
  .describe("Example: accept requests from a JSON allowlist before the YAML rules run");

function load(file: string): Allowlist {
  return parseAllowlist(readFileSync(file, "utf8"));
}

export default definePlugin({
  name: "allowlist",
  dependencies: ["roster"],
  config: allowlistConfigSchema,
  check(config, { configDir }) {
    const file = path.resolve(configDir, config.file);
    try {
      load(file);
      return [];
    } catch (err) {
      return [{ path: ["file"], message: `${file}: ${(err as Error).message}` }];
    }
  },
  apply(ctx, config) {
    const roster: RosterService = ctx.use("roster");
    let current = { config, file: path.resolve(ctx.bot.configDir, config.file) };
    let list = load(current.file);
    const loaded = () => ctx.logger.info({ file: current.file, jids: list.jids.size, domains: list.domains.size }, "allowlist loaded");
    loaded();

    const reread = () => {
      try {
        list = load(current.file);
        loaded();
      } catch (err) {
        ctx.logger.error({ file: current.file, err: (err as Error).message }, "allowlist not reloaded; keeping the previous list");
      }
    };
    let unwatch = watchFile(current.file, reread, { logger: ctx.logger });
    ctx.onDispose(() => unwatch());

    const decide = (req: { jid: string }): SubscriptionAnswer | undefined =>
      isListed(list, req.jid) ? { action: current.config.action, reason: `listed in ${path.basename(current.file)}` } : undefined;
    let untap = ctx.tap(roster.hooks.subscriptionRequest, decide, { order: config.order });

    ctx.onReload((c) => {
      const file = path.resolve(ctx.bot.configDir, c.file);
      const nextList = load(file); // throws on a broken file: the host keeps the old config
      const previous = current;
      current = { config: c, file };
      list = nextList;
      loaded();
      if (file !== previous.file) {
        unwatch();
        unwatch = watchFile(file, reread, { logger: ctx.logger });
      }
      if (c.order !== previous.config.order) {
        untap();
        untap = ctx.tap(roster.hooks.subscriptionRequest, decide, { order: c.order });
      }
    });
  },
});
